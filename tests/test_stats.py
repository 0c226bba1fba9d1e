"""Summaries, intervals, tests and adjustments on small cases with textbook answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mnistrepro.stats import (adjust, bootstrap_interval, compare, escape_threshold, holm, sign_flip_interval,
                              minimum_detectable_difference, smallest_p, summarize, verdict, wilson_interval)


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


# ------------------------------------------------------------------------------ escape threshold


def test_escape_threshold_is_the_valley_between_the_modes():
    stuck = [0.4932, 0.5068] * 10
    escaped = [0.75, 0.78, 0.8, 0.85, 0.9]
    threshold = escape_threshold(stuck + escaped, chance=0.5068)
    assert 0.5068 < threshold < 0.75
    # A third mode of well-trained runs does not move it out of the valley.
    assert 0.5068 < escape_threshold(stuck + escaped + [0.92, 0.93, 0.94] * 20, chance=0.5068) < 0.75
    # No run above chance: every run is stuck, whatever the threshold.
    assert escape_threshold(stuck, chance=0.5068) == 0.5068


# ------------------------------------------------------------------------------ tests and adjustment


def test_exact_permutation_textbook_value():
    # Five positive paired differences: of the 2^5 sign patterns, only all-plus and all-minus are
    # as extreme, so the exact two-sided p is 2/32.
    a = pd.Series([0.91, 0.92, 0.93, 0.94, 0.95])
    c = compare(a, a - [0.01, 0.02, 0.03, 0.04, 0.05], rng())
    assert c.paired and c.test == "paired permutation test (exact)"
    assert c.p_value == pytest.approx(2 / 32) and smallest_p(5) == pytest.approx(2 / 32)
    assert c.difference == pytest.approx(0.03)
    # One negative difference of the smallest size: 4 patterns of 32 are at least as extreme.
    c = compare(a, a - [-0.01, 0.02, 0.03, 0.04, 0.05], rng())
    assert c.p_value == pytest.approx(4 / 32)


def test_holm_textbook_values():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    adjusted = holm([0.01, math.nan, 0.02])
    assert math.isnan(adjusted[1]) and adjusted[[0, 2]] == pytest.approx([0.02, 0.02])


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
    real = compare(BASE + 0.02 + NOISE, BASE, rng())
    null = compare(BASE + NOISE, BASE, rng())
    other_null = compare(BASE - NOISE / 2, BASE, rng())
    real, null, other_null = adjust([real, null, other_null])
    assert real.p_holm >= real.p_value and real.ci95_low > 0 and real.significant
    assert null.p_holm >= null.p_value and not null.significant and null.ci95_low < 0 < null.ci95_high
    assert not other_null.significant
    assert verdict("A", "B", real).startswith("A is more accurate than B by 2.00 percentage points")
    text = verdict("A", "B", null)
    assert text.startswith("no significant difference between A and B") and "Holm p" in text
    assert f"detects {100 * null.mdd:.2f} percentage points with 80% power" in text and 0 < null.mdd < 0.02


def test_adjustment_can_remove_significance():
    # p = 0.03 alone is significant; among three comparisons Holm makes it 0.09.
    c = compare(BASE + 0.02 + NOISE, BASE, rng())
    lone = adjust([type(c)(**{**c.__dict__, "p_value": 0.03})])[0]
    many = adjust([type(c)(**{**c.__dict__, "p_value": p}) for p in (0.03, 0.5, 0.8)])[0]
    assert lone.significant and not many.significant and many.p_holm == pytest.approx(0.09)


def test_unpaired_samples_use_the_two_sample_permutation_test():
    small = BASE + 0.005 + NOISE / 4
    unpaired = compare(small.reset_index(drop=True), BASE.set_axis(range(100, 112)), rng())
    assert not unpaired.paired and unpaired.test == "permutation test" and unpaired.p_value > 0.05
    paired = compare(small, BASE, rng())
    assert paired.p_value < 0.001  # pairing removes the seed-to-seed spread


def test_identical_differences_have_defined_p_values():
    assert compare(BASE + 0.01, BASE, rng()).p_value == 0.0
    assert compare(BASE, BASE, rng()).p_value == 1.0


def test_three_seeds_cannot_be_significant_and_the_verdict_says_so():
    a = pd.Series([0.986, 0.984, 0.988])
    (c,) = adjust([compare(a, a - 0.002, rng())])  # constant difference: p = 0 by definition
    assert c.significant
    (c,) = adjust([compare(a, a - [0.002, 0.001, 0.003], rng())])
    assert c.p_value == pytest.approx(0.25) and not c.significant and math.isinf(c.mdd)
    assert "with n = 3 no difference could be significant (smallest possible p = 0.25)" in verdict("A", "B", c)


def test_too_few_runs_cannot_be_tested():
    c = compare(pd.Series([0.9], index=[0]), pd.Series([0.8], index=[0]), rng())
    assert math.isnan(c.p_value) and verdict("A", "B", c).startswith("cannot test")


def test_exact_interval_agrees_with_the_exact_test():
    # Eight differences: the exact test can reach 5% (smallest p = 2/256), so the inverted
    # interval is finite, inside the data's range, and excludes 0 exactly when p < 0.05.
    d = np.array([0.004, 0.007, -0.001, 0.003, 0.006, 0.002, 0.005, 0.001])
    low, high = sign_flip_interval(d)
    c = compare(pd.Series(0.9 + d), pd.Series([0.9] * 8), rng())
    assert (c.ci95_low, c.ci95_high) == pytest.approx((low, high), abs=1e-12)
    assert d.min() <= low < d.mean() < high <= d.max()
    assert c.p_value < 0.05 and low > 0
    shifted = compare(pd.Series(0.9 + d - 0.0025), pd.Series([0.9] * 8), rng())
    assert shifted.p_value > 0.05 and shifted.ci95_low < 0 < shifted.ci95_high
    # Three values of one sign: a bootstrap interval would exclude 0, but p = 0.25; the test's
    # interval is every possible difference.
    assert sign_flip_interval([-0.002, -0.001, -0.003]) == (-1.0, 1.0)
