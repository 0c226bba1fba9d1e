"""Two studies side by side in words (mnistrepro.outputs.compare_studies): the cells, row labels and headings of its two
Markdown tables."""

from __future__ import annotations

import pandas as pd

from mnistrepro.report.numbers import format_p, is_missing, percent, signed_points

__all__ = ["MISSING", "comparison_cell", "comparison_label", "studies_markdown", "variant_cell", "variant_name"]

# A row one study lacks.
MISSING = "-"


def comparison_cell(row: pd.Series | None) -> str:
    """``+0.12 pp [-0.05, +0.30], Holm p = 0.04 *`` for a row of comparisons.csv (``*``: significant)."""
    if row is None:
        return MISSING
    text = f"{signed_points(row['difference'])} pp"
    if {"ci95_low", "ci95_high"} <= set(row.index) and not pd.isna(row["ci95_low"]):
        text += f" [{signed_points(row['ci95_low'])}, {signed_points(row['ci95_high'])}]"
    if "p_holm" in row.index and not pd.isna(row["p_holm"]):
        text += f", Holm {format_p(row['p_holm'], bool(row.get('p_holm_bound', False)))}"
    if bool(row.get("significant", False)):
        text += " *"
    return text


def _number(value) -> str:
    """A count read back from CSV as a float (a column with gaps) shown as the integer it is."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def comparison_label(row: pd.Series, shared: list[str]) -> str:
    """``comparison: a - b`` (the row's display title and variant labels), with the metric where it is not accuracy
    and the step or epoch count where both tables have those columns (``shared``)."""
    label = f"{row['comparison']}: {row['a']} - {row['b']}"
    if row["metric"] != "test_accuracy" and not pd.isna(row["metric"]):
        label += f" ({row['metric']})"
    return label + "".join(f", {c} {_number(row[c])}" for c in ("steps", "epochs")
                           if c in shared and not pd.isna(row[c]))


def variant_name(row: pd.Series, columns: list[str]) -> str:
    return ", ".join(f"{c} {_number(row[c])}" for c in columns if not pd.isna(row[c]))


def variant_cell(row: pd.Series | None) -> str:
    """``98.69% (n = 10)``: a variant's mean test accuracy and runs."""
    if row is None:
        return MISSING
    mean = row["mean"]
    return f"{MISSING if is_missing(mean) else percent(mean)} (n = {int(row['n'])})"


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def studies_markdown(names: list[str], comparison_rows: list[list[str]], variant_rows: list[list[str]]) -> str:
    """The two tables, one column per study: every comparison, then every variant."""
    lines = ["## Comparisons (difference in test accuracy, 95% CI, Holm p; * significant)", "",
             *_markdown(["comparison", *names], comparison_rows), "",
             "## Variants (mean test accuracy, n runs)", "",
             *_markdown(["variant", *names], variant_rows)]
    return "\n".join(lines) + "\n"
