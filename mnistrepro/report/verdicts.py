"""The verdicts: one sentence per comparison, saying what the replicated runs support at the 5% level after Holm's
adjustment within its family (mnistrepro.analysis.stats.adjust_family), or describing a comparison that belongs to no
family; the TOST's and the hardest pair's verdicts; the hardest pair's verdict at each step count of the sweep; the
escape verdicts (how many runs escape chance, and whether the fixed thresholds agree); the C3 claim with the test
images' uncertainty added; and each seed claim's verdict in the claims table that opens the README and the report
(mnistrepro.report.glance). Every verdict of the study, whatever its metric, is worded here."""

from __future__ import annotations

import math

import pandas as pd

from mnistrepro.analysis.definitions import BOOTSTRAP_MIN_N, Comparison, SeedsAndImages, smallest_p
from mnistrepro.report.numbers import format_p, pair_label, percent, points, points_interval
from mnistrepro.study.choices import METRICS, variant_label

__all__ = ["describe", "equivalence_test_name", "equivalence_verdict", "escape_category", "escape_verdict",
           "glance_c3_verdict", "glance_hardest_verdict", "glance_loss_verdict", "hardest_verdict", "p_text",
           "pair_verdict", "test_images_verdict", "verdict", "TEST_SET_POPULATION"]


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


def escape_category(n: int, low: float, high: float) -> str:
    """How a verdict words the escape rate of ``n`` runs, from the Wilson 95% interval of the rate alone (``low``,
    ``high``: the escape tables' ``escape_ci95_low`` and ``escape_ci95_high``), so that no single run at one
    threshold decides it: "almost no run" (the interval below 5%), "almost every run" (above 95%), "a minority" /
    "a majority" of runs (the interval below / above one half), else "no clear majority either way"."""
    if n == 0:
        return "no runs"
    if high < 0.05:
        return "almost no run (under 5%)"
    if low > 0.95:
        return "almost every run (over 95%)"
    if high < 0.5:
        return "a minority of runs"
    if low > 0.5:
        return "a majority of runs"
    return "no clear majority either way"


def equivalence_test_name(test: str, margin: float) -> str:
    """The TOST row's ``test`` cell: the test and its margin (a fraction) in points."""
    return f"{test}, margin ±{points(margin)} points"


def equivalence_verdict(c: Comparison, margin: float) -> str:
    """The TOST row's sentence: equivalent within ``±margin`` (Holm-adjusted in its family), or not shown to be."""
    if math.isnan(c.p_value):
        return (f"equivalence within ±{points(margin)} percentage points cannot be tested: the TOST needs at least 2 "
                f"runs of each paired by seed ({c.n_a} vs {c.n_b})")
    p = (f"TOST {format_p(c.p_value, c.p_bound)}, Holm {format_p(c.p_holm, c.p_holm_bound)} (family of "
         f"{c.family_size}), n = {c.n_a} pairs")
    if c.significant:
        return f"equivalent within ±{points(margin)} percentage points ({p})"
    return f"equivalence within ±{points(margin)} percentage points not shown ({p})"


def hardest_verdict(main: str, runner_up: str, c: Comparison, in_hardest_set: bool | None = None) -> str:
    """The hardest-pair row's sentence: the main pair is shown to be the hardest of all, or it is not; where it is
    not, ``in_hardest_set`` (the 95% confidence set of the hardest, mnistrepro.analysis.stats.hardest_set) says which:
    outside the set it is not the hardest pair, inside (or with no set) it is only not shown to be. At a step count
    outside the family, its difference from the closest other pair, descriptive."""
    if not c.family:
        return (f"{main} - {runner_up} (the closest other pair): {100 * c.difference:+.2f} percentage points "
                f"(95% CI {100 * c.ci95_low:+.2f} to {100 * c.ci95_high:+.2f}; descriptive)")
    p = f"intersection-union test {format_p(c.p_value, c.p_bound)}, Holm {format_p(c.p_holm, c.p_holm_bound)}"
    if c.significant:
        return f"{main} is the hardest pair: every other pair is shown easier (closest: {runner_up}; {p})"
    if in_hardest_set is False:
        return (f"{main} is not the hardest pair: it lies outside the 95% confidence set of the hardest (max-T "
                f"bootstrap), some other pair being shown harder (closest by mean: {runner_up}; {p})")
    return f"{main} is not shown to be the hardest pair (closest: {runner_up}; {p})"


def escape_verdict(category: str, thresholds: pd.DataFrame | None) -> str:
    """The escape verdict of one variant at one step count: its ``category`` (:func:`escape_category`), and whether
    every fixed accuracy threshold gives the same (``thresholds``: its rows of the escape-sensitivity table,
    mnistrepro.outputs.aggregate.escape_sensitivity, each with its own ``category``; None or empty: no such table)."""
    if thresholds is None or thresholds.empty:
        return category
    span = (f"{100 * thresholds['threshold'].min():.0f}% to {100 * thresholds['threshold'].max():.0f}% "
            f"(rates {percent(thresholds['escape_rate'].min())} to {percent(thresholds['escape_rate'].max())})")
    differ = thresholds[thresholds["category"] != category]
    if differ.empty:
        return f"{category}, as at every fixed threshold from {span}"
    return (f"{category}, but not at every fixed threshold from {span}: "
            + "; ".join(f"{t.category} above {100 * t.threshold:.0f}%" for t in differ.itertuples(index=False))
            + ", so this verdict depends on the threshold")


def pair_verdict(table: pd.DataFrame, test: pd.Series | None, rank: str, lowest: str, share_rank1: str,
                 bootstrapped: bool) -> str:
    """The hardest pair's verdict at one step count of the sweep (``table``: the pair-difficulty rows there,
    mnistrepro.outputs.aggregate.pair_difficulty): where the hardest-pair family's test (``test``, its comparisons
    row; None at a step count it does not test) shows the main pair hardest, that verdict; else, with the bootstrap
    columns (``bootstrapped``), the 95% confidence set of the hardest; else the ``lowest`` mean, described. ``rank``:
    the main pair's rank in words; ``share_rank1``: the bootstrap shares ranked first in words."""
    if test is not None and bool(test["significant"]):
        return f"{test['verdict']}; {rank}"
    if bootstrapped:
        candidates = table[table["in_hardest_set"].astype(bool)]
        names = ", ".join(f"{pair_label(p)} ({percent(v)})" for p, v in zip(candidates["pair"], candidates["mean"]))
        if len(candidates) == 1:
            lead = f"{names} is the hardest pair (the 95% confidence set of the hardest holds it alone)"
        else:
            lead = (f"the hardest pair cannot be told apart among {len(candidates)}: {names} (95% confidence "
                    f"set, max-T bootstrap)")
        main_test = f"; {test['verdict']}" if test is not None else "; descriptive: no test at this step count"
        return f"{lead}; {rank}{main_test}; bootstrap share ranked first: {share_rank1}"
    main_test = f"; {test['verdict']}" if test is not None else ""
    return (f"lowest mean {lowest}; {rank}{main_test}; with fewer than {BOOTSTRAP_MIN_N} seeds per pair no rank "
            f"interval or confidence set is made")


def glance_loss_verdict(primary: pd.Series, others: pd.DataFrame) -> str:
    """The loss claim's verdict in the claims table (mnistrepro.report.glance): its primary test's row of the
    comparisons table (``primary``) held, reversed or not shown on its scaling, and each other scaling's row
    (``others``) that significantly reverses it."""
    scaling = variant_label("scaling", primary["scaling"])
    better = primary["a"] if primary["difference"] > 0 else primary["b"]
    if primary["significant"]:
        verdict = f"{'Holds' if primary['difference'] > 0 else 'Reversed'} on {scaling}: {better} is more accurate"
    else:
        verdict = f"Not shown on {scaling}: no significant difference"
    for _, other in others.iterrows():
        if other["significant"] and (other["difference"] > 0) != (primary["difference"] > 0):
            other_better = other["a"] if other["difference"] > 0 else other["b"]
            verdict += (f"; reversed on {variant_label('scaling', other['scaling'])} ({other_better} is more "
                        f"accurate)")
    return verdict


def glance_hardest_verdict(main: str, hardest: str, significant: bool, in_hardest_set: bool | None,
                           lowest_mean: bool = False) -> str:
    """The hardest-pair claim's verdict in the claims table: the ``main`` pair shown hardest (``significant``), outside
    the 95% confidence set of the hardest (``in_hardest_set`` False: ``hardest`` is harder), or not told apart from
    ``hardest``: the hardest other pair by mean, or where the main pair has the lowest mean (``lowest_mean``), the
    closest other pair."""
    if significant:
        return f"Holds for logistic regression: {main} is shown to be the hardest pair"
    if in_hardest_set is False:
        return (f"Not for logistic regression: {hardest} is harder, and {main} lies outside the 95% "
                f"confidence set of the hardest pair")
    if lowest_mean:
        return (f"Not shown for logistic regression: {main} has the lowest mean but cannot be told apart from the "
                f"closest other pair ({hardest})")
    return f"Not shown for logistic regression: {main} cannot be told apart from the hardest ({hardest})"


def glance_c3_verdict(label_a: str, label_b: str, tost: pd.Series, difference: pd.Series, margin: float) -> str:
    """The C3 claim's verdict in the claims table (does ``label_a`` beat ``label_b``?), from the C3 family's TOST row
    (``tost``, within ``±margin``, a fraction) and its difference row (``difference``)."""
    if tost["significant"]:
        return f"No: {label_a} and {label_b} are equivalent within ±{100 * margin:.2f} points"
    if difference["significant"]:
        return (f"{'Yes' if difference['difference'] > 0 else 'No'}: "
                f"{label_a if difference['difference'] > 0 else label_b} is more accurate")
    return f"Undecided: neither shown equivalent within ±{100 * margin:.2f} points nor different"


# The population the C3 equivalence verdict covers: the seeds are a sample, the test images are held fixed.
TEST_SET_POPULATION = "on the MNIST test set (seeds vary, the test images do not)"


def test_images_verdict(c: SeedsAndImages) -> str:
    """The C3 claim's difference with the test images' uncertainty added to the seeds' (variance sum), and whether
    its 95% interval stays inside the margin."""
    inside = -c.margin < c.ci95_low and c.ci95_high < c.margin
    where = (f"still inside ±{points(c.margin)}" if inside else
             f"not inside ±{points(c.margin)}: over other test images like these, equivalence is not shown")
    return (f"with the test images' own uncertainty added (variance sum, conservative: SE {points(c.seed_se, 3)} "
            f"points over {c.n_seeds} seeds and {points(c.image_se, 3)} over {c.n_images:,} images), the difference's "
            f"95% interval is {points_interval(c.ci95_low, c.ci95_high)}, {where} (TOST {format_p(c.p_tost)})")
