"""Summaries, intervals, tests and adjustments on small cases with textbook answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pathlib import Path

import yaml
from scipy import stats as scipy_stats

from mnistrepro.analysis.definitions import BOOTSTRAP_MIN_N, P_PRINT_FLOOR, smallest_p
from mnistrepro.analysis.stats import (ESCAPE_ALPHA, adjust_family, bootstrap_interval, compare, equivalence_power,
                                       equivalence_required_n, equivalence_test, escape_accuracy, escaped,
                                       expected_calibration_error, hardest_set, hardest_test, holm, lenet_test_set,
                                       mean_interval, minimum_detectable_difference, rank_bootstrap, required_n,
                                       sign_flip_interval, summarize, wilson_interval)
from mnistrepro.report.lenet_test_set import lenet_test_set_facts
from mnistrepro.report.numbers import format_p
from mnistrepro.report.verdicts import p_text, verdict
from mnistrepro.study.config import seed_list

REPO = Path(__file__).resolve().parents[1]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------ intervals


def test_wilson_textbook_values():
    # Wilson score interval, z = 1.959964: 5/10 -> 0.2366-0.7634; 0/10 -> 0-0.2775; 1/10 -> 0.0179-0.4042.
    assert wilson_interval(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.277533), abs=1e-6)
    assert wilson_interval(1, 10) == pytest.approx((0.017876, 0.404150), abs=1e-6)
    # By the formula: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), 36 of 200.
    z, n, p = 1.959963984540054, 200, 36 / 200
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson_interval(36, 200) == pytest.approx(((centre - half) / (1 + z * z / n),
                                                      (centre + half) / (1 + z * z / n)), rel=1e-9)


@pytest.mark.parametrize("k", [0, 20])
def test_intervals_stay_in_unit_range_for_all_wrong_and_all_correct(k):
    low, high = wilson_interval(k, 20)
    assert 0 <= low <= high <= 1 and (low == 0 if k == 0 else high == 1)
    values = [k / 20] * 20  # every run all wrong (0.0) or all correct (1.0)
    mean, low, high = bootstrap_interval(values, rng())
    assert low == high == mean == k / 20


def test_bootstrap_interval_stays_inside_the_data_near_one():
    # Accuracies near 100% with one outlier: a t-interval would pass 1.0; the bootstrap cannot.
    values = [1.0, 1.0, 1.0, 0.999, 1.0, 0.97]
    mean, low, high = bootstrap_interval(values, rng())
    t_high = np.mean(values) + 2.570582 * np.std(values, ddof=1) / math.sqrt(6)
    assert t_high > 1 and low <= mean <= high <= 1.0 and low >= 0.97


def test_bootstrap_interval_is_seeded():
    values = [0.1, 0.5, 0.4, 0.9, 0.3]
    assert bootstrap_interval(values, rng(3)) == bootstrap_interval(values, rng(3))
    assert math.isnan(bootstrap_interval([0.5], rng())[1])


def test_summarize_groups_and_statistics():
    runs = pd.DataFrame({
        "loss": ["mse"] * 5 + ["ce"] * 3,
        "seed": [0, 1, 2, 3, 4, 0, 1, 2],
        "test_accuracy": [0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.9, 0.9],
        "train_seconds": [1.0] * 5 + [2.0, 4.0, 6.0],
        "trainable_params": [785] * 8,
    })
    summary = summarize(runs, ["loss"], rng()).set_index("loss")
    mse, ce = summary.loc["mse"], summary.loc["ce"]
    assert mse["n"] == 5 and mse["mean"] == pytest.approx(0.3) and mse["std"] == pytest.approx(math.sqrt(0.025))
    assert 0.1 <= mse["ci95_low"] < 0.3 < mse["ci95_high"] <= 0.5
    assert mse["min"] == 0.1 and mse["max"] == 0.5
    assert ce["n"] == 3 and ce["std"] == 0 and ce["ci95_low"] == ce["ci95_high"] == pytest.approx(0.9)
    assert ce["mean_train_seconds"] == 4.0 and ce["trainable_params"] == 785
    # Five seeds: a Student-t interval, 0.3 +- t(0.975, 4) sd / sqrt(5), labelled as such.
    half = 2.776445 * math.sqrt(0.025) / math.sqrt(5)
    assert (mse["ci95_low"], mse["ci95_high"]) == pytest.approx((0.3 - half, 0.3 + half), abs=1e-6)
    assert mse["ci_method"] == f"Student t (n < {BOOTSTRAP_MIN_N})"


# ------------------------------------------------------------------------------ escape


def test_escape_is_an_exact_binomial_test_against_the_majority_rate():
    # 1,991 test images, majority rate 1009/1991: a run that predicts one class (1009 or 982 correct) never
    # escapes; the lowest escaping count is the smallest k with P(X >= k) < alpha under Binomial(1991, rate).
    chance = 1009 / 1991
    k = round(escape_accuracy(1991, chance) * 1991)
    assert scipy_stats.binom.sf(k - 1, 1991, chance) < ESCAPE_ALPHA <= scipy_stats.binom.sf(k - 2, 1991, chance)
    assert list(escaped([1009, 982, k - 1, k, 1900], [1991] * 5, chance)) == [False, False, False, True, True]


# ------------------------------------------------------------------------------ interval coverage


def smallest_study_n(config_path: Path = REPO / "config.yaml") -> int:
    """The smallest number of seeds any mean or paired difference of the study's configuration rests on."""
    config = yaml.safe_load(config_path.read_text())
    sweep = config["pair_sweep"]
    counts = [len(seed_list(config["logreg"]["seeds"])), len(seed_list(config["lenet"]["seeds"])),
              len(seed_list(sweep["seeds"]))] + ([sweep["long_seeds"]] if sweep.get("long_seeds") else [])
    return min(counts)


def test_no_percentile_bootstrap_below_the_stated_n():
    values = np.linspace(0.98, 0.99, BOOTSTRAP_MIN_N - 1)
    assert mean_interval(values, rng())[3].startswith("Student t")
    assert mean_interval(np.linspace(0.98, 0.99, BOOTSTRAP_MIN_N), rng())[3].startswith("percentile bootstrap")
    # Three values: the percentile bootstrap would be (nearly) their range; the t-interval is much wider.
    three = [0.9844, 0.9872, 0.9860]
    _, low, high, _ = mean_interval(three, rng())
    assert low < min(three) - 0.002 and high > max(three) + 0.002


def test_interval_coverage_at_the_studys_smallest_n():
    """The interval the study prints for a mean, and for a paired difference, at its smallest n, covers the
    true mean within 2 points of 95% (simulated with normal seeds, as LeNet-5 accuracies roughly are)."""
    n = smallest_study_n()
    resamples = yaml.safe_load((REPO / "config.yaml").read_text())["stats"]["resamples"]
    gen = rng(1)
    trials = 1000
    hits = sum(low <= 0.985 <= high for low, high in
               (mean_interval(gen.normal(0.985, 0.001, n), gen, resamples=999, bounds=(0.0, 1.0))[1:3]
                for _ in range(trials)))
    assert abs(hits / trials - 0.95) <= 0.02, (n, hits / trials)
    # Paired differences: the interval compare() prints at this n, simulated directly.
    sample = compare(pd.Series(gen.normal(0.001, 0.001, n)), pd.Series(np.zeros(n)), resamples)
    if 2**n <= resamples:
        assert sample.ci_method == "exact sign-flip test inverted"
        if smallest_p(n, resamples) > 0.05:
            # No 95% interval exists at this n; compare() says so (every possible difference), it prints none.
            assert (sample.ci95_low, sample.ci95_high) == (-1.0, 1.0)
            return
        intervals = (sign_flip_interval(gen.normal(0.001, 0.001, n)) for _ in range(trials))
    else:
        assert sample.ci_method == "paired t interval"
        intervals = ((c.ci95_low, c.ci95_high) for c in (
            compare(pd.Series(gen.normal(0.001, 0.001, n)), pd.Series(np.zeros(n)), resamples=resamples)
            for _ in range(trials)))
    covered = sum(low <= 0.001 <= high for low, high in intervals)
    assert abs(covered / trials - 0.95) <= 0.02, (n, covered / trials)


@pytest.mark.parametrize("n", [10, 40])
def test_paired_interval_coverage_at_other_study_sizes(n):
    """The same check at sizes the study may be configured with: the exact sign-flip interval (10 pairs) and
    the paired t interval (40 pairs), each as compare() prints it."""
    gen = rng(n)
    samples = [compare(pd.Series(gen.normal(0.001, 0.001, n)), pd.Series(np.zeros(n))) for _ in range(1000)]
    assert {c.ci_method for c in samples} == {"exact sign-flip test inverted" if n <= 13 else "paired t interval"}
    intervals = [(c.ci95_low, c.ci95_high) for c in samples]
    covered = sum(low <= 0.001 <= high for low, high in intervals) / len(intervals)
    assert abs(covered - 0.95) <= 0.02, covered


def test_a_percentile_bootstrap_at_three_seeds_would_fail_the_coverage_test():
    """The coverage test can fail: the method it replaced covers far less than 95% at n = 3."""
    gen = rng(2)
    hits = 0
    for _ in range(400):
        _, low, high = bootstrap_interval(gen.normal(0.0, 1.0, 3), gen, resamples=999)
        hits += low <= 0.0 <= high
    assert hits / 400 < 0.85


# ------------------------------------------------------------------------------ tests and adjustment


def test_exact_permutation_textbook_value():
    # Five positive paired differences: of the 2^5 sign patterns, only all-plus and all-minus are
    # as extreme, so the exact two-sided p is 2/32.
    a = pd.Series([0.91, 0.92, 0.93, 0.94, 0.95])
    c = compare(a, a - [0.01, 0.02, 0.03, 0.04, 0.05])
    assert c.paired and c.test == "paired sign-flip test (exact)"
    assert c.p_value == pytest.approx(2 / 32) and smallest_p(5) == pytest.approx(2 / 32)
    assert c.difference == pytest.approx(0.03)
    # One negative difference of the smallest size: 4 patterns of 32 are at least as extreme.
    c = compare(a, a - [-0.01, 0.02, 0.03, 0.04, 0.05])
    assert c.p_value == pytest.approx(4 / 32)


def test_holm_textbook_values():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005])[0] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9])[0] == pytest.approx([1.0, 1.0])
    adjusted, _ = holm([0.01, math.nan, 0.02])
    assert math.isnan(adjusted[1]) and adjusted[[0, 2]] == pytest.approx([0.02, 0.02])


def test_a_holm_value_that_a_bound_entered_is_a_bound():
    # Sorted: 0.0002 (a bound), 0.01, 0.04. The two above it in the order may take their maximum from it.
    adjusted, bound = holm([0.01, 0.0002, 0.04], bounds=[False, True, False])
    assert adjusted == pytest.approx([0.02, 0.0006, 0.04]) and list(bound) == [True, True, True]
    # A bound above the others in the order cannot define theirs.
    adjusted, bound = holm([0.001, 0.3, 0.002], bounds=[False, True, False])
    assert list(bound) == [False, True, False]


def test_minimum_detectable_difference():
    # Paired t-test tables: n = 20, alpha 0.05, 80% power -> effect size 0.6604 (G*Power).
    assert minimum_detectable_difference(1.0, 20) == pytest.approx(0.6604, abs=2e-3)
    assert minimum_detectable_difference(0.01, 20) == pytest.approx(0.006604, abs=2e-5)
    # Three pairs: the permutation test's smallest p is 2/8, so nothing is detectable.
    assert minimum_detectable_difference(0.01, 3) == math.inf


SEEDS = range(12)
BASE = pd.Series([0.90, 0.93, 0.91, 0.95, 0.92, 0.94, 0.90, 0.96, 0.91, 0.93, 0.92, 0.94], index=SEEDS)
NOISE = pd.Series([0.004, -0.003, 0.002, -0.004, 0.003, -0.002, 0.001, -0.001, 0.002, -0.002, 0.003, -0.003],
                  index=SEEDS)


def test_real_difference_is_flagged_and_null_one_is_not_after_adjustment():
    real = compare(BASE + 0.02 + NOISE, BASE)
    null = compare(BASE + NOISE, BASE)
    other_null = compare(BASE - NOISE / 2, BASE)
    real, null, other_null = adjust_family([real, null, other_null], "claim")
    assert real.p_holm >= real.p_value and real.ci95_low > 0 and real.significant
    assert null.p_holm >= null.p_value and not null.significant and null.ci95_low < 0 < null.ci95_high
    assert not other_null.significant
    assert verdict("A", "B", real).startswith("A is more accurate than B by 2.00 percentage points")
    text = verdict("A", "B", null)
    assert text.startswith("no significant difference between A and B") and "Holm p" in text
    assert f"detects {100 * null.mdd:.2f} percentage points with 80% power" in text and 0 < null.mdd < 0.02
    # The detectable difference comes from the study's own SD, after the runs: the verdict labels it post hoc.
    assert (f"achieved power, post hoc (from this study's own SD, after the runs): n = 12 detects "
            f"{100 * null.mdd:.2f} percentage points") in text


def test_adjustment_can_remove_significance():
    # p = 0.03 alone is significant; among three comparisons Holm makes it 0.09.
    c = compare(BASE + 0.02 + NOISE, BASE)
    lone = adjust_family([type(c)(**{**c.__dict__, "p_value": 0.03})], "claim")[0]
    many = adjust_family([type(c)(**{**c.__dict__, "p_value": p}) for p in (0.03, 0.5, 0.8)], "claim")[0]
    assert lone.significant and not many.significant and many.p_holm == pytest.approx(0.09)


def test_unpaired_samples_use_welchs_test_and_its_interval():
    small = BASE + 0.005 + NOISE / 4
    unpaired = compare(small.reset_index(drop=True), BASE.set_axis(range(100, 112)))
    assert not unpaired.paired and unpaired.test == "Welch t-test" and unpaired.p_value > 0.05
    welch = scipy_stats.ttest_ind(small.to_numpy(), BASE.to_numpy(), equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert unpaired.p_value == pytest.approx(welch.pvalue)
    assert (unpaired.ci95_low, unpaired.ci95_high) == pytest.approx((ci.low, ci.high))
    paired = compare(small, BASE)
    assert paired.p_value < 0.001  # pairing removes the seed-to-seed spread


def test_identical_differences_have_defined_p_values():
    assert compare(BASE + 0.01, BASE).p_value == 0.0
    assert compare(BASE, BASE).p_value == 1.0


def test_three_seeds_cannot_be_significant_and_the_verdict_says_so():
    a = pd.Series([0.986, 0.984, 0.988])
    (c,) = adjust_family([compare(a, a - 0.002)], "claim")  # constant difference: p = 0 by definition
    assert c.significant
    (c,) = adjust_family([compare(a, a - [0.002, 0.001, 0.003])], "claim")
    assert c.p_value == pytest.approx(0.25) and not c.significant and math.isinf(c.mdd)
    assert "with n = 3 no difference could be significant (smallest possible p = 0.25)" in verdict("A", "B", c)


def test_too_few_runs_cannot_be_tested():
    c = compare(pd.Series([0.9], index=[0]), pd.Series([0.8], index=[0]))
    assert math.isnan(c.p_value) and verdict("A", "B", c).endswith("(n = 1/1; no interval)")  # descriptive
    (c,) = adjust_family([c], "claim")
    assert verdict("A", "B", c).startswith("cannot test")


def test_exact_interval_agrees_with_the_exact_test():
    # Eight differences: the exact test can reach 5% (smallest p = 2/256), so the inverted
    # interval is finite, inside the data's range, and excludes 0 exactly when p < 0.05.
    d = np.array([0.004, 0.007, -0.001, 0.003, 0.006, 0.002, 0.005, 0.001])
    low, high = sign_flip_interval(d)
    c = compare(pd.Series(0.9 + d), pd.Series([0.9] * 8))
    assert (c.ci95_low, c.ci95_high) == pytest.approx((low, high), abs=1e-12)
    assert d.min() <= low < d.mean() < high <= d.max()
    assert c.p_value < 0.05 and low > 0
    shifted = compare(pd.Series(0.9 + d - 0.0025), pd.Series([0.9] * 8))
    assert shifted.p_value > 0.05 and shifted.ci95_low < 0 < shifted.ci95_high
    # Three values of one sign: a bootstrap interval would exclude 0, but p = 0.25; the test's
    # interval is every possible difference.
    assert sign_flip_interval([-0.002, -0.001, -0.003]) == (-1.0, 1.0)


# ------------------------------------------------------------------------------ p floors, TOST, sample size


def test_many_pairs_get_the_paired_t_test_and_its_own_interval():
    """Past the exact enumeration (2^n > resamples) the paired test is the t-test and the interval is its
    inversion: one procedure, analytic, so its p is no Monte Carlo floor."""
    gen = rng(3)
    base = pd.Series(np.linspace(0.9, 0.95, 40))
    a = base + 0.002 + gen.normal(0, 0.003, 40)
    c = compare(a, base)
    t = scipy_stats.ttest_1samp((a - base).to_numpy(), 0.0)
    ci = t.confidence_interval(0.95)
    assert c.test == "paired t-test" and c.ci_method == "paired t interval" and not c.p_bound
    assert c.p_value == pytest.approx(t.pvalue) and (c.ci95_low, c.ci95_high) == pytest.approx((ci.low, ci.high))
    # The interval excludes 0 exactly when the test rejects at 5%.
    assert (c.p_value < 0.05) == (c.ci95_low > 0 or c.ci95_high < 0)


def test_a_p_value_that_is_a_bound_prints_as_one():
    seeds = range(200)
    base = pd.Series(np.linspace(0.9, 0.95, 200), index=seeds)
    # A difference of 5 points over 200 pairs with a spread of 0.06 points: the t-test's p underflows.
    (c,) = adjust_family([compare(base + 0.05 + np.linspace(-0.001, 0.001, 200), base)], "claim")
    assert c.p_bound and c.p_holm_bound
    assert p_text(c).startswith("p < 1e-10, Holm p < 1e-10 (family of 1)")
    assert format_p(0.031) == "p = 0.031" and format_p(0.0002, bound=True) == "p ≤ 0.0002"
    # A small p that is computed, not bounded, prints as a value.
    (c,) = adjust_family([compare(BASE + 0.01 + NOISE / 10, BASE)], "claim")
    assert not c.p_bound and p_text(c).startswith("p = ")


def test_a_p_value_prints_no_more_precisely_than_its_method():
    """Below the floor the t tail supports a p-value prints as "p < 1e-10" (a computed one too, not only a bound);
    near 1 it prints as "p > 0.99", never rounded up to 1."""
    assert P_PRINT_FLOOR == 1e-10
    assert format_p(1.6e-110) == format_p(3.1e-110, bound=True) == format_p(0.0) == "p < 1e-10"
    assert format_p(2e-10) == "p = 2e-10"
    assert format_p(0.9975) == "p > 0.99" and format_p(0.995) == "p > 0.99"
    assert format_p(0.99) == "p = 0.99" and format_p(1.0) == "p = 1"  # exactly 1 (Holm's cap) is no rounding
    # A 200-pair paired t-test whose p is far below the floor, computed (no underflow): printed as below the floor.
    seeds = range(200)
    base = pd.Series(np.linspace(0.9, 0.95, 200), index=seeds)
    gen = rng(5)
    (c,) = adjust_family([compare(base + 0.01 + gen.normal(0, 0.005, 200), base)], "claim")
    assert 0 < c.p_value < 1e-20 and not c.p_bound
    assert p_text(c).startswith("p < 1e-10, Holm p < 1e-10")


def test_tost_equivalence_textbook_cases():
    # Ten differences all within +-0.02 points of 0: both one-sided tests reject as far as 10 pairs allow
    # (every shifted difference has one sign: exact one-sided p = 1/1024), so the two are equivalent
    # within 0.1 points.
    d = np.linspace(-0.0002, 0.0002, 10)
    e = equivalence_test(d, margin=0.001)
    assert e.p_value == pytest.approx(1 / 1024) and e.p_lower == e.p_upper
    # A mean difference of 0.2 points is not within a 0.1-point margin.
    assert equivalence_test(d + 0.002, margin=0.001).p_value > 0.5


def test_equivalence_power_matches_the_simulated_tost():
    """The TOST power formula against the study's own test (exact sign-flip TOST, 10 pairs) on
    simulated normal differences with true mean 0: agreement within Monte Carlo error."""
    gen = rng(11)
    for margin, sims in ((0.8, 400), (1.0, 400)):
        shown = np.mean([equivalence_test(gen.normal(0, 1, 10), margin, resamples=2**10).p_value < 0.05
                         for _ in range(sims)])
        predicted = equivalence_power(1.0, 10, margin, 0.05)
        assert 0.3 < predicted < 0.9  # a power the simulation can tell apart from 0 and 1
        assert shown == pytest.approx(predicted, abs=0.08), (margin, shown, predicted)
    # Three pairs: a one-sided sign-flip p is at least 1/8, so no equivalence at 0.05, whatever the data.
    assert equivalence_power(0.001, 3, 1.0, 0.05) == 0.0


def test_equivalence_required_n_is_the_smallest_n_with_the_power():
    sd, margin, alpha = 0.00131, 0.001, 0.05 / 20
    n = equivalence_required_n(sd, margin, alpha)
    assert equivalence_power(sd, n, margin, alpha) >= 0.8 > equivalence_power(sd, n - 1, margin, alpha)
    # Showing equivalence within a margin needs more pairs than detecting a difference of that size at the same
    # level (80% power for both one-sided tests at once), and far more than detecting twice the margin.
    assert n > required_n(sd, margin, alpha) > required_n(sd, 2 * margin, alpha)
    with pytest.raises(ValueError, match="positive paired SD and margin"):
        equivalence_required_n(sd, 0.0)


def test_required_n_is_the_smallest_n_that_detects_the_target():
    sd, effect, alpha = 0.00131, 0.002, 0.05 / 20
    n = required_n(sd, effect, alpha)
    assert minimum_detectable_difference(sd, n, alpha) <= effect < minimum_detectable_difference(sd, n - 1, alpha)
    # Normal approximation: n ~ ((z_{1-alpha/2} + z_{0.8}) sd / effect)^2, a little less than the t-based n
    # (by more at small n, where t's tails are heavier).
    z = scipy_stats.norm.ppf(1 - alpha / 2) + scipy_stats.norm.ppf(0.8)
    assert (z * sd / effect) ** 2 < n < (z * sd / effect) ** 2 + 6
    large = required_n(0.01, effect, alpha)
    assert (z * 0.01 / effect) ** 2 < large < (z * 0.01 / effect) ** 2 + 6
    with pytest.raises(ValueError, match="positive paired SD"):
        required_n(0.0, effect)


# ------------------------------------------------------------------------------ hardest of several groups


def test_a_clearly_hardest_group_is_named_and_a_tie_is_not():
    gen = rng(4)
    clear = [gen.normal(m, 0.01, 200) for m in (0.80, 0.90, 0.91, 0.95)]
    p, closest = hardest_test(clear, 0)
    assert p < 0.01 and closest == 1
    assert list(hardest_set(clear, gen, resamples=999)) == [True, False, False, False]
    ranks = rank_bootstrap(clear, gen, resamples=999)
    assert list(ranks["rank"]) == [1, 2, 3, 4] and ranks["share_rank1"].iloc[0] == 1.0
    assert (ranks["rank_low"].iloc[0], ranks["rank_high"].iloc[0]) == (1, 1)
    base = gen.normal(0.9, 0.01, 50)
    tied = [base, gen.permutation(base) + 1e-4, base + 0.05]
    assert hardest_test(tied, 0)[0] > 0.05 and hardest_test(tied, 1)[0] > 0.05
    assert list(hardest_set(tied, gen, resamples=999)) == [True, True, False]
    ranks = rank_bootstrap(tied, gen, resamples=999)
    assert 0.05 < ranks["share_rank1"].iloc[0] < 0.95 and ranks["rank_high"].iloc[0] == 2


def test_the_hardest_test_holds_its_level_and_the_set_its_coverage():
    """Group 0 tied for hardest with group 1 (the least favourable case of "group 0 is not the hardest"): the
    intersection-union test says it is the hardest in about 5% of studies or fewer; and the 95% confidence set
    holds the truly hardest group (0) in about 95% of studies or more, though it is picked from the data."""
    gen = rng(5)
    claimed, covered = 0, 0
    for _ in range(60):
        groups = [gen.normal(0.9, 0.02, 30), gen.normal(0.9, 0.02, 30)] + [gen.normal(0.92, 0.02, 30) for _ in range(8)]
        claimed += hardest_test(groups, 0)[0] < 0.05
        covered += bool(hardest_set(groups, gen, resamples=199)[0])
    assert claimed <= 6 and covered >= 54


def test_nearly_constant_easy_groups_do_not_set_the_bar_for_the_hardest():
    """Adding pairs as easy as 0 vs 1 (almost no spread) leaves the confidence set of the hard groups as it was:
    each group's bar comes from its own comparisons."""
    gen = rng(6)
    hard = [gen.normal(m, 0.01, 50) for m in (0.900, 0.903, 0.93, 0.95)]
    easy = [np.r_[np.full(49, 0.999), 0.9995] + k * 1e-4 for k in range(6)]
    alone = hardest_set(hard, rng(7), resamples=999)
    with_easy = hardest_set(hard + easy, rng(7), resamples=999)
    assert list(with_easy[:4]) == list(alone) and not with_easy[4:].any()
    assert hardest_test(hard + easy, 0)[0] == pytest.approx(hardest_test(hard, 0)[0])


# ------------------------------------------------------------------------------ calibration


def synthetic_evaluations(seed: int = 7, n: int = 2000, seeds=(1, 2, 3)) -> list[dict]:
    """Evaluation records of two C3 kinds on ``n`` images: confidences in (0.3, 1], some exactly 1 and some on the
    equal-width bins' edges, each image correct with a probability that rises with its confidence."""
    gen = rng(seed)
    records = []
    for c3, skill in (("sparse", 0.92), ("full", 0.90)):
        for s in seeds:
            confidence = gen.uniform(0.3, 1.0, n)
            confidence[:20] = 1.0
            confidence[20:40] = np.round(confidence[20:40] * 15) / 15
            correct = gen.random(n) < np.minimum(1.0, confidence * skill / 0.8)
            records.append({"c3": c3, "seed": s, "total": n, "confidence": confidence.tolist(),
                            "misclassified_test_indices": np.flatnonzero(~correct).tolist()})
    return records


def _ece_by_bin_means(confidence, correct, n_bins: int = 15) -> float:
    """The ECE as Guo et al. define it, by per-bin means in float64 (equal-width bins): the reference."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    return sum(abs(correct[index == m].mean() - confidence[index == m].mean()) * (index == m).sum()
               for m in range(n_bins) if (index == m).any()) / confidence.size


def test_the_test_set_bootstrap_is_exact():
    """One ECE serves the evaluation record and the test-set bootstrap, and its sums are exact integers, so the
    bootstrap's table has the same bits on any CPU (tests/test_cpu_independence.py lists why). It agrees with the
    ECE by per-bin means in float64 to the fixed-point grid's rounding (2^-33 per confidence), and with the
    float32 products it replaced to their rounding."""
    records = synthetic_evaluations()
    for record in records:
        correct = np.ones(record["total"], dtype=bool)
        correct[record["misclassified_test_indices"]] = False
        assert expected_calibration_error(record["confidence"], correct) == pytest.approx(
            _ece_by_bin_means(record["confidence"], correct), rel=0, abs=2**-32)
    table = lenet_test_set(records, ("sparse", "full"), rng(11), resamples=499)
    nan = math.nan
    # Computed by the float32 matrix products this replaced (on an AVX-512 CPU; an AVX2 one differed in the 8th digit).
    float32_products = {
        "value": [0.06852108240127563, 0.07174823433160782, 0.08397886902093887, 0.08397883921861649,
                  0.011833333333333333, nan],
        "ci95_low": [nan, nan, nan, nan, -0.004775000759400427, 1219.0],
        "ci95_high": [nan, nan, nan, nan, 0.026791672874242077, 1148.0],
        "boot_sd": [0.004496247973293066, 0.00459100678563118, 0.004733238369226456, 0.0046709743328392506, nan, nan],
        "boot_bias": [0.0034065619111061096, 0.003766372799873352, 0.0006705150008201599, 0.0017756223678588867,
                      nan, nan],
    }
    exact = {
        "value": [0.06852107823174447, 0.07174823390343227, 0.08397882769827265, 0.08397882769827265,
                  0.011833333333333333, nan],  # the discordant images' row: two counts, no p-value
        "ci95_low": [nan, nan, nan, nan, -0.004775, 1219.0],
        "ci95_high": [nan, nan, nan, nan, 0.026791666666666675, 1148.0],
        "boot_sd": [0.0044962479225166465, 0.004591006924230894, 0.004733238623617189, 0.00467097456021405, nan, nan],
        "boot_bias": [0.0034065709891124007, 0.003766375475374284, 0.0006705591405621186, 0.0017756357560428648,
                      nan, nan],
    }
    for column, values in exact.items():
        np.testing.assert_array_equal(table[column].to_numpy(dtype=float), values, err_msg=column)
        np.testing.assert_allclose(table[column].to_numpy(dtype=float), float32_products[column], rtol=1e-6,
                                   atol=1e-7, err_msg=column)  # float32's rounding of sums near 0.08
    assert table["c3"].tolist() == ["full", "full", "sparse", "sparse", "sparse - full", "sparse - full"]
    assert lenet_test_set_facts(table) == {
        "lenet_full_ece_images": "6.85% (over test images: SD 0.45 points, resampling bias +0.34 points)",
        "lenet_full_ece_equal_mass_images": "7.17% (over test images: SD 0.46 points, resampling bias +0.38 points)",
        "lenet_sparse_ece_images": "8.40% (over test images: SD 0.47 points, resampling bias +0.07 points)",
        "lenet_sparse_ece_equal_mass_images": "8.40% (over test images: SD 0.47 points, resampling bias +0.18 points)",
        "lenet_test_set": "over test images (seeds fixed) the sparse - full difference of +1.18 points has a 95% "
                          "interval of -0.48 to +2.68 percentage points; pooled over 3 seeds, 1219 images are right "
                          "with sparse and wrong with full, 1148 the reverse (descriptive counts, no test: pooled "
                          "seeds x images are not independent draws)",
    }


def test_the_c3_difference_with_the_test_images_uncertainty_added():
    """The variance sum of the seeds' paired SE (over fixed images) and the images' SE (of each image's seed-mean
    difference), against a direct computation; the interval and the TOST follow from it."""
    from mnistrepro.analysis.stats import seeds_and_images

    gen = np.random.default_rng(7)
    n_images, seeds = 2000, range(12)
    hard = gen.random(n_images) < 0.05  # images either kind may miss
    records, right = [], {}
    for c3 in ("sparse", "full"):
        for s in seeds:
            correct = ~(hard & (gen.random(n_images) < 0.3))
            right[(c3, s)] = correct
            records.append({"c3": c3, "seed": s, "total": n_images,
                            "misclassified_test_indices": np.flatnonzero(~correct).tolist()})
    c = seeds_and_images(records, ("sparse", "full"), margin=0.01)
    per_image = np.array([right[("sparse", s)].astype(float) - right[("full", s)] for s in seeds])
    per_seed = per_image.mean(axis=1)
    seed_se = per_seed.std(ddof=1) / math.sqrt(12)
    image_se = per_image.mean(axis=0).std(ddof=1) / math.sqrt(n_images)
    assert (c.n_seeds, c.n_images) == (12, n_images) and c.difference == pytest.approx(per_seed.mean())
    assert (c.seed_se, c.image_se) == pytest.approx((seed_se, image_se))
    assert c.se == pytest.approx(math.sqrt(seed_se ** 2 + image_se ** 2)) and c.se > max(seed_se, image_se)
    half = scipy_stats.t.ppf(0.975, 11) * c.se
    assert (c.ci95_low, c.ci95_high) == pytest.approx((c.difference - half, c.difference + half))
    upper = scipy_stats.t.sf((0.01 - c.difference) / c.se, 11)
    lower = scipy_stats.t.sf((c.difference + 0.01) / c.se, 11)
    assert c.p_tost == pytest.approx(max(upper, lower))
    assert seeds_and_images(records[:1] + records[12:13], ("sparse", "full"), 0.01) is None  # one shared seed


def test_tost_power_over_the_true_difference_and_the_pilot_sds_interval():
    """The issue's numbers: 26 pairs, margin 0.10 points, α = 0.025, pilot SD 0.150 points from 20 pairs: 81% if
    the two are equal, about 36% at a true 0.05-point gap, about 21% at the upper end of the pilot SD's interval."""
    from mnistrepro.analysis.stats import PLANNING_SD_PAIRS, equivalence_power_table, sd_interval

    assert equivalence_power(0.0015, 26, 0.001, 0.025, true_difference=0.0) == equivalence_power(0.0015, 26, 0.001,
                                                                                                  0.025)
    assert equivalence_power(0.0015, 26, 0.001, 0.025, 0.0005) == pytest.approx(0.358, abs=0.005)
    low, high = sd_interval(0.0015, 20)
    assert (low, high) == pytest.approx((0.0015 * math.sqrt(19 / scipy_stats.chi2.ppf(0.975, 19)),
                                         0.0015 * math.sqrt(19 / scipy_stats.chi2.ppf(0.025, 19))))
    table = equivalence_power_table(0.0015, PLANNING_SD_PAIRS, 26, 0.001, 0.025)
    power = table.pivot(index="true_difference", columns="sd_role", values="power")
    assert list(power.index) == pytest.approx([0, 0.00025, 0.0005, 0.00075, 0.001])
    assert power.loc[0.0, "pilot"] == pytest.approx(0.808, abs=0.005)
    assert power.loc[0.0, "high"] == pytest.approx(0.209, abs=0.005) and power.loc[0.0, "low"] > 0.95
    # Power falls as the true difference grows, and at the margin it is about the level (the TOST's size).
    for role in ("low", "pilot", "high"):
        assert (np.diff(power[role].to_numpy()) < 0).all()
    assert power.loc[0.001].max() <= 0.025 + 1e-9
    # The formula against the study's own TOST on simulated pairs with a true difference of half the margin.
    gen = rng(9)
    shown = np.mean([equivalence_test(gen.normal(0.0005, 0.0015, 26), 0.001).p_value < 0.025 for _ in range(2000)])
    assert shown == pytest.approx(equivalence_power(0.0015, 26, 0.001, 0.025, 0.0005), abs=0.04)
