"""The exploratory pixel-scale grid: where does MSE stop escaping chance as the pixels shrink?

Logistic regression on the study's pair, both losses, the main grid's seeds, steps and learning rate, with the
0-255 pixel values divided by each divisor of ``scale_grid.divisors`` (1: raw pixels, 255: unit pixels). Per loss
and divisor, :func:`scale_grid_table` gives the escape rate (the study's definition, :func:`mnistrepro.analysis.stats
.escaped`) with its Wilson interval, the mean test accuracy with its 95% interval, and the logistic loss's paired
difference from MSE (the two losses share their seeds) with its 95% interval; mnistrepro.report.scale_grid
words the table for the report, the findings and the README.

Exploratory: the grid was chosen to look, not to test a claim fixed in advance, so the table holds no p-value and
none of it enters a confirmatory family (comparisons.csv). The facts describe the intervals; they test
nothing.

Torch-free: the aggregation reads it.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from mnistrepro.analysis.definitions import RESAMPLES
from mnistrepro.analysis.stats import ESCAPE_ALPHA, compare, escaped, mean_interval, wilson_interval
from mnistrepro.study.choices import claim_pair

__all__ = ["SCALE_GRID_COLUMNS", "STATUS", "scale_grid_table"]

# What every row of the table says it is.
STATUS = "EXPLORATORY"
SCALE_GRID_COLUMNS = ["status", "loss", "divisor", "pair", "steps", "n", "escaped", "escape_rate", "escape_ci95_low",
                      "escape_ci95_high", "escape_alpha", "chance", "mean_accuracy", "accuracy_ci95_low",
                      "accuracy_ci95_high", "ci_method", "n_pairs", "difference", "difference_ci95_low",
                      "difference_ci95_high", "difference_ci_method"]


def scale_grid_table(records: Iterable[Mapping], rng: np.random.Generator, resamples: int = RESAMPLES,
                     alpha: float = ESCAPE_ALPHA) -> pd.DataFrame:
    """One row per (loss, divisor) of the scale grid's run records (mnistrepro.experiments.logreg.run_record: ``loss``,
    ``pixel_divisor``, ``digits``, ``steps``, ``correct``, ``total``, ``test_accuracy``, ``chance_accuracy``),
    sorted by loss and divisor: ``status`` (:data:`STATUS`), ``n`` runs, ``escaped`` (a one-sided exact binomial
    test of the correct count against the majority-class rate ``chance`` at ``alpha``,
    mnistrepro.analysis.stats.escaped), ``escape_rate`` with its Wilson 95% interval, ``mean_accuracy`` with its 95%
    interval (mnistrepro.analysis.stats.mean_interval, drawing from ``rng``; its method in ``ci_method``), and for each
    loss but the loss claim's reference (mnistrepro.study.choices.claim_pair), its difference in test accuracy from the
    reference at the same divisor, paired by seed (the losses share their seeds): ``n_pairs``, ``difference`` (this loss
    minus the reference, a fraction) and its 95% interval, the inversion of the study's paired test
    (mnistrepro.analysis.stats.compare; its method in ``difference_ci_method``). NaN on the reference's rows, and where
    no seed is shared."""
    runs = pd.DataFrame([{"loss": r["loss"], "divisor": float(r["pixel_divisor"]), "seed": int(r["seed"]),
                          "pair": "{}-{}".format(*r["digits"]), "steps": int(r["steps"]), "correct": int(r["correct"]),
                          "total": int(r["total"]), "test_accuracy": float(r["test_accuracy"]),
                          "chance": float(r["chance_accuracy"])} for r in records])
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=SCALE_GRID_COLUMNS)
    reference = claim_pair("loss")[1]
    for (loss, divisor), group in runs.groupby(["loss", "divisor"], sort=True):
        chance = float(group["chance"].iloc[0])
        k = int(escaped(group["correct"], group["total"], chance, alpha).sum())
        low, high = wilson_interval(k, len(group))
        mean, acc_low, acc_high, method = mean_interval(group["test_accuracy"], rng, resamples, bounds=(0.0, 1.0))
        rows.append({"status": STATUS, "loss": loss, "divisor": divisor, "pair": group["pair"].iloc[0],
                     "steps": int(group["steps"].iloc[0]), "n": len(group), "escaped": k,
                     "escape_rate": k / len(group), "escape_ci95_low": low, "escape_ci95_high": high,
                     "escape_alpha": alpha, "chance": chance, "mean_accuracy": mean, "accuracy_ci95_low": acc_low,
                     "accuracy_ci95_high": acc_high, "ci_method": method,
                     **_paired_difference(group, runs[(runs["loss"] == reference) & (runs["divisor"] == divisor)],
                                          loss == reference, resamples)})
    return pd.DataFrame(rows, columns=SCALE_GRID_COLUMNS)


def _paired_difference(group: pd.DataFrame, reference: pd.DataFrame, is_reference: bool, resamples: int) -> dict:
    """The paired-difference columns of one row: ``group``'s test accuracy minus ``reference``'s over their shared
    seeds (mnistrepro.analysis.stats.compare); NaN for the reference's own rows and where no seed is shared."""
    shared = sorted(set(group["seed"]) & set(reference["seed"]))
    if is_reference or not shared:
        return {"n_pairs": 0 if is_reference else len(shared), "difference": math.nan,
                "difference_ci95_low": math.nan, "difference_ci95_high": math.nan, "difference_ci_method": ""}
    a = group.set_index("seed")["test_accuracy"][shared]
    b = reference.set_index("seed")["test_accuracy"][shared]
    c = compare(a, b, resamples)
    return {"n_pairs": len(shared), "difference": c.difference, "difference_ci95_low": c.ci95_low,
            "difference_ci95_high": c.ci95_high, "difference_ci_method": c.ci_method}
