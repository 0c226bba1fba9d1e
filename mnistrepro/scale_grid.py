"""The exploratory pixel-scale grid: where does MSE stop escaping chance as the pixels shrink?

Logistic regression on the study's pair, both losses, the main grid's seeds, steps and learning rate, with the
0-255 pixel values divided by each divisor of ``scale_grid.divisors`` (1: raw pixels, 255: unit pixels). Per loss
and divisor, :func:`scale_grid_table` gives the escape rate (the study's definition, :func:`mnistrepro.stats
.escaped`) with its Wilson interval and the mean test accuracy with its 95% interval; mnistrepro.report.scale_grid
words the table for the report, the findings and the README.

Exploratory: the grid was chosen to look, not to test a claim fixed in advance, so the table holds no p-value and
none of it enters a confirmatory family (comparisons.csv). The facts describe the intervals; they test
nothing.

Torch-free: the aggregation reads it.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from mnistrepro.stats import ESCAPE_ALPHA, RESAMPLES, escaped, mean_interval, wilson_interval

__all__ = ["SCALE_GRID_COLUMNS", "STATUS", "scale_grid_table"]

# What every row of the table says it is.
STATUS = "EXPLORATORY"
SCALE_GRID_COLUMNS = ["status", "loss", "divisor", "pair", "steps", "n", "escaped", "escape_rate", "escape_ci95_low",
                      "escape_ci95_high", "escape_alpha", "chance", "mean_accuracy", "accuracy_ci95_low",
                      "accuracy_ci95_high", "ci_method"]


def scale_grid_table(records: Iterable[Mapping], rng: np.random.Generator, resamples: int = RESAMPLES,
                     alpha: float = ESCAPE_ALPHA) -> pd.DataFrame:
    """One row per (loss, divisor) of the scale grid's run records (mnistrepro.logreg.run_record: ``loss``,
    ``pixel_divisor``, ``digits``, ``steps``, ``correct``, ``total``, ``test_accuracy``, ``chance_accuracy``),
    sorted by loss and divisor: ``status`` (:data:`STATUS`), ``n`` runs, ``escaped`` (a one-sided exact binomial
    test of the correct count against the majority-class rate ``chance`` at ``alpha``, mnistrepro.stats.escaped),
    ``escape_rate`` with its Wilson 95% interval, ``mean_accuracy`` with its 95% interval
    (mnistrepro.stats.mean_interval, drawing from ``rng``; its method in ``ci_method``)."""
    runs = pd.DataFrame([{"loss": r["loss"], "divisor": float(r["pixel_divisor"]),
                          "pair": "{}-{}".format(*r["digits"]), "steps": int(r["steps"]), "correct": int(r["correct"]),
                          "total": int(r["total"]), "test_accuracy": float(r["test_accuracy"]),
                          "chance": float(r["chance_accuracy"])} for r in records])
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=SCALE_GRID_COLUMNS)
    for (loss, divisor), group in runs.groupby(["loss", "divisor"], sort=True):
        chance = float(group["chance"].iloc[0])
        k = int(escaped(group["correct"], group["total"], chance, alpha).sum())
        low, high = wilson_interval(k, len(group))
        mean, acc_low, acc_high, method = mean_interval(group["test_accuracy"], rng, resamples, bounds=(0.0, 1.0))
        rows.append({"status": STATUS, "loss": loss, "divisor": divisor, "pair": group["pair"].iloc[0],
                     "steps": int(group["steps"].iloc[0]), "n": len(group), "escaped": k,
                     "escape_rate": k / len(group), "escape_ci95_low": low, "escape_ci95_high": high,
                     "escape_alpha": alpha, "chance": chance, "mean_accuracy": mean, "accuracy_ci95_low": acc_low,
                     "accuracy_ci95_high": acc_high, "ci_method": method})
    return pd.DataFrame(rows, columns=SCALE_GRID_COLUMNS)
