"""The comparisons a study's runs support: mnistrepro.study.choices.COMPARISONS made of the variants the runs hold.

Torch-free: the aggregation (mnistrepro.outputs.aggregate) computes them, the report layer (mnistrepro.report.study)
words them, and both read this one list.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from mnistrepro.study.choices import VARIANTS, ComparisonSpec, comparison_specs


def study_comparisons(runs: pd.DataFrame, logreg_steps: Sequence[int]) -> list[ComparisonSpec]:
    """The comparisons this study's runs support (mnistrepro.study.choices.comparison_specs of the variants in
    ``runs``), in the order ``comparisons.csv`` lists them. Every table row, fact and verdict iterates over this
    list."""
    lenet = runs[runs["experiment"] == "lenet"]
    logreg = runs[runs["experiment"] == "logreg"]
    variants = {"c3": in_registry_order("c3", lenet["c3"]), "loss": in_registry_order("loss", logreg["loss"]),
                "scaling": in_registry_order("scaling", logreg["scaling"])}
    specs = comparison_specs(variants, logreg_steps, int(lenet["epochs"].max()) if not lenet.empty else None)
    # A grid with holes (a loss run on one scaling only) supports fewer comparisons than its variants would.
    return [spec for spec in specs if not (select_runs(runs, spec, spec.a).empty or select_runs(runs, spec, spec.b).empty)]


def in_registry_order(factor: str, values: pd.Series) -> list[str]:
    present = set(values.dropna())
    return [name for name in VARIANTS[factor] if name in present]


def select_runs(runs: pd.DataFrame, spec: ComparisonSpec, value: str) -> pd.DataFrame:
    """The runs of ``spec``'s experiment whose factor is ``value``, with the columns of ``spec.where`` fixed."""
    rows = runs[(runs["experiment"] == spec.rule.experiment) & (runs[spec.rule.factor] == value)]
    for column, fixed in spec.where:
        rows = rows[rows[column] == fixed]
    return rows
