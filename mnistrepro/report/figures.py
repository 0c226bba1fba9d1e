"""The figures' words that state or qualify a result (mnistrepro.outputs.figures draws; this words): legends with an
interval's method, Holm p-values, escape counts, the reference's accuracy, ranks and the titles that say what a
panel tests or does not. Axis labels that only name a quantity stay with the drawing."""

from __future__ import annotations

import math

from mnistrepro.report.numbers import MISSING, format_p, pair_label, percent, points

__all__ = [
    "COMPARISONS_TITLE", "COMPARISONS_XLABEL", "CONFUSIONS_XLABEL", "CONFUSIONS_TITLE", "PAIR_GRID_TITLE",
    "PAIR_RANKS_TITLE", "PAIR_RANKS_XLABEL", "SCALE_GRID_ACCURACY_TITLE", "SCALE_GRID_RATE_TITLE",
    "SCALE_GRID_RATE_YLABEL", "calibration_label", "escape_annotation", "escape_threshold_label", "holm_annotation",
    "mean_interval_label", "pair_mean_label", "per_epoch_title", "per_epoch_ylabel", "reference_label", "seeds_label",
    "spearman_title",
]

COMPARISONS_XLABEL = "difference a - b in test accuracy, or in the metric named (percentage points; line: 95% CI)"
COMPARISONS_TITLE = ("Every comparison by family (filled, red: significant at 5% after Holm within its family; "
                     "hollow: not)")
SCALE_GRID_RATE_YLABEL = "runs escaped chance (%)"
SCALE_GRID_RATE_TITLE = "escape rate (band: Wilson 95% CI)"
SCALE_GRID_ACCURACY_TITLE = "mean accuracy (band: 95% CI)"
PAIR_GRID_TITLE = "Which digit pairs are hardest? Logistic loss, mean over seeds"
PAIR_RANKS_XLABEL = "rank (1 = lowest mean accuracy), 95% bootstrap interval"
PAIR_RANKS_TITLE = "Hardest digit pairs: rank intervals (filled: cannot be told apart from the hardest)"
CONFUSIONS_XLABEL = "confusion rate (% of the two digits' test images; 95% CI over seeds)"
CONFUSIONS_TITLE = ("EXPLORATORY: which digit pair is hardest for a ten-class CNN and for binary linear classifiers\n"
                    "(model and task differ together; describes, tests nothing)")
def per_epoch_title(difference: str) -> str:
    """The per-epoch figure's title: exploratory, and why."""
    return f"EXPLORATORY: {difference} C3 after every epoch\n(looks at the same runs: describes, tests nothing)"


def per_epoch_ylabel(difference: str) -> str:
    """The per-epoch figure's y axis: the difference ``difference`` (``sparse - full``) in test accuracy."""
    return f"{difference} test accuracy (percentage points)"


def seeds_label(label: str, n: int) -> str:
    """A LeNet-5 variant's seeds, by its registry label: ``sparse C3: seeds (n = 26)``."""
    return f"{label}: seeds (n = {n})"


def mean_interval_label(label: str, method: str, n: int) -> str:
    """A LeNet-5 variant's mean with its 95% interval: ``sparse C3: mean, 95% CI (Student t, n = 10)``."""
    return f"{label}: mean, 95% CI ({method}, n = {n})"


def holm_annotation(p_holm: float, bound: bool) -> str:
    """A comparison's Holm p (``Holm p = 0.012``), or that it is descriptive."""
    return "no test (interval only)" if math.isnan(p_holm) else f"Holm {format_p(p_holm, bound)}"


def escape_threshold_label(threshold: float) -> str:
    """The escape threshold's line (``threshold``: an accuracy, a fraction)."""
    return f"escaped above {percent(threshold, 1)} (exact binomial test vs the majority class)"


def escape_annotation(escaped: int, n: int, low: float, high: float) -> str:
    """A variant's escape count with its Wilson interval (fractions): ``escaped 3/10\\n(8-65%)``."""
    return f"escaped {escaped}/{n}\n({points(low, 0)}-{percent(high, 0)})"


def reference_label(accuracy: float) -> str:
    return f"reference's single run ({percent(accuracy)})"


def pair_mean_label(pair: str, mean: float) -> str:
    """A digit pair with its mean accuracy: ``4 vs 9 (97.10%)``."""
    return f"{pair_label(pair)} ({percent(mean)})"


def calibration_label(label: str, mean_ece: float) -> str:
    """A variant's reliability curve, by its registry label, with its mean ECE (a fraction)."""
    return f"{label} (mean ECE {percent(mean_ece)})"


def spearman_title(steps: int, rho: float, low: float, high: float, n: int) -> str:
    """``After 1,000 steps: Spearman ρ = 0.41 (0.20 to 0.60), 45 pairs`` (no interval where it is NaN)."""
    interval = "" if math.isnan(low) else f" ({low:.2f} to {high:.2f})"
    return f"After {steps:,} steps: Spearman ρ = " + (MISSING if math.isnan(rho) else f"{rho:.2f}{interval}") + \
        f", {n} pairs"
