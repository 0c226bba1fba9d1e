"""Two studies' headline numbers side by side, from their tables.

    python -m mnistrepro.outputs.compare_studies results results/lenet_power     # the default study vs another

Prints two Markdown tables: every comparison of ``comparisons.csv`` (difference with its 95% interval
and Holm-adjusted p, ``*`` where significant) and every variant of ``summary.csv`` (mean test accuracy
and n), one column per study; a row one study lacks reads ``-``. Torch-free.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from mnistrepro.outputs.aggregate import VARIANT_COLUMNS
from mnistrepro.report.compare_studies import (comparison_cell, comparison_label, studies_markdown, variant_cell,
                                       variant_name)

__all__ = ["compare_studies"]

# A comparisons.csv row is named by its key (mnistrepro.analysis.comparisons.comparison_key: rule, variants, step
# count as ``final`` or a number) and its metric; its step or epoch count joins them, so that two studies' last
# step counts (both ``final``) are matched only where they are the same count. Display titles are words, not keys.
COMPARISON_KEY = ["key", "metric"]


def _tables(study: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = Path(study) / "tables"
    missing = [str(tables / name) for name in ("summary.csv", "comparisons.csv") if not (tables / name).is_file()]
    if missing:
        raise SystemExit(f"{study}: no study tables ({', '.join(missing)} missing); expected a study's directory, "
                         "such as results or results/<study>, after its run")
    return pd.read_csv(tables / "summary.csv"), pd.read_csv(tables / "comparisons.csv")


def compare_studies(first: str | Path, second: str | Path) -> str:
    """The Markdown of the two tables for the studies in directories ``first`` and ``second``."""
    names = [str(first), str(second)]
    (summary_a, comparisons_a), (summary_b, comparisons_b) = _tables(Path(first)), _tables(Path(second))

    def keyed(table: pd.DataFrame, key: list[str]) -> dict[tuple, pd.Series]:
        return {tuple(str(row[c]) for c in key): row for _, row in table.iterrows()}

    for study, table in zip(names, (comparisons_a, comparisons_b)):
        missing = [c for c in COMPARISON_KEY if c not in table.columns]
        if missing:
            raise SystemExit(f"{study}/tables/comparisons.csv has no column {', '.join(missing)}: it was written by an "
                             "older version of mnistrepro; run the study's aggregation again (snakemake --forcerun "
                             "aggregate)")
    shared = [c for c in ("steps", "epochs") if c in comparisons_a.columns and c in comparisons_b.columns]
    key = COMPARISON_KEY + shared
    comp_a, comp_b = keyed(comparisons_a, key), keyed(comparisons_b, key)
    comparison_rows = []
    for k in dict.fromkeys([*comp_a, *comp_b]):
        row = comp_a.get(k) if k in comp_a else comp_b[k]
        comparison_rows.append([comparison_label(row, shared), comparison_cell(comp_a.get(k)),
                                comparison_cell(comp_b.get(k))])

    columns = [c for c in VARIANT_COLUMNS if c in summary_a.columns and c in summary_b.columns]
    var_a, var_b = keyed(summary_a, columns), keyed(summary_b, columns)
    variant_rows = []
    for key in dict.fromkeys([*var_a, *var_b]):
        row = var_a.get(key) if key in var_a else var_b[key]
        variant_rows.append([variant_name(row, columns), variant_cell(var_a.get(key)), variant_cell(var_b.get(key))])
    return studies_markdown(names, comparison_rows, variant_rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Two studies' headline numbers side by side (Markdown).")
    parser.add_argument("first", help="a study's directory: results (the default study) or results/<study>")
    parser.add_argument("second", help="another study's directory")
    args = parser.parse_args(argv)
    print(compare_studies(args.first, args.second), end="")


if __name__ == "__main__":
    main()
