"""Statistics over replicated runs: summaries, escape rates and paired comparisons.

Every run is one row of a ``runs`` table (see :mod:`mnistrepro.aggregate`). The outcomes are
accuracies in [0, 1], some of them bimodal (MSE on raw pixels: stuck at chance or escaped), so:

- the interval of a variant's mean accuracy is a percentile bootstrap over seeds when there are
  at least ``BOOTSTRAP_MIN_N`` of them (it stays inside the range of the data, so inside [0, 1]);
  below that a percentile bootstrap is too narrow (with 3 values it is their range, which covers
  the mean about 75% of the time), so a smaller sample gets the Student-t interval, whose coverage
  is exact for normal data (``tests/test_stats.py`` simulates it); a share of runs (the escape
  rate) gets a Wilson interval, which stays inside [0, 1] even at 0 of n or n of n;
- a run has escaped chance when its accuracy beats the majority-class rate by a one-sided exact
  binomial test at level ``ESCAPE_ALPHA`` (:func:`escaped`): a definition fixed in advance that
  does not depend on the other runs;
- a comparison of two variants run on the same seeds is a paired permutation test of the mean
  difference (signs of the per-seed differences flipped; exact when there are at most
  ``resamples`` sign patterns), with the interval from that exact test inverted, or for larger n
  the interval of the mean difference as above (t below ``BOOTSTRAP_MIN_N`` pairs, else percentile
  bootstrap). It assumes nothing about the shape of
  the outcome. Unpaired samples get the two-sample version;
- the p-values of a study are Holm-adjusted together, and verdicts use the adjusted value; a
  p-value at the floor of a Monte Carlo test (none of its resamples as extreme) is a bound, and
  prints as "p ≤ ..." (:func:`format_p`);
- which of several groups (digit pairs) has the lowest mean is settled by a max-T bootstrap over
  all pairwise differences (:func:`hardest_groups`), which accounts for the hardest being picked
  from the data, with bootstrap rank intervals and P(rank 1) (:func:`rank_bootstrap`);
- equivalence within a margin fixed in advance is a two one-sided tests (TOST) procedure
  (:func:`equivalence_test`);
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
# Below this many values a mean's interval is Student-t, not a percentile bootstrap (see the module docstring).
BOOTSTRAP_MIN_N = 30
# A run has escaped chance when a one-sided exact binomial test of its correct count against the majority-class
# rate rejects at this level (fixed before looking at the runs).
ESCAPE_ALPHA = 0.01
# The fixed accuracy thresholds of the escape-rate sensitivity table.
ESCAPE_THRESHOLDS = (0.60, 0.66, 0.70, 0.75, 0.80)
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


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student-t interval ``(mean, low, high)`` of the mean; NaN bounds below two values."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean()) if x.size else math.nan
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def interval_method(n: int) -> str:
    """How :func:`mean_interval` bounds the mean of ``n`` values, as tables and captions name it."""
    if n < 2:
        return "none (n < 2)"
    if n < BOOTSTRAP_MIN_N:
        return f"Student t (n < {BOOTSTRAP_MIN_N})"
    return "percentile bootstrap over seeds"


def mean_interval(values: Sequence[float], rng: np.random.Generator, resamples: int = RESAMPLES,
                  confidence: float = CONFIDENCE, bounds: tuple[float, float] | None = None
                  ) -> tuple[float, float, float, str]:
    """Mean and 95% interval of the mean, ``(mean, low, high, method)``: a percentile bootstrap from
    ``BOOTSTRAP_MIN_N`` values up, a Student-t interval below (clipped to ``bounds``, such as (0, 1)
    for an accuracy; clipping only widens the coverage). ``method`` is :func:`interval_method`'s."""
    x = np.asarray(values, dtype=float)
    if x.size >= BOOTSTRAP_MIN_N:
        mean, low, high = bootstrap_interval(x, rng, resamples, confidence)
    else:
        mean, low, high = t_interval(x, confidence)
        if bounds is not None and not math.isnan(low):
            low, high = max(low, bounds[0]), min(high, bounds[1])
    return mean, low, high, interval_method(x.size)


def summarize(runs: pd.DataFrame, by: Sequence[str], rng: np.random.Generator, value: str = "test_accuracy",
              resamples: int = RESAMPLES) -> pd.DataFrame:
    """Per group of ``by``: n, mean, std (ddof 1), 95% CI of the mean of ``value`` (:func:`mean_interval`,
    its method in ``ci_method``), min, max, mean train seconds, parameters."""
    rows = []
    for key, group in runs.groupby(list(by), dropna=False, sort=True):
        mean, low, high, method = mean_interval(group[value], rng, resamples, bounds=(0.0, 1.0))
        rows.append({
            **dict(zip(by, key if isinstance(key, tuple) else (key,))),
            "n": len(group),
            "mean": mean,
            "std": float(group[value].std(ddof=1)) if len(group) > 1 else math.nan,
            "ci95_low": low,
            "ci95_high": high,
            "ci_method": method,
            "min": float(group[value].min()),
            "max": float(group[value].max()),
            "mean_train_seconds": float(group["train_seconds"].mean()),
            "trainable_params": group["trainable_params"].iloc[0] if "trainable_params" in group else math.nan,
        })
    return pd.DataFrame(rows)


def escaped(correct: Sequence[int], total: Sequence[int], chance: float, alpha: float = ESCAPE_ALPHA) -> np.ndarray:
    """Whether each run escaped chance: its ``correct`` of ``total`` test images beat the majority-class
    rate ``chance`` by a one-sided exact binomial test at level ``alpha`` (bool array). A run that
    predicts one class scores at most ``chance``, so it never escapes; the definition depends on no
    other run."""
    k = np.asarray(correct, dtype=int)
    n = np.asarray(total, dtype=int)
    p = np.array([stats.binomtest(int(ki), int(ni), chance, alternative="greater").pvalue for ki, ni in zip(k, n)])
    return p < alpha


def escape_accuracy(total: int, chance: float, alpha: float = ESCAPE_ALPHA) -> float:
    """The lowest accuracy that counts as escaped on ``total`` test images (:func:`escaped`)."""
    k = int(stats.binom.isf(alpha, total, chance))  # P(X > k) <= alpha, so P(X >= k + 1) <= alpha
    while k > 0 and stats.binom.sf(k - 1, total, chance) < alpha:
        k -= 1
    while stats.binom.sf(k - 1, total, chance) >= alpha:
        k += 1
    return k / total


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
    """The smallest two-sided p-value the paired permutation test can give with ``n`` pairs: ``2 / 2^n``
    when exact, else ``2 / (resamples + 1)`` (scipy counts the observed pattern among the resamples and
    doubles the smaller tail)."""
    if 2**n <= resamples:
        return 2.0 / 2**n
    return 2.0 / (resamples + 1)


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
    """Mean of ``a`` minus mean of ``b``: 95% interval (``ci_method``), raw and Holm-adjusted two-sided p,
    the smallest p the test could give (``p_floor``; a bound, not an estimate, when ``exact`` is false and
    ``p_value`` is at it), and the minimum detectable difference (80% power) at the strictest Holm level."""

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
    p_floor: float = math.nan
    exact: bool = True
    ci_method: str = ""

    @property
    def significant(self) -> bool:
        p = self.p_value if math.isnan(self.p_holm) else self.p_holm
        return not math.isnan(p) and p < ALPHA

    @property
    def at_floor(self) -> bool:
        """The p-value is a Monte Carlo test's floor: the true p is at most this."""
        return not self.exact and not math.isnan(self.p_value) and self.p_value <= self.p_floor * (1 + 1e-9)


def format_p(p: float, at_floor: bool = False) -> str:
    """``p = 0.031``, or ``p ≤ 0.0002`` for a bound (a Monte Carlo test's floor)."""
    if math.isnan(p):
        return "p = n/a"
    return f"p {'≤' if at_floor else '='} {p:.2g}"


def compare(a: pd.Series, b: pd.Series, rng: np.random.Generator, resamples: int = RESAMPLES) -> Comparison:
    """Compare two samples indexed by seed; paired when they share every seed.

    Paired: a permutation test of the mean per-seed difference (the sign of each difference
    flipped at random; every sign pattern when there are at most ``resamples``), with the
    interval of that mean from the exact test inverted (:func:`sign_flip_interval`) when the test
    is exact, else :func:`mean_interval` of the differences. Otherwise the two-sample permutation
    test of the difference in means, with the interval from independent bootstrap resamples of
    each sample (at least ``BOOTSTRAP_MIN_N`` each) or Welch's t-interval. Identical differences
    (zero spread, up to rounding) give p = 1 for a zero difference, 0 otherwise.
    """
    a, b = a.astype(float), b.astype(float)
    paired = len(a) == len(b) and set(a.index) == set(b.index)
    if paired:
        diff = (a.sort_index() - b.sort_index()).to_numpy()
        n = diff.size
        exact = 2**n <= resamples
        mean = float(diff.mean()) if n else math.nan
        sd = float(diff.std(ddof=1)) if n > 1 else math.nan
        test = "paired permutation test (exact)" if exact else "paired permutation test"
        floor = smallest_p(n, resamples) if n > 1 else math.nan
        if n < 2:
            return Comparison(n, n, True, mean, math.nan, math.nan, math.nan, test, sd, p_floor=floor,
                              exact=exact, ci_method="none (n < 2)")
        if _is_constant(diff):
            return Comparison(n, n, True, mean, mean, mean, 1.0 if mean == 0 else 0.0, test, sd, p_floor=floor,
                              exact=True, ci_method="constant difference")
        p = float(stats.permutation_test((diff,), _mean, permutation_type="samples", vectorized=True,
                                         n_resamples=resamples, rng=rng).pvalue)
        if exact:
            low, high = sign_flip_interval(diff)
            method = "exact sign-flip test inverted"
        else:
            _, low, high, method = mean_interval(diff, rng, resamples, bounds=(-1.0, 1.0))
        return Comparison(n, n, True, mean, low, high, p, test, sd, p_floor=floor, exact=exact, ci_method=method)
    x, y = a.to_numpy(), b.to_numpy()
    mean = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return Comparison(x.size, y.size, False, mean, math.nan, math.nan, math.nan, "permutation test",
                          ci_method="none (n < 2)")
    if _is_constant(np.concatenate([x - x.mean(), y - y.mean()])):
        return Comparison(x.size, y.size, False, mean, mean, mean, 1.0 if mean == 0 else 0.0, "permutation test",
                          ci_method="constant samples")
    if min(x.size, y.size) >= BOOTSTRAP_MIN_N:
        boot = stats.bootstrap((x, y), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis), n_resamples=resamples,
                               method="percentile", vectorized=True, rng=rng).confidence_interval
        low, high, method = float(boot.low), float(boot.high), "percentile bootstrap over seeds"
    else:
        ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(CONFIDENCE)
        low, high, method = float(ci.low), float(ci.high), f"Welch t (n < {BOOTSTRAP_MIN_N})"
    exact = math.comb(x.size + y.size, x.size) <= resamples
    p = float(stats.permutation_test((x, y), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis),
                                     permutation_type="independent", vectorized=True, n_resamples=resamples,
                                     rng=rng).pvalue)
    sd = math.sqrt(x.var(ddof=1) + y.var(ddof=1))
    floor = 2.0 / math.comb(x.size + y.size, x.size) if exact else 1.0 / (resamples + 1)
    return Comparison(x.size, y.size, False, mean, low, high, p, "permutation test", sd, p_floor=floor, exact=exact,
                      ci_method=method)


def adjust(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The study's comparisons with Holm-adjusted p-values and, for each, the minimum detectable
    difference at level ``ALPHA / m`` (m tested comparisons: the strictest Holm step, so a
    difference that large is detected whatever its rank)."""
    p_holm = holm([c.p_value for c in comparisons])
    m = int(np.sum(~np.isnan(p_holm)))
    alpha = ALPHA / max(m, 1)
    return [replace(c, p_holm=float(p), mdd=minimum_detectable_difference(c.sd_difference, min(c.n_a, c.n_b), alpha))
            for c, p in zip(comparisons, p_holm)]


def p_text(c: Comparison) -> str:
    """``p = …, Holm p = …, n = a/b``, with ``≤`` for a bound (the Holm p of a bound is a bound too)."""
    return (f"{format_p(c.p_value, c.at_floor)}, Holm {format_p(c.p_holm, c.at_floor)}, "
            f"n = {c.n_a}/{c.n_b}")


# How a verdict words a metric: (what is compared, the better side's phrase, whether higher is better).
METRIC_WORDS = {
    "test_accuracy": ("accuracy", "is more accurate than", True),
    "ece": ("ECE", "is better calibrated (lower ECE) than", False),
}


def verdict(name_a: str, name_b: str, c: Comparison, unit: str = "percentage points", scale: float = 100,
            metric: str = "test_accuracy") -> str:
    """One sentence saying what the replicated runs support, at the 5% level after Holm's adjustment.

    ``metric`` (a key of ``METRIC_WORDS``): accuracy (higher is better) or ECE (lower is better); every
    verdict of the study, whatever its metric, is worded here."""
    if metric not in METRIC_WORDS:
        raise ValueError(f"metric: expected one of {sorted(METRIC_WORDS)}, got {metric!r}")
    what, better_phrase, higher_is_better = METRIC_WORDS[metric]
    if math.isnan(c.p_value):
        return f"cannot test: too few runs ({c.n_a} vs {c.n_b})"
    text = p_text(c)
    d = abs(c.difference) * scale
    subject = "" if metric == "test_accuracy" else f" in {what}"
    if c.significant:
        a_better = (c.difference > 0) == higher_is_better
        better, worse = (name_a, name_b) if a_better else (name_b, name_a)
        return f"{better} {better_phrase} {worse} by {d:.2f} {unit} ({text})"
    if math.isinf(c.mdd):
        n = min(c.n_a, c.n_b)
        return (f"no significant difference{subject} between {name_a} and {name_b} "
                f"({c.difference * scale:+.2f} {unit}, {text}); with n = {n} no difference could be significant "
                f"(smallest possible p = {smallest_p(n):.2g}), and no interval can bound it")
    elif math.isnan(c.mdd):
        power = "detectable difference unknown"
    else:
        power = f"n = {min(c.n_a, c.n_b)} detects {c.mdd * scale:.2f} {unit} with 80% power"
    return (f"no significant difference{subject} between {name_a} and {name_b} "
            f"({c.difference * scale:+.2f} {unit}, 95% CI {c.ci95_low * scale:+.2f} to {c.ci95_high * scale:+.2f}, "
            f"{text}); {power}")


def sign_flip_p(diff: Sequence[float], alternative: str = "two-sided", resamples: int = RESAMPLES,
                rng: np.random.Generator | None = None) -> float:
    """p of the paired permutation (sign-flip) test of mean ``diff`` = 0; exact when ``2^n <= resamples``."""
    d = np.asarray(diff, dtype=float)
    if _is_constant(d):
        mean = float(d.mean())
        if alternative == "greater":
            return 0.0 if mean > 0 else 1.0
        if alternative == "less":
            return 0.0 if mean < 0 else 1.0
        return 1.0 if mean == 0 else 0.0
    return float(stats.permutation_test((d,), _mean, permutation_type="samples", vectorized=True,
                                        n_resamples=resamples, alternative=alternative, rng=rng).pvalue)


@dataclass(frozen=True)
class Equivalence:
    """TOST of ``|mean paired difference| < margin``: ``p`` is the larger one-sided p (equivalent when
    it is below the level), ``p_lower`` tests difference <= -margin, ``p_upper`` difference >= margin."""

    margin: float
    p_value: float
    p_lower: float
    p_upper: float
    n: int
    test: str


def equivalence_test(diff: Sequence[float], margin: float, resamples: int = RESAMPLES,
                     rng: np.random.Generator | None = None) -> Equivalence:
    """Two one-sided tests (TOST, Schuirmann 1987) that the mean paired difference lies within
    ``(-margin, margin)``, each a one-sided sign-flip permutation test of the shifted differences
    (exact for ``2^n <= resamples``): the same test the study uses for a difference, turned around."""
    d = np.asarray(diff, dtype=float)
    if d.size < 2:
        return Equivalence(margin, math.nan, math.nan, math.nan, d.size, "TOST (sign-flip)")
    p_lower = sign_flip_p(d + margin, "greater", resamples, rng)
    p_upper = sign_flip_p(d - margin, "less", resamples, rng)
    exact = 2**d.size <= resamples
    return Equivalence(margin, max(p_lower, p_upper), p_lower, p_upper, d.size,
                       "TOST, one-sided paired permutation tests" + (" (exact)" if exact else ""))


def required_n(sd: float, effect: float, alpha: float = ALPHA, power: float = POWER, n_max: int = 10_000) -> int:
    """The smallest number of pairs whose mean paired difference (SD ``sd``) detects ``effect`` with
    probability ``power`` at two-sided level ``alpha`` (:func:`minimum_detectable_difference`)."""
    if not sd > 0 or not effect > 0:
        raise ValueError(f"expected a positive paired SD and effect, got sd={sd}, effect={effect}")
    for n in range(2, n_max + 1):
        if minimum_detectable_difference(sd, n, alpha, power) <= effect:
            return n
    raise ValueError(f"more than {n_max} pairs needed to detect {effect} with SD {sd}")


def equivalence_power(sd: float, n: int, margin: float, alpha: float = ALPHA) -> float:
    """Probability that the TOST of :func:`equivalence_test` shows equivalence within ``±margin`` for ``n``
    pairs whose differences have standard deviation ``sd`` and true mean 0, each one-sided test at
    level ``alpha`` (the larger one-sided p must be below ``alpha``).

    Normal-theory approximation of the permutation TOST (the paired t TOST, Chow, Shao & Wang,
    *Sample Size Calculations in Clinical Research*, 3.2): ``2 F(margin sqrt(n) / sd - t_crit) - 1``
    with ``F`` and ``t_crit`` from Student's t with ``n - 1`` degrees of freedom; 0 where the
    one-sided permutation test cannot reach ``alpha`` (half of :func:`smallest_p`).
    """
    if n < 2 or math.isnan(sd) or smallest_p(n) / 2 > alpha:
        return 0.0
    if sd == 0:
        return 1.0
    df = n - 1
    crit = stats.t.ppf(1 - alpha, df)
    return max(0.0, 2 * float(stats.t.cdf(margin * math.sqrt(n) / sd - crit, df)) - 1)


def equivalence_required_n(sd: float, margin: float, alpha: float = ALPHA, power: float = POWER,
                           n_max: int = 10_000) -> int:
    """The smallest number of pairs for which the TOST shows equivalence within ``±margin`` with
    probability ``power`` when the two variants are equally good (:func:`equivalence_power`)."""
    if not sd > 0 or not margin > 0:
        raise ValueError(f"expected a positive paired SD and margin, got sd={sd}, margin={margin}")
    for n in range(2, n_max + 1):
        if equivalence_power(sd, n, margin, alpha) >= power:
            return n
    raise ValueError(f"more than {n_max} pairs needed to show equivalence within {margin} with SD {sd}")


def rank_bootstrap(groups: Sequence[np.ndarray], rng: np.random.Generator, resamples: int = RESAMPLES,
                   confidence: float = CONFIDENCE, chunk: int = 500) -> pd.DataFrame:
    """Rank 1 = the lowest mean. Per group (in the order given): its observed ``rank``, the 95%
    percentile interval of its rank over bootstrap resamples of each group's values (``rank_low``,
    ``rank_high``), and ``p_rank1``, the share of resamples in which it has the lowest mean."""
    k = len(groups)
    ranks = np.empty((resamples, k), dtype=np.int32)
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        means = np.column_stack([g[rng.integers(0, g.size, size=(b, g.size))].mean(axis=1) for g in groups])
        ranks[start:start + b] = means.argsort(axis=1, kind="stable").argsort(axis=1) + 1
    observed = np.array([g.mean() for g in groups]).argsort(kind="stable").argsort() + 1
    tail = (1 - confidence) / 2
    return pd.DataFrame({
        "rank": observed,
        "rank_low": np.quantile(ranks, tail, axis=0, method="lower").astype(int),
        "rank_high": np.quantile(ranks, 1 - tail, axis=0, method="higher").astype(int),
        "p_rank1": (ranks == 1).mean(axis=0),
    })


def hardest_groups(groups: Sequence[np.ndarray], rng: np.random.Generator, resamples: int = RESAMPLES,
                   confidence: float = CONFIDENCE, chunk: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Which groups may have the lowest mean, accounting for the lowest being picked from the data.

    A max-T bootstrap (Romano and Wolf 2005, as in Tukey's all-pairs comparison): for every ordered
    pair of groups ``(j, i)`` the studentized difference ``t_ji = (mean_j - mean_i) / se_ji``; its null
    distribution is the bootstrap distribution of the largest centred studentized difference over all
    pairs, ``T* = max_{j != i} ((m*_j - m_j) - (m*_i - m_i)) / se*_ji`` (each group resampled around its
    own mean, so unequal spreads are allowed). Returns, per group ``i``:

    - ``p_hardest[i]``: the p-value of "group ``i`` has the lowest mean" against "some other group's is at
      most as high", ``max_{j != i} P(T* >= t_ji)`` (an intersection-union test over the simultaneous
      comparisons; a group's claim is rejected by any other group that is not shown to be easier);
    - ``in_set[i]``: whether group ``i`` is in the ``confidence`` set of the hardest group: no other group is
      shown to be harder (``max_{j} t_ij`` below the ``confidence`` quantile of ``T*``).
    """
    k = len(groups)
    means = np.array([g.mean() for g in groups])
    var = np.array([g.var(ddof=1) / g.size for g in groups])
    t = (means[:, None] - means[None, :]) / np.sqrt(var[:, None] + var[None, :])  # t[j, i] = (m_j - m_i) / se
    np.fill_diagonal(t, -np.inf)
    t_max = np.empty(resamples)
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        draws = [g[rng.integers(0, g.size, size=(b, g.size))] for g in groups]
        centred = np.column_stack([d.mean(axis=1) for d in draws]) - means  # [b, k]
        v = np.column_stack([d.var(axis=1, ddof=1) / d.shape[1] for d in draws])
        tb = (centred[:, :, None] - centred[:, None, :]) / np.sqrt(v[:, :, None] + v[:, None, :] + 1e-300)
        idx = np.arange(k)
        tb[:, idx, idx] = -np.inf
        t_max[start:start + b] = tb.reshape(b, -1).max(axis=1)
    # p of each ordered pair: (count + 1) / (resamples + 1), so a Monte Carlo p is never 0.
    sorted_t = np.sort(t_max)
    exceed = resamples - np.searchsorted(sorted_t, t, side="left")
    p_pair = (exceed + 1) / (resamples + 1)  # p_pair[j, i]: is j shown easier than i?
    np.fill_diagonal(p_pair, 0.0)
    p_hardest = p_pair.max(axis=0) if k > 1 else np.zeros(1)
    critical = np.quantile(t_max, confidence)
    # Group i is out of the set when some group j is shown harder: t[i, j] >= critical (mean_i shown above mean_j).
    in_set = ~(t >= critical).any(axis=1)
    return p_hardest, in_set
