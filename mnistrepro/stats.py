"""Statistics over replicated runs: per-variant summaries and paired comparisons.

Every run is one row of a ``runs`` table (see :mod:`mnistrepro.aggregate`). Intervals are Student-t
95% confidence intervals, which suit the few seeds a study like this runs; comparisons use the
paired t-test when both variants ran the same seeds (the seed fixes the initial weights and the
sample order, so pairing removes that shared variation), else Welch's test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
# Paired differences that agree to float rounding (e.g. 0.9 - 0.5 vs 0.4) count as constant; a
# t-test on them would divide by a rounding error.
CONSTANT_RTOL = 1e-12


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval ``(mean, low, high)``; NaN bounds below two values."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean()) if x.size else math.nan
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def summarize(runs: pd.DataFrame, by: Sequence[str], value: str = "test_accuracy") -> pd.DataFrame:
    """Per group of ``by``: n, mean, std (ddof 1), 95% CI of ``value``, mean train seconds, parameters."""
    rows = []
    for key, group in runs.groupby(list(by), dropna=False, sort=True):
        mean, low, high = t_interval(group[value])
        rows.append({
            **dict(zip(by, key if isinstance(key, tuple) else (key,))),
            "n": len(group),
            "mean": mean,
            "std": float(group[value].std(ddof=1)) if len(group) > 1 else math.nan,
            "ci95_low": low,
            "ci95_high": high,
            "min": float(group[value].min()),
            "max": float(group[value].max()),
            "mean_train_seconds": float(group["train_seconds"].mean()),
            "trainable_params": group["trainable_params"].iloc[0] if "trainable_params" in group else math.nan,
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Comparison:
    """Mean of ``a`` minus mean of ``b`` with its 95% CI and a two-sided p-value."""

    n_a: int
    n_b: int
    paired: bool
    difference: float
    ci95_low: float
    ci95_high: float
    p_value: float
    test: str

    @property
    def significant(self) -> bool:
        return not math.isnan(self.p_value) and self.p_value < ALPHA


def compare(a: pd.Series, b: pd.Series) -> Comparison:
    """Compare two samples indexed by seed; paired when they share every seed.

    With identical paired differences (zero variance, up to rounding) the t statistic is undefined: the p-value
    is then 1 for a zero difference and 0 otherwise, and the interval collapses to the point.
    """
    a, b = a.astype(float), b.astype(float)
    paired = len(a) == len(b) and set(a.index) == set(b.index)
    if paired:
        diff = a.sort_index() - b.sort_index()
        n = len(diff)
        mean, low, high = t_interval(diff)
        if n < 2:
            p = math.nan
        elif diff.std(ddof=1) <= CONSTANT_RTOL * max(1.0, abs(mean)):
            p, low, high = (1.0 if mean == 0 else 0.0), mean, mean
        else:
            p = float(stats.ttest_rel(a.sort_index(), b.sort_index()).pvalue)
        return Comparison(len(a), len(b), True, mean, low, high, p, "paired t-test")
    mean = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Comparison(len(a), len(b), False, mean, math.nan, math.nan, math.nan, "Welch t-test")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se <= CONSTANT_RTOL * max(1.0, abs(mean)):
        return Comparison(len(a), len(b), False, mean, mean, mean, 1.0 if mean == 0 else 0.0, "Welch t-test")
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, dof) * se)
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return Comparison(len(a), len(b), False, mean, mean - half, mean + half, p, "Welch t-test")


def verdict(name_a: str, name_b: str, c: Comparison, unit: str = "percentage points", scale: float = 100) -> str:
    """One sentence saying what the replicated runs support."""
    if math.isnan(c.p_value):
        return f"cannot test: too few runs ({c.n_a} vs {c.n_b})"
    d = abs(c.difference) * scale
    if c.significant:
        better, worse = (name_a, name_b) if c.difference > 0 else (name_b, name_a)
        return (f"{better} is more accurate than {worse} by {d:.2f} {unit} "
                f"(p = {c.p_value:.2g}, n = {c.n_a}/{c.n_b})")
    return (f"no significant difference between {name_a} and {name_b} "
            f"({c.difference * scale:+.2f} {unit}, 95% CI {c.ci95_low * scale:+.2f} to {c.ci95_high * scale:+.2f}, "
            f"p = {c.p_value:.2g}, n = {c.n_a}/{c.n_b})")
