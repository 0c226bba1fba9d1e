"""The verdicts of comparisons: one sentence per comparison, saying what the replicated runs support at the 5%
level after Holm's adjustment within its family (mnistrepro.analysis.stats.adjust_family), or describing a comparison
that belongs to no family. Every verdict of the study, whatever its metric, is worded here."""

from __future__ import annotations

import math

from mnistrepro.analysis.stats import Comparison, smallest_p
from mnistrepro.report.numbers import format_p
from mnistrepro.study.choices import METRICS

__all__ = ["describe", "p_text", "verdict"]


def p_text(c: Comparison) -> str:
    """``p = …, Holm p = … (family of m), n = a/b``, with ``≤`` for a bound."""
    return (f"{format_p(c.p_value, c.p_bound)}, Holm {format_p(c.p_holm, c.p_holm_bound)} (family of "
            f"{c.family_size}), n = {c.n_a}/{c.n_b}")


def _interval_words(c: Comparison, scale: float) -> str:
    """``95% CI low to high`` (times ``scale``), and the interval's method unless it is the usual one; the unit is
    the sentence's, said once with the difference before it."""
    label = "" if c.ci_method.startswith(("exact", "constant", "paired t")) else f", {c.ci_method}"
    return f"95% CI {c.ci95_low * scale:+.2f} to {c.ci95_high * scale:+.2f}{label}"


def describe(name_a: str, name_b: str, c: Comparison, unit: str = "percentage points", scale: float = 100,
             metric: str = "test_accuracy") -> str:
    """A descriptive comparison's sentence: the difference and its interval, with no p-value (it belongs to
    no family)."""
    what = METRICS[metric].short
    if math.isnan(c.ci95_low):
        return f"{name_a} - {name_b}: {c.difference * scale:+.2f} {unit} in {what} (n = {c.n_a}/{c.n_b}; no interval)"
    return (f"{name_a} - {name_b}: {c.difference * scale:+.2f} {unit} in {what} ({_interval_words(c, scale)}, "
            f"n = {c.n_a}/{c.n_b}; descriptive)")


def verdict(name_a: str, name_b: str, c: Comparison, unit: str = "percentage points", scale: float = 100,
            metric: str = "test_accuracy") -> str:
    """One sentence saying what the replicated runs support, at the 5% level after Holm's adjustment within
    the comparison's family; a descriptive comparison (no family) gets :func:`describe`.

    ``metric`` (a key of mnistrepro.study.choices.METRICS): accuracy (higher is better) or ECE (lower is better); every
    verdict of the study, whatever its metric, is worded here."""
    if metric not in METRICS:
        raise ValueError(f"metric: expected one of {sorted(METRICS)}, got {metric!r}")
    if not c.family:
        return describe(name_a, name_b, c, unit, scale, metric)
    what, better_phrase, higher_is_better = (METRICS[metric].short, METRICS[metric].better,
                                             METRICS[metric].higher_is_better)
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
        power = (f"achieved power, post hoc (from this study's own SD, after the runs): n = {min(c.n_a, c.n_b)} "
                 f"detects {c.mdd * scale:.2f} {unit} with 80% power")
    return (f"no significant difference{subject} between {name_a} and {name_b} "
            f"({c.difference * scale:+.2f} {unit}, {_interval_words(c, scale)}, {text}); {power}")
