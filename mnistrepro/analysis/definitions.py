"""The statistics' fixed definitions and the records they return, free of numpy and scipy: the levels (confidence,
power), the resamples and the smallest sample bootstrapped, the p-value bounds and print limits, the names of table
rows, and the dataclasses of mnistrepro.analysis.stats' results. The statistics compute them; the report layer reads
them here without loading a statistics library (tests/test_report_layer.py checks that it never does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
POWER = 0.8
RESAMPLES = 9999
# Below this many values a mean's interval is Student-t, not a percentile bootstrap (see mnistrepro.analysis.stats).
BOOTSTRAP_MIN_N = 30

# A p-value below this underflows (it may be 0 in floating point): it is flagged as a bound (``p_bound``).
P_UNDERFLOW = 1e-300
# The smallest p-value printed as a number; below it a p-value prints as "p < 1e-10"
# (mnistrepro.report.numbers.format_p). Every p-value this small comes from a t distribution's tail (the paired t,
# Welch's t, the TOST's paired t): that tail is the large-sample form of the permutation test, and so far out it
# rests on the normality of the differences where no sample of a few hundred runs can check it (the exact sign-flip
# test of 200 pairs cannot go below about 1e-60, while the t tail gives 1e-110). The exact tests' p-values never reach
# it (at most 13 pairs: at least 2 / 2^13).
P_PRINT_FLOOR = 1e-10
# The largest p-value printed as a number; above it a p-value prints as "p > 0.99", never rounded up to 1.
P_PRINT_CEILING = 0.99


# The c3 label of the exploratory confusion table's average over all runs of every kind
# (mnistrepro.analysis.exploratory.confusion_table).
BOTH = "both"


# The quantity of the discordant-images row of lenet_test_set's table: two counts, descriptive, no test (a McNemar
# test would pool seeds x images as if they were independent, which they are not).
DISCORDANT_QUANTITY = "discordant images (the first right, the second wrong / the reverse), pooled over seeds"
ACCURACY_DIFFERENCE = "accuracy difference"


def exact_sign_flip(n: int, resamples: int = RESAMPLES) -> bool:
    """Whether the paired test of ``n`` pairs enumerates every sign pattern (``2^n <= resamples``); above that
    it is the paired t-test (mnistrepro.analysis.stats.compare)."""
    return 2**n <= resamples


def smallest_p(n: int, resamples: int = RESAMPLES) -> float:
    """The smallest two-sided p-value the paired test of ``n`` pairs can give: ``2 / 2^n`` for the exact
    sign-flip test, 0 for the paired t-test."""
    return 2.0 / 2**n if exact_sign_flip(n, resamples) else 0.0


@dataclass(frozen=True)
class Comparison:
    """Mean of ``a`` minus mean of ``b``: 95% interval (``ci_method``, the inverted ``test``), two-sided p, and
    within its family (``family``; ``""``: descriptive, no p-value) the Holm-adjusted p and the minimum
    detectable difference (80% power) at the family's strictest Holm level. ``p_bound`` / ``p_holm_bound``:
    the value is an upper bound on the p-value, not the p-value."""

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
    p_bound: bool = False
    p_holm_bound: bool = False
    ci_method: str = ""
    family: str = ""
    family_size: int = 0

    @property
    def significant(self) -> bool:
        """Rejected at 5% within its family (Holm); False for a descriptive comparison."""
        return bool(self.family) and not math.isnan(self.p_holm) and self.p_holm < ALPHA


@dataclass(frozen=True)
class SeedsAndImages:
    """The mean paired difference of two C3 kinds' test accuracy with both sources of its uncertainty: the seeds
    (``seed_se``, the paired SE over seeds on the fixed test set) and the test images (``image_se``, the SE of the
    mean over images of each image's seed-mean difference: the analytic form of the image bootstrap), added as
    variances (``se``; conservative: the seed-by-image interaction enters both). ``ci95_low``/``ci95_high``: the 95%
    t interval (``n_seeds - 1`` degrees of freedom); ``p_tost``: the TOST of ``±margin`` with that SE."""

    n_seeds: int
    n_images: int
    difference: float
    seed_se: float
    image_se: float
    se: float
    ci95_low: float
    ci95_high: float
    margin: float
    p_tost: float


@dataclass(frozen=True)
class SampleSize:
    """The C3 claim's sample size (mnistrepro.analysis.planning.sample_size): the plan made before the runs from the
    config's paired pilot SD, and what this study's own paired SD achieves, both at the C3 family's strictest Holm
    level ``alpha`` (``ALPHA / family_size``) with ``power``. Fractions, not percentage points.

    ``n_pairs``: the seeds that ran both kinds of the primary test; ``paired_sd``: their paired SD (NaN below two
    pairs). ``planning_sd`` and ``equivalence_margin``: the config's (None: no plan; no TOST). ``planned_*_n``: the
    pairs the plan needs to detect ``target_difference`` / to show equivalence within the margin when the two kinds
    are equally accurate, None where no plan was made or where the solver finds no n up to its ``n_max`` (a spread
    so wide, a 1-epoch test config say, that no practical n suffices). ``achieved_*``: from ``paired_sd``, None where
    it is not positive (or there is no margin): the difference test's minimum detectable difference and the TOST's
    power."""

    n_pairs: int
    paired_sd: float
    family_size: int
    alpha: float
    power: float
    target_difference: float
    equivalence_margin: float | None
    planning_sd: float | None
    planned_difference_n: int | None
    planned_equivalence_n: int | None
    achieved_mdd: float | None
    achieved_equivalence_power: float | None

