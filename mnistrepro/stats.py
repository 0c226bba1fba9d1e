"""Statistics over replicated runs: summaries, escape rates and paired comparisons.

Every run is one row of a ``runs`` table (see :mod:`mnistrepro.aggregate`). The outcomes are
accuracies in [0, 1], some of them bimodal (MSE on raw pixels: stuck at chance or escaped), so:

- the interval of a variant's mean accuracy is a percentile bootstrap over seeds, which stays
  inside the range of the data (so inside [0, 1]); a share of runs (the escape rate) gets a
  Wilson interval, which stays inside [0, 1] even at 0 of n or n of n;
- a run has escaped chance when its accuracy is above the valley between the two modes of the
  accuracies' density (:func:`escape_threshold`);
- a comparison of two variants run on the same seeds is a paired permutation test of the mean
  difference (signs of the per-seed differences flipped; exact when there are at most
  ``resamples`` sign patterns), with the interval from that exact test inverted, or for larger n
  a percentile bootstrap interval of the mean difference. It assumes nothing about the shape of
  the outcome. Unpaired samples get the two-sample version;
- the p-values of a study are Holm-adjusted together, and verdicts use the adjusted value;
- a "no significant difference" verdict states the smallest difference its n could detect.

Every random choice (resamples, sign flips) comes from a ``numpy.random.Generator`` passed in,
seeded from the config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
POWER = 0.8
RESAMPLES = 9999
# Paired differences that agree to float rounding (e.g. 0.9 - 0.5 vs 0.4) count as constant.
CONSTANT_RTOL = 1e-12


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _is_constant(x: np.ndarray) -> bool:
    return float(np.ptp(x)) <= CONSTANT_RTOL * max(1.0, float(np.abs(x).max()))


def wilson_interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` of a proportion ``k / n``; NaN for ``n == 0``."""
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def bootstrap_interval(
    values: Sequence[float], rng: np.random.Generator, resamples: int = RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval ``(mean, low, high)`` of the mean.

    The bounds are means of resamples of the data, so they lie within ``[min, max]`` of the
    values (an accuracy's interval never leaves [0, 1]). NaN bounds below two values; a constant
    sample gives the point.
    """
    x = np.asarray(values, dtype=float)
    mean = float(x.mean()) if x.size else math.nan
    if x.size < 2:
        return mean, math.nan, math.nan
    if _is_constant(x):
        return mean, mean, mean
    ci = stats.bootstrap((x,), _mean, n_resamples=resamples, confidence_level=confidence, method="percentile",
                         vectorized=True, rng=rng).confidence_interval
    return mean, float(ci.low), float(ci.high)


def summarize(runs: pd.DataFrame, by: Sequence[str], rng: np.random.Generator, value: str = "test_accuracy",
              resamples: int = RESAMPLES) -> pd.DataFrame:
    """Per group of ``by``: n, mean, std (ddof 1), 95% bootstrap CI of the mean of ``value``, min,
    max, mean train seconds, parameters."""
    rows = []
    for key, group in runs.groupby(list(by), dropna=False, sort=True):
        mean, low, high = bootstrap_interval(group[value], rng, resamples)
        rows.append({
            **dict(zip(by, key if isinstance(key, tuple) else (key,))),
            "n": len(group),
            "mean": mean,
            "std": float(group[value].std(ddof=1)) if len(group) > 1 else math.nan,
            "ci95_low": low,
            "ci95_high": high,
            "ci_method": "percentile bootstrap of the mean over seeds",
            "min": float(group[value].min()),
            "max": float(group[value].max()),
            "mean_train_seconds": float(group["train_seconds"].mean()),
            "trainable_params": group["trainable_params"].iloc[0] if "trainable_params" in group else math.nan,
        })
    return pd.DataFrame(rows)


def escape_threshold(accuracies: Sequence[float], chance: float, grid_points: int = 2001) -> float:
    """The accuracy that separates runs stuck at chance from runs that escaped, read from the data.

    Runs that predict one class score at most ``chance`` (the majority class's share). The
    threshold is the valley between the two modes: the lowest point of the accuracies' density
    (Gaussian KDE, Scott's bandwidth) between ``chance`` and the median of the runs above chance.
    Why a density and not the widest gap between sorted values: with a few hundred runs the
    escaped ones spread thinly (gaps of a few points between them), so the widest gap can fall
    among them. Returns ``chance`` when no run is above it.
    """
    a = np.asarray(accuracies, dtype=float)
    above = a[a > chance]
    if above.size == 0:
        return float(chance)
    if np.unique(a).size < 2:
        return float((chance + above.min()) / 2)
    grid = np.linspace(chance, float(np.median(above)), grid_points)
    density = stats.gaussian_kde(a)(grid)
    return float(grid[int(np.argmin(density))])


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate); NaN stays NaN and is not counted.

    The i-th smallest of m p-values is multiplied by ``m - i`` (i from 0), made non-decreasing
    along that order, and capped at 1.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out[order] = adjusted
    return out


def sign_flip_interval(diff: Sequence[float], confidence: float = CONFIDENCE, grid_points: int = 401
                       ) -> tuple[float, float]:
    """Interval of the mean paired difference from the exact paired permutation test, inverted.

    The shifts ``delta`` for which the exact sign-flip test of ``diff - delta`` is not rejected
    at ``1 - confidence`` (searched on a grid over ``[min, max]`` of ``diff``; outside it every
    shifted difference has one sign, which the test rejects whenever it can reject at all). For
    small n, where a bootstrap interval is far too narrow (3 values of one sign give a bootstrap
    interval that excludes 0 while the test's smallest p is 0.25), this interval agrees with the
    test. When the test cannot reach the level at all (``2 / 2^n > 1 - confidence``), no shift is
    rejected: ``(-1, 1)``, every possible difference of two accuracies.
    """
    d = np.asarray(diff, dtype=float)
    n = d.size
    alpha = 1 - confidence
    if 2.0 / 2**n > alpha:
        return -1.0, 1.0
    signs = (((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(float)  # [2^n, n]
    grid = np.linspace(d.min(), d.max(), grid_points)
    shifted = d[None, :] - grid[:, None]  # [G, n]
    observed = np.abs(shifted.mean(axis=1))
    null = np.abs(shifted @ signs.T) / n  # [G, 2^n]
    p = np.mean(null >= observed[:, None] * (1 - 1e-12), axis=1)
    kept = grid[p > alpha]
    return float(kept.min()), float(kept.max())


def smallest_p(n: int, resamples: int = RESAMPLES) -> float:
    """The smallest two-sided p-value the paired permutation test can give with ``n`` pairs."""
    if 2**n <= resamples:
        return 2.0 / 2**n
    return 1.0 / (resamples + 1)


def minimum_detectable_difference(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true mean paired difference detected with probability ``power`` at two-sided level
    ``alpha``, for ``n`` pairs whose differences have standard deviation ``sd``.

    Normal-theory approximation of the permutation test: the paired t-test's power (noncentral
    t with ``n - 1`` degrees of freedom), solved for the effect. ``inf`` where the permutation
    test cannot reach ``alpha`` at all (``2 / 2^n > alpha``).
    """
    if n < 2 or math.isnan(sd):
        return math.nan
    if smallest_p(n) > alpha:
        return math.inf
    if sd == 0:
        return 0.0
    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(nc: float) -> float:
        # The lower tail is negligible for nc > 0, and scipy's nct.cdf can return NaN out there.
        return stats.nct.sf(crit, df, nc) + float(np.nan_to_num(stats.nct.cdf(-crit, df, nc))) - power

    # Noncentrality (effect * sqrt(n)) 50 has power 1 for every level the test can reach here.
    nc = optimize.brentq(shortfall, 0.0, 50.0)
    return float(nc / math.sqrt(n) * sd)


@dataclass(frozen=True)
class Comparison:
    """Mean of ``a`` minus mean of ``b``: 95% bootstrap CI, raw and Holm-adjusted two-sided p,
    and the minimum detectable difference (80% power) at the adjusted level."""

    n_a: int
    n_b: int
    paired: bool
    difference: float
    ci95_low: float
    ci95_high: float
    p_value: float
    test: str
    sd_difference: float = math.nan
    p_holm: float = math.nan
    mdd: float = math.nan

    @property
    def significant(self) -> bool:
        p = self.p_value if math.isnan(self.p_holm) else self.p_holm
        return not math.isnan(p) and p < ALPHA


def compare(a: pd.Series, b: pd.Series, rng: np.random.Generator, resamples: int = RESAMPLES) -> Comparison:
    """Compare two samples indexed by seed; paired when they share every seed.

    Paired: a permutation test of the mean per-seed difference (the sign of each difference
    flipped at random; every sign pattern when there are at most ``resamples``), with the
    interval of that mean from the exact test inverted (:func:`sign_flip_interval`) when the test
    is exact, else a percentile bootstrap interval. Otherwise the two-sample permutation test of the difference
    in means, with the interval from independent bootstrap resamples of each sample. Identical
    differences (zero spread, up to rounding) give p = 1 for a zero difference, 0 otherwise.
    """
    a, b = a.astype(float), b.astype(float)
    paired = len(a) == len(b) and set(a.index) == set(b.index)
    if paired:
        diff = (a.sort_index() - b.sort_index()).to_numpy()
        n = diff.size
        exact = 2**n <= resamples
        mean, low, high = bootstrap_interval(diff, rng, resamples)
        sd = float(diff.std(ddof=1)) if n > 1 else math.nan
        test = "paired permutation test (exact)" if exact else "paired permutation test"
        if n < 2:
            p = math.nan
        elif _is_constant(diff):
            p = 1.0 if mean == 0 else 0.0
        else:
            p = float(stats.permutation_test((diff,), _mean, permutation_type="samples", vectorized=True,
                                             n_resamples=resamples, rng=rng).pvalue)
            if exact:
                low, high = sign_flip_interval(diff)
        return Comparison(len(a), len(b), True, mean, low, high, p, test, sd)
    x, y = a.to_numpy(), b.to_numpy()
    mean = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return Comparison(x.size, y.size, False, mean, math.nan, math.nan, math.nan, "permutation test")
    if _is_constant(np.concatenate([x - x.mean(), y - y.mean()])):
        return Comparison(x.size, y.size, False, mean, mean, mean, 1.0 if mean == 0 else 0.0, "permutation test")
    boot = stats.bootstrap((x, y), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis), n_resamples=resamples,
                           method="percentile", vectorized=True, rng=rng).confidence_interval
    p = float(stats.permutation_test((x, y), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis),
                                     permutation_type="independent", vectorized=True, n_resamples=resamples,
                                     rng=rng).pvalue)
    sd = math.sqrt(x.var(ddof=1) + y.var(ddof=1))
    return Comparison(x.size, y.size, False, mean, float(boot.low), float(boot.high), p, "permutation test", sd)


def adjust(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The study's comparisons with Holm-adjusted p-values and, for each, the minimum detectable
    difference at level ``ALPHA / m`` (m tested comparisons: the strictest Holm step, so a
    difference that large is detected whatever its rank)."""
    p_holm = holm([c.p_value for c in comparisons])
    m = int(np.sum(~np.isnan(p_holm)))
    alpha = ALPHA / max(m, 1)
    return [replace(c, p_holm=float(p), mdd=minimum_detectable_difference(c.sd_difference, min(c.n_a, c.n_b), alpha))
            for c, p in zip(comparisons, p_holm)]


def verdict(name_a: str, name_b: str, c: Comparison, unit: str = "percentage points", scale: float = 100) -> str:
    """One sentence saying what the replicated runs support, at the 5% level after Holm's adjustment."""
    if math.isnan(c.p_value):
        return f"cannot test: too few runs ({c.n_a} vs {c.n_b})"
    p_text = f"p = {c.p_value:.2g}, Holm p = {c.p_holm:.2g}, n = {c.n_a}/{c.n_b}"
    d = abs(c.difference) * scale
    if c.significant:
        better, worse = (name_a, name_b) if c.difference > 0 else (name_b, name_a)
        return f"{better} is more accurate than {worse} by {d:.2f} {unit} ({p_text})"
    if math.isinf(c.mdd):
        n = min(c.n_a, c.n_b)
        return (f"no significant difference between {name_a} and {name_b} ({c.difference * scale:+.2f} {unit}, "
                f"{p_text}); with n = {n} no difference could be significant (smallest possible p = "
                f"{smallest_p(n):.2g}), and no interval can bound it")
    elif math.isnan(c.mdd):
        power = "detectable difference unknown"
    else:
        power = f"n = {min(c.n_a, c.n_b)} detects {c.mdd * scale:.2f} {unit} with 80% power"
    return (f"no significant difference between {name_a} and {name_b} "
            f"({c.difference * scale:+.2f} {unit}, 95% CI {c.ci95_low * scale:+.2f} to {c.ci95_high * scale:+.2f}, "
            f"{p_text}); {power}")
