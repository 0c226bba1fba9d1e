"""Statistics over replicated runs: summaries, escape rates and paired comparisons.

Every run is one row of a ``runs`` table (see :mod:`mnistrepro.outputs.aggregate`). The outcomes are
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
- a comparison of two variants run on the same seeds is a test of the mean per-seed difference with the
  interval of that same test inverted: the exact sign-flip test (every sign pattern) while ``2^n`` is at most
  ``resamples``, with its inverted interval (:func:`sign_flip_interval`); for more pairs the paired t-test and
  its t interval (the large-sample form of the sign-flip test, and analytic, so no Monte Carlo floor). Unpaired
  samples get Welch's t-test and interval;
- each claim's confirmatory tests form one family, Holm-adjusted within it (:func:`holm`;
  mnistrepro.study.choices.FAMILIES, of which only the C3 family was fixed before its runs were analysed); whether a
  verdict depends on the choice of family is :func:`same_verdict_in_any_family`; every other comparison is
  descriptive, an interval with no p-value;
- a p-value that is a bound (below the smallest double, or a Monte Carlo test's floor) is flagged (``p_bound``),
  and so is a Holm value that a bound entered; mnistrepro.report.numbers.format_p prints it as a bound; a p-value
  below ``P_PRINT_FLOOR`` (1e-10: a t tail far below anything the data can support) prints as "p < 1e-10", and one
  above ``P_PRINT_CEILING`` as "p > 0.99" (never rounded up to 1);
- whether a given group (the main digit pair) has the lowest mean of several is an intersection-union test
  (Berger 1982): it is shown when every other group is shown easier by a one-sided Welch t-test at the level,
  so its p is the largest of those p-values and no other pair sets its bar (:func:`hardest_test`). The 95%
  confidence set of the hardest group keeps each group that no other is shown harder than, by a max-T bootstrap
  over that group's own comparisons (:func:`hardest_set`); rank intervals and the share of bootstrap
  resamples in which a group ranks first describe the ranking (:func:`rank_bootstrap`);
- equivalence within a margin fixed in advance is a two one-sided tests (TOST) procedure, each one-sided test
  the same test as the difference's (:func:`equivalence_test`);
- a comparison that is not significant carries the smallest difference its n could detect (``mdd``), which its
  verdict states (mnistrepro.report.verdicts words every comparison).

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

from mnistrepro.analysis.definitions import (ACCURACY_DIFFERENCE, ALPHA, BOOTSTRAP_MIN_N, CONFIDENCE,
                                             DISCORDANT_QUANTITY, P_UNDERFLOW, POWER, RESAMPLES, Comparison,
                                             SeedsAndImages, exact_sign_flip, smallest_p)

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


def holm(p_values: Sequence[float], bounds: Sequence[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjusted p-values of one family (family-wise error rate); NaN stays NaN and is not
    counted. Returns ``(adjusted, adjusted_bound)``.

    The i-th smallest of m p-values is multiplied by ``m - i`` (i from 0), made non-decreasing along that
    order, and capped at 1. Where some p-values are bounds (``bounds``: the true p is at most the value), an
    adjusted value is a bound when a bound is at or before it in that order: the maximum that defines it may
    come from one.
    """
    p = np.asarray(p_values, dtype=float)
    bound = np.zeros(p.size, dtype=bool) if bounds is None else np.asarray(bounds, dtype=bool)
    out = np.full_like(p, np.nan)
    out_bound = np.zeros(p.size, dtype=bool)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out, out_bound
    order = valid[np.argsort(p[valid], kind="stable")]
    out[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out_bound[order] = np.logical_or.accumulate(bound[order])
    return out, out_bound


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
    # Each sign pattern's sum, added one pair at a time in the pairs' order (elementwise adds, exact IEEE
    # arithmetic on any CPU) rather than by a matrix product, whose BLAS kernel adds in an order set by the CPU.
    signed_sum = np.zeros((grid_points, signs.shape[0]))  # [G, 2^n]
    for k in range(n):
        signed_sum += shifted[:, k, None] * signs[None, :, k]
    null = np.abs(signed_sum) / n
    p = np.mean(null >= observed[:, None] * (1 - 1e-12), axis=1)
    kept = grid[p > alpha]
    return float(kept.min()), float(kept.max())


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


def _paired_test(diff: np.ndarray, resamples: int) -> tuple[float, float, float, str, str]:
    """``(p, low, high, test, ci_method)`` of the mean of paired differences: the exact sign-flip test and its
    inverted interval, or (more than ``resamples`` sign patterns) the paired t-test and its t interval."""
    if exact_sign_flip(diff.size, resamples):
        p = float(stats.permutation_test((diff,), _mean, permutation_type="samples", vectorized=True,
                                         n_resamples=2**diff.size).pvalue)
        low, high = sign_flip_interval(diff)
        return p, low, high, "paired sign-flip test (exact)", "exact sign-flip test inverted"
    result = stats.ttest_1samp(diff, 0.0)
    ci = result.confidence_interval(CONFIDENCE)
    return float(result.pvalue), float(ci.low), float(ci.high), "paired t-test", "paired t interval"


def compare(a: pd.Series, b: pd.Series, resamples: int = RESAMPLES) -> Comparison:
    """Compare two samples indexed by seed; paired when they share every seed.

    Paired: the test of the mean per-seed difference and its inverted interval (:func:`_paired_test`).
    Otherwise Welch's t-test of the difference in means and its interval. Identical differences (zero spread,
    up to rounding) give p = 1 for a zero difference, 0 otherwise. Nothing here is random: ``resamples`` only
    chooses between the exact test and the t-test.
    """
    a, b = a.astype(float), b.astype(float)
    paired = len(a) == len(b) and set(a.index) == set(b.index)
    if paired:
        diff = (a.sort_index() - b.sort_index()).to_numpy()
        n = diff.size
        mean = float(diff.mean()) if n else math.nan
        sd = float(diff.std(ddof=1)) if n > 1 else math.nan
        if n < 2:
            return Comparison(n, n, True, mean, math.nan, math.nan, math.nan, "paired test", sd,
                              ci_method="none (n < 2)")
        if _is_constant(diff):
            return Comparison(n, n, True, mean, mean, mean, 1.0 if mean == 0 else 0.0, "paired test", sd,
                              ci_method="constant difference")
        p, low, high, test, method = _paired_test(diff, resamples)
        return Comparison(n, n, True, mean, low, high, p, test, sd, p_bound=p < P_UNDERFLOW, ci_method=method)
    x, y = a.to_numpy(), b.to_numpy()
    mean = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return Comparison(x.size, y.size, False, mean, math.nan, math.nan, math.nan, "Welch t-test",
                          ci_method="none (n < 2)")
    if _is_constant(np.concatenate([x - x.mean(), y - y.mean()])):
        return Comparison(x.size, y.size, False, mean, mean, mean, 1.0 if mean == 0 else 0.0, "Welch t-test",
                          ci_method="constant samples")
    result = stats.ttest_ind(x, y, equal_var=False)
    ci = result.confidence_interval(CONFIDENCE)
    sd = math.sqrt(x.var(ddof=1) + y.var(ddof=1))
    p = float(result.pvalue)
    return Comparison(x.size, y.size, False, mean, float(ci.low), float(ci.high), p, "Welch t-test", sd,
                      p_bound=p < P_UNDERFLOW, ci_method="Welch t interval")


def adjust_family(comparisons: Sequence[Comparison], family: str) -> list[Comparison]:
    """One family's comparisons with Holm-adjusted p-values and, for each, the minimum detectable difference
    at level ``ALPHA / m`` (m tested members: the strictest Holm step, so a difference that large is detected
    whatever its rank)."""
    p_holm, p_holm_bound = holm([c.p_value for c in comparisons], [c.p_bound for c in comparisons])
    m = int(np.sum(~np.isnan(p_holm)))
    alpha = ALPHA / max(m, 1)
    return [replace(c, p_holm=float(p), p_holm_bound=bool(bound), family=family, family_size=m,
                    mdd=minimum_detectable_difference(c.sd_difference, min(c.n_a, c.n_b), alpha))
            for c, p, bound in zip(comparisons, p_holm, p_holm_bound)]


def same_verdict_in_any_family(p_value: float, significant: bool, tests: int, alpha: float = ALPHA) -> bool:
    """Whether a confirmatory test's verdict would be the same in any family it could have been put in, of at most
    ``tests`` tests: a significant one is significant even under Bonferroni over all ``tests`` (``p * tests <
    alpha``: then Holm in any family of at most that many rejects it too), one that is not is not significant even
    alone (``p >= alpha``). For a family chosen after looking at its runs, this says that no verdict depends on the
    choice."""
    if math.isnan(p_value):
        return True
    return p_value * tests < alpha if significant else p_value >= alpha


def sign_flip_p(diff: Sequence[float], alternative: str = "two-sided") -> float:
    """p of the exact paired sign-flip test of mean ``diff`` = 0 (every sign pattern: for small n only)."""
    d = np.asarray(diff, dtype=float)
    if _is_constant(d):
        mean = float(d.mean())
        if alternative == "greater":
            return 0.0 if mean > 0 else 1.0
        if alternative == "less":
            return 0.0 if mean < 0 else 1.0
        return 1.0 if mean == 0 else 0.0
    return float(stats.permutation_test((d,), _mean, permutation_type="samples", vectorized=True,
                                        n_resamples=2**d.size, alternative=alternative).pvalue)


def _one_sided_p(diff: np.ndarray, alternative: str, resamples: int) -> float:
    """One-sided p of mean ``diff`` = 0 by the paired test :func:`compare` uses for ``diff.size`` pairs."""
    if exact_sign_flip(diff.size, resamples) or _is_constant(diff):
        return sign_flip_p(diff, alternative)
    return float(stats.ttest_1samp(diff, 0.0, alternative=alternative).pvalue)


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


def equivalence_test(diff: Sequence[float], margin: float, resamples: int = RESAMPLES) -> Equivalence:
    """Two one-sided tests (TOST, Schuirmann 1987) that the mean paired difference lies within
    ``(-margin, margin)``, each the one-sided form of the paired test the study uses for a difference (exact
    sign-flip for ``2^n <= resamples``, else paired t: then this is the paired t TOST that
    :func:`equivalence_power` plans for)."""
    d = np.asarray(diff, dtype=float)
    if d.size < 2:
        return Equivalence(margin, math.nan, math.nan, math.nan, d.size, "TOST")
    p_lower = _one_sided_p(d + margin, "greater", resamples)
    p_upper = _one_sided_p(d - margin, "less", resamples)
    test = "TOST, exact one-sided sign-flip tests" if exact_sign_flip(d.size, resamples) else "TOST, paired t"
    return Equivalence(margin, max(p_lower, p_upper), p_lower, p_upper, d.size, test)


def required_n(sd: float, effect: float, alpha: float = ALPHA, power: float = POWER, n_max: int = 10_000) -> int:
    """The smallest number of pairs whose mean paired difference (SD ``sd``) detects ``effect`` with
    probability ``power`` at two-sided level ``alpha`` (:func:`minimum_detectable_difference`)."""
    if not sd > 0 or not effect > 0:
        raise ValueError(f"expected a positive paired SD and effect, got sd={sd}, effect={effect}")
    for n in range(2, n_max + 1):
        if minimum_detectable_difference(sd, n, alpha, power) <= effect:
            return n
    raise ValueError(f"more than {n_max} pairs needed to detect {effect} with SD {sd}")


def equivalence_power(sd: float, n: int, margin: float, alpha: float = ALPHA, true_difference: float = 0.0) -> float:
    """Probability that the TOST of :func:`equivalence_test` shows equivalence within ``±margin`` for ``n``
    pairs whose differences have standard deviation ``sd`` and true mean ``true_difference`` (0 by default), each
    one-sided test at level ``alpha`` (the larger one-sided p must be below ``alpha``).

    Normal-theory approximation of the permutation TOST (the paired t TOST, Chow, Shao & Wang,
    *Sample Size Calculations in Clinical Research*, 3.2): ``F((margin - d) sqrt(n) / sd - t_crit) +
    F((margin + d) sqrt(n) / sd - t_crit) - 1`` (``d`` the true difference; ``2 F(margin sqrt(n) / sd - t_crit) - 1``
    at 0) with ``F`` and ``t_crit`` from Student's t with ``n - 1`` degrees of freedom; 0 where the
    one-sided permutation test cannot reach ``alpha`` (half of :func:`smallest_p`).
    """
    if n < 2 or math.isnan(sd) or smallest_p(n) / 2 > alpha:
        return 0.0
    if sd == 0:
        return 1.0 if abs(true_difference) < margin else 0.0
    df = n - 1
    crit = stats.t.ppf(1 - alpha, df)
    d = abs(true_difference)
    return max(0.0, float(stats.t.cdf((margin - d) * math.sqrt(n) / sd - crit, df))
               + float(stats.t.cdf((margin + d) * math.sqrt(n) / sd - crit, df)) - 1)


# The pairs the config's planning SD (stats.planning_paired_sd) was measured on: seeds 0-19 (README, "How many seeds").
PLANNING_SD_PAIRS = 20


def sd_interval(sd: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The chi-square interval of a standard deviation ``sd`` measured on ``n`` values (normal data)."""
    df = n - 1
    return (sd * math.sqrt(df / stats.chi2.ppf(0.5 + confidence / 2, df)),
            sd * math.sqrt(df / stats.chi2.ppf(0.5 - confidence / 2, df)))


def equivalence_power_table(sd: float, sd_pairs: int, n: int, margin: float, alpha: float = ALPHA,
                            steps: int = 5) -> pd.DataFrame:
    """The TOST's power (:func:`equivalence_power`) for ``n`` pairs at level ``alpha`` within ``±margin``, over the
    true difference (``steps`` values from 0 to the margin) and the paired SD: ``sd`` (the pilot's, measured on
    ``sd_pairs`` pairs) and the ends of its 95% chi-square interval (:func:`sd_interval`). Columns
    ``true_difference``, ``sd_role`` (``low``, ``pilot``, ``high``), ``sd``, ``power``, ``n``, ``alpha``,
    ``margin``."""
    low, high = sd_interval(sd, sd_pairs)
    rows = [{"true_difference": float(d), "sd_role": role, "sd": value,
             "power": equivalence_power(value, n, margin, alpha, float(d)), "n": n, "alpha": alpha, "margin": margin}
            for d in np.linspace(0.0, margin, steps) for role, value in (("low", low), ("pilot", sd), ("high", high))]
    return pd.DataFrame(rows)


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
    ``rank_high``), and ``share_rank1``, the share of resamples in which it has the lowest mean (a bootstrap
    frequency, not a probability that it is the hardest)."""
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
        "share_rank1": (ranks == 1).mean(axis=0),
    })


def hardest_test(groups: Sequence[np.ndarray], main: int) -> tuple[float, int]:
    """Whether group ``main`` has the lowest mean of ``groups`` (fixed in advance, not picked from the data):
    an intersection-union test (Berger 1982) of "some other group's mean is at most as high" against "every
    other group's is higher". Each other group ``j`` is shown easier by a one-sided Welch t-test of
    ``mean_j > mean_main``; the claim holds at level alpha when every one does, so its p is the largest of their
    p-values (no multiplicity correction is needed, and no pair but the closest sets the bar). Returns
    ``(p, j)``, ``j`` the group with that largest p (the closest challenger)."""
    x = np.asarray(groups[main], dtype=float)
    p = np.full(len(groups), -np.inf)
    for j, g in enumerate(groups):
        if j == main:
            continue
        y = np.asarray(g, dtype=float)
        if _is_constant(np.concatenate([x - x.mean(), y - y.mean()])):
            p[j] = 0.0 if y.mean() > x.mean() else 1.0
        else:
            p[j] = float(stats.ttest_ind(y, x, equal_var=False, alternative="greater").pvalue)
    j = int(np.argmax(p))
    return float(p[j]), j


def hardest_set(groups: Sequence[np.ndarray], rng: np.random.Generator, resamples: int = RESAMPLES,
                confidence: float = CONFIDENCE, chunk: int = 200) -> np.ndarray:
    """The ``confidence`` set of the group with the lowest mean, accounting for it being picked from the data.

    Group ``i`` leaves the set when some other group is shown harder than it: the largest of its studentized
    differences ``t_ij = (mean_i - mean_j) / se_ij`` over ``j`` reaches the ``confidence`` quantile of the
    bootstrap distribution of that same maximum, centred (each group resampled around its own mean, with the
    observed standard errors, so that a resample of a nearly constant group cannot divide by zero). Each group's
    bar comes from its own comparisons only (the easiest pairs do not set the bar for the hardest), and the true
    hardest group leaves the set with probability at most ``1 - confidence``. Returns a bool array."""
    k = len(groups)
    means = np.array([g.mean() for g in groups])
    var = np.array([g.var(ddof=1) / g.size for g in groups])
    se = np.sqrt(var[:, None] + var[None, :])
    diff = means[:, None] - means[None, :]  # diff[i, j] = m_i - m_j
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
        scale = np.where(se > 0, 1 / se, 0.0)
    np.fill_diagonal(t, -np.inf)
    t_max = np.empty((resamples, k))
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        centred = np.column_stack([g[rng.integers(0, g.size, size=(b, g.size))].mean(axis=1) for g in groups]) - means
        tb = (centred[:, :, None] - centred[:, None, :]) * scale  # [b, k, k]
        idx = np.arange(k)
        tb[:, idx, idx] = -np.inf
        t_max[start:start + b] = tb.max(axis=2)
    critical = np.quantile(t_max, confidence, axis=0)  # [k]
    return ~(t.max(axis=1) >= critical)


# ---------------------------------------------------------------------------------------------------
# Calibration: the expected calibration error (Guo et al. 2017), and LeNet-5's test-set uncertainty

# Confidence bins of the expected calibration error, and the two ways of placing them.
ECE_BINS = 15
ECE_BINNINGS = ("equal-width", "equal-mass")


def confidence_bin_index(confidence: Sequence[float], n_bins: int = ECE_BINS, binning: str = "equal-width"
                         ) -> np.ndarray:
    """Each prediction's confidence bin (int ``[N]``, 0 to ``n_bins - 1``) of ``confidence`` ``[N]`` in (0, 1].

    ``equal-width``: bin ``m`` (from 1) is ``((m-1)/M, m/M]``; ``equal-mass``: the predictions sorted by confidence
    (stable, so ties keep their order) and split into ``M`` bins of equal count (the first ``N mod M`` one larger).
    """
    c = np.asarray(confidence, dtype=np.float64)
    if binning == "equal-width":
        # ceil(c * M) - 1 puts c = m/M in bin m (right-closed); the clip keeps float round-off in range.
        return np.clip(np.ceil(c * n_bins).astype(int) - 1, 0, n_bins - 1)
    if binning == "equal-mass":
        index = np.empty(c.size, dtype=int)
        for m, members in enumerate(np.array_split(np.argsort(c, kind="stable"), n_bins)):
            index[members] = m
        return index
    raise ValueError(f"binning: expected one of {ECE_BINNINGS}, got {binning!r}")


# The ECE's per-bin sums are exact integers, so that no summation order (NumPy's, or a BLAS kernel's, which each
# pick by the CPU's instruction set) can change a bit: confidence and correctness are held in units of
# 2^-FIXED_POINT_BITS (a confidence moves by at most 2^-33, 1.2e-10, when rounded to that grid), and a sum of
# counts times such integers stays an integer below 2^53, which float64 holds exactly, for up to 2^20 images.
FIXED_POINT_BITS = 32
FIXED_POINT_MAX_IMAGES = 2**20


def calibration_features(bin_index: np.ndarray, confidence: Sequence[float], correct: Sequence[bool], n_bins: int
                         ) -> np.ndarray:
    """``[N, 2M]`` float64 integers: per prediction, its correctness and its confidence, both in units of
    ``2^-FIXED_POINT_BITS``, in its bin's columns (zeros elsewhere). Integer weights per prediction times this
    matrix are the per-bin sums :func:`ece_of_bin_sums` needs, exactly and in any order: ones for the sample
    itself, a bootstrap resample's counts for the resample (many at once: a matrix product)."""
    if bin_index.size > FIXED_POINT_MAX_IMAGES:
        raise ValueError(f"the ECE's exact sums hold at most {FIXED_POINT_MAX_IMAGES:,} predictions, "
                         f"got {bin_index.size:,}")
    unit = 2.0**FIXED_POINT_BITS
    onehot = np.zeros((bin_index.size, n_bins), dtype=np.float64)
    onehot[np.arange(bin_index.size), bin_index] = 1.0
    correct = np.asarray(correct, dtype=np.float64) * unit
    confidence = np.rint(np.asarray(confidence, dtype=np.float64) * unit)
    return np.hstack([onehot * correct[:, None], onehot * confidence[:, None]])


def ece_of_bin_sums(sums: np.ndarray, n_bins: int, total: float) -> np.ndarray:
    """The ECE from per-bin sums ``[..., 2M]`` of correctness and confidence (:func:`calibration_features`'
    units) over ``total`` predictions: ``sum_m |B_m| / n * |accuracy(B_m) - confidence(B_m)| = sum_m |correct_m -
    confidence_m| / n``, ``[...]``. An empty bin adds nothing. The sum over bins is of integers (exact); the one
    division rounds once."""
    sums = np.asarray(sums, dtype=np.float64)
    return np.abs(sums[..., :n_bins] - sums[..., n_bins:]).sum(axis=-1) / (total * 2.0**FIXED_POINT_BITS)


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = ECE_BINS,
                               binning: str = "equal-width") -> float:
    """The expected calibration error (Guo et al. 2017) of predictions with ``confidence`` ``[N]`` in (0, 1] and
    ``correct`` ``[N]``, over ``n_bins`` bins placed by ``binning`` (:func:`confidence_bin_index`); exact sums,
    so the same bits on any CPU."""
    confidence = np.asarray(confidence, dtype=np.float64)
    features = calibration_features(confidence_bin_index(confidence, n_bins, binning), confidence, correct, n_bins)
    return float(ece_of_bin_sums(features.sum(axis=0), n_bins, confidence.size))


def seeds_and_images(evaluations: Sequence[dict], pair: tuple[str, str], margin: float,
                     confidence: float = CONFIDENCE) -> SeedsAndImages | None:
    """The C3 claim's difference (``pair``: the first minus the second) with the test images' uncertainty added to
    the seeds' by the variance sum (:class:`SeedsAndImages`), from the runs' evaluation records; None where fewer
    than two seeds ran both kinds. The TOST of the study treats the 10,000 test images as fixed (its verdict is about
    this test set); this says whether the interval stays inside the margin when they are a sample too."""
    correct = {}
    for e in evaluations:
        right = np.ones(int(e["total"]), dtype=bool)
        right[np.asarray(e["misclassified_test_indices"], dtype=int)] = False
        correct[(e["c3"], int(e["seed"]))] = right
    a, b = pair
    shared = sorted({s for c, s in correct if c == a} & {s for c, s in correct if c == b})
    if len(shared) < 2:
        return None
    per_image = np.array([correct[(a, s)].astype(float) - correct[(b, s)].astype(float) for s in shared])  # [S, N]
    per_seed = per_image.mean(axis=1)
    n, n_images = len(shared), per_image.shape[1]
    seed_se = float(per_seed.std(ddof=1) / math.sqrt(n))
    image_se = float(per_image.mean(axis=0).std(ddof=1) / math.sqrt(n_images))
    se = math.hypot(seed_se, image_se)
    mean = float(per_seed.mean())
    df = n - 1
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    if se > 0:
        p = max(float(stats.t.sf((mean + margin) / se, df)), float(stats.t.sf((margin - mean) / se, df)))
    else:
        p = 0.0 if abs(mean) < margin else 1.0
    return SeedsAndImages(n, n_images, mean, seed_se, image_se, se, mean - half, mean + half, margin, p)


LENET_TEST_SET_COLUMNS = ["quantity", "c3", "value", "ci95_low", "ci95_high", "boot_sd", "boot_bias", "method",
                          "n_seeds", "n_images"]


def ece_quantity(binning: str, n_bins: int = ECE_BINS) -> str:
    """The ``quantity`` of an ECE row of :func:`lenet_test_set`'s table."""
    return f"ECE, {n_bins} {binning} bins"


def lenet_test_set(evaluations: Sequence[dict], pair: tuple[str, str], rng: np.random.Generator,
                   resamples: int = 1999, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """LeNet-5's test-set uncertainty: the test images are a sample too.

    From each run's evaluation record (its misclassified images and, where recorded, every image's
    confidence): per C3 variant the mean ECE with ``n_bins`` equal-width and equal-mass bins, each with the
    bootstrap SD and bias over test images (the same resampled images for every seed and both variants, seeds
    held fixed; bins held fixed; no interval: the ECE is biased upwards, so that its bootstrap distribution can
    lie wholly above it); and for ``pair`` (two C3 kinds, the first minus the second: the C3 claim's) the
    seed-mean accuracy difference with its image-bootstrap interval, plus the discordant images pooled over seeds
    (the first right and the second wrong, and the reverse: their counts in the interval columns; descriptive, no
    p-value, since seeds x images are not independent draws). mnistrepro.report.lenet_test_set words the table.
    """
    runs = {}
    for e in evaluations:
        total = int(e["total"])
        correct = np.ones(total, dtype=bool)
        correct[np.asarray(e["misclassified_test_indices"], dtype=int)] = False
        confidence = np.asarray(e["confidence"], dtype=float) if "confidence" in e else None
        runs[(e["c3"], int(e["seed"]))] = (correct, confidence)
    if not runs:
        return pd.DataFrame(columns=LENET_TEST_SET_COLUMNS)
    n_images = next(iter(runs.values()))[0].size
    rows = []
    method = f"bootstrap over {n_images:,} test images ({resamples} resamples, seeds fixed)"
    # Every (variant, binning, seed)'s per-bin sums in the columns of one matrix, so that each chunk of
    # resamples is one matrix product. Its entries and the counts are integers (calibration_features), so every
    # partial sum is exact and the product has the same bits whatever order the CPU's BLAS kernel adds in.
    blocks, features = [], []
    for c3 in sorted({c3 for c3, _ in runs}):
        seeds = sorted(s for c, s in runs if c == c3)
        if any(runs[(c3, s)][1] is None for s in seeds):
            continue
        for binning in ECE_BINNINGS:
            for s in seeds:
                correct, confidence = runs[(c3, s)]
                bin_index = confidence_bin_index(confidence, n_bins, binning)
                features.append(calibration_features(bin_index, confidence, correct, n_bins))
                blocks.append((c3, binning, s))
    a, b = pair
    shared = sorted({s for c, s in runs if c == a} & {s for c, s in runs if c == b})
    # Each image's difference in correctness, a - b, summed over the seeds (an integer; / seeds: the seed mean).
    d = (np.sum([runs[(a, s)][0].astype(np.int64) - runs[(b, s)][0].astype(np.int64) for s in shared], axis=0)
         if shared else np.zeros(n_images, dtype=np.int64))
    matrix = np.hstack([*features, d[:, None].astype(np.float64)])
    observed = np.ones(n_images) @ matrix
    # The same resampled images (as counts per image) for every seed and variant, so the difference is paired.
    boot = np.concatenate([rng.multinomial(n_images, np.full(n_images, 1 / n_images),
                                           size=min(500, resamples - start)).astype(np.float64) @ matrix
                           for start in range(0, resamples, 500)])
    width = 2 * n_bins
    for c3, binning in dict.fromkeys((c3, binning) for c3, binning, _ in blocks):
        runs_of = [i for i, (c, b, _) in enumerate(blocks) if (c, b) == (c3, binning)]
        value = float(np.mean([ece_of_bin_sums(observed[i * width:(i + 1) * width], n_bins, n_images)
                               for i in runs_of]))
        mean_boot = np.mean([ece_of_bin_sums(boot[:, i * width:(i + 1) * width], n_bins, n_images) for i in runs_of],
                            axis=0)
        # The ECE is biased upwards: a resample's |accuracy - confidence| per bin adds noise to a gap of a few
        # tenths of a point, so its bootstrap distribution can lie wholly above the estimate, and no percentile
        # (or basic) interval covers it. So the table gives the bootstrap's SD and bias, and no interval.
        rows.append({"quantity": ece_quantity(binning, n_bins), "c3": c3, "value": value, "ci95_low": math.nan,
                     "ci95_high": math.nan, "boot_sd": float(mean_boot.std(ddof=1)),
                     "boot_bias": float(mean_boot.mean() - value), "method": method, "n_seeds": len(runs_of),
                     "n_images": n_images})
    if shared:
        low, high = np.quantile(boot[:, -1] / (len(shared) * n_images), [0.025, 0.975])
        rows.append({"quantity": f"{ACCURACY_DIFFERENCE}, {a} - {b}", "c3": f"{a} - {b}",
                     "value": float(observed[-1] / (len(shared) * n_images)),
                     "ci95_low": low, "ci95_high": high, "method": method, "n_seeds": len(shared),
                     "n_images": n_images})
        a_only = sum(int((runs[(a, s)][0] & ~runs[(b, s)][0]).sum()) for s in shared)
        b_only = sum(int((~runs[(a, s)][0] & runs[(b, s)][0]).sum()) for s in shared)
        rows.append({"quantity": DISCORDANT_QUANTITY, "c3": f"{a} - {b}", "value": math.nan, "ci95_low": a_only,
                     "ci95_high": b_only, "method": "counts, descriptive (no test: seeds x images are not independent); "
                     "counts in the interval columns", "n_seeds": len(shared), "n_images": n_images})
    return pd.DataFrame(rows, columns=LENET_TEST_SET_COLUMNS)
