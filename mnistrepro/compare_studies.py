"""Two studies' headline numbers side by side, from their tables.

    python -m mnistrepro.compare_studies results results/lenet_power     # the default study vs another

Prints two Markdown tables: every comparison of ``comparisons.csv`` (difference with its 95% interval
and Holm-adjusted p, ``*`` where significant) and every variant of ``summary.csv`` (mean test accuracy
and n), one column per study; a row one study lacks reads ``-``. Torch-free.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from mnistrepro.aggregate import VARIANT_COLUMNS
from mnistrepro.stats import format_p

__all__ = ["compare_studies"]

COMPARISON_KEY = ["comparison", "a", "b"]
MISSING = "-"


def _tables(study: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = Path(study) / "tables"
    missing = [str(tables / name) for name in ("summary.csv", "comparisons.csv") if not (tables / name).is_file()]
    if missing:
        raise SystemExit(f"{study}: no study tables ({', '.join(missing)} missing); expected a study's directory, "
                         "such as results or results/<study>, after its run")
    return pd.read_csv(tables / "summary.csv"), pd.read_csv(tables / "comparisons.csv")


def _percent(value: float) -> str:
    return MISSING if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * 100:.2f}%"


def _comparison_cell(row: pd.Series | None) -> str:
    if row is None:
        return MISSING
    text = f"{row['difference'] * 100:+.2f} pp"
    if {"ci95_low", "ci95_high"} <= set(row.index) and not pd.isna(row["ci95_low"]):
        text += f" [{row['ci95_low'] * 100:+.2f}, {row['ci95_high'] * 100:+.2f}]"
    if "p_holm" in row.index and not pd.isna(row["p_holm"]):
        text += f", Holm {format_p(row['p_holm'], bool(row.get('p_holm_bound', False)))}"
    if bool(row.get("significant", False)):
        text += " *"
    return text


def _number(value) -> str:
    """A count read back from CSV as a float (a column with gaps) shown as the integer it is."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _variant_name(row: pd.Series, columns: list[str]) -> str:
    return ", ".join(f"{c} {_number(row[c])}" for c in columns if not pd.isna(row[c]))


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def compare_studies(first: str | Path, second: str | Path) -> str:
    """The Markdown of the two tables for the studies in directories ``first`` and ``second``."""
    names = [str(first), str(second)]
    (summary_a, comparisons_a), (summary_b, comparisons_b) = _tables(Path(first)), _tables(Path(second))

    def keyed(table: pd.DataFrame, key: list[str]) -> dict[tuple, pd.Series]:
        return {tuple(str(row[c]) for c in key): row for _, row in table.iterrows()}

    # A comparison is of a metric (accuracy, or ECE), at a step count or an epoch count, where the tables say so.
    shared = [c for c in ("metric", "steps", "epochs") if c in comparisons_a.columns and c in comparisons_b.columns]
    key = COMPARISON_KEY + shared
    comp_a, comp_b = keyed(comparisons_a, key), keyed(comparisons_b, key)
    comparison_rows = []
    for k in dict.fromkeys([*comp_a, *comp_b]):
        row = comp_a.get(k) if k in comp_a else comp_b[k]
        label = f"{k[0]}: {k[1]} - {k[2]}"
        if "metric" in shared and row["metric"] != "test_accuracy" and not pd.isna(row["metric"]):
            label += f" ({row['metric']})"
        label += "".join(f", {c} {_number(row[c])}" for c in ("steps", "epochs") if c in shared and not pd.isna(row[c]))
        comparison_rows.append([label, _comparison_cell(comp_a.get(k)), _comparison_cell(comp_b.get(k))])

    columns = [c for c in VARIANT_COLUMNS if c in summary_a.columns and c in summary_b.columns]
    var_a, var_b = keyed(summary_a, columns), keyed(summary_b, columns)

    def variant_cell(row: pd.Series | None) -> str:
        return MISSING if row is None else f"{_percent(row['mean'])} (n = {int(row['n'])})"

    variant_rows = []
    for key in dict.fromkeys([*var_a, *var_b]):
        row = var_a.get(key) if key in var_a else var_b[key]
        variant_rows.append([_variant_name(row, columns), variant_cell(var_a.get(key)), variant_cell(var_b.get(key))])

    lines = ["## Comparisons (difference in test accuracy, 95% CI, Holm p; * significant)", "",
             *_markdown(["comparison", *names], comparison_rows), "",
             "## Variants (mean test accuracy, n runs)", "",
             *_markdown(["variant", *names], variant_rows)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Two studies' headline numbers side by side (Markdown).")
    parser.add_argument("first", help="a study's directory: results (the default study) or results/<study>")
    parser.add_argument("second", help="another study's directory")
    args = parser.parse_args(argv)
    print(compare_studies(args.first, args.second), end="")


if __name__ == "__main__":
    main()
