"""Summaries and comparisons on small synthetic run tables with hand-computed answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mnistrepro.stats import compare, summarize, t_interval, verdict

T_975_DF4 = 2.7764451051977987  # Student-t 97.5% quantile, 4 degrees of freedom (tables: 2.776)


def test_t_interval_by_hand():
    mean, low, high = t_interval([1, 2, 3, 4, 5])
    half = T_975_DF4 * math.sqrt(2.5) / math.sqrt(5)
    assert mean == 3
    assert low == pytest.approx(3 - half) and high == pytest.approx(3 + half)
    assert low == pytest.approx(1.0368, abs=1e-4)


def test_t_interval_single_value_has_no_interval():
    mean, low, high = t_interval([0.5])
    assert mean == 0.5 and math.isnan(low) and math.isnan(high)


def test_summarize_groups_and_statistics():
    runs = pd.DataFrame({
        "loss": ["mse"] * 5 + ["ce"] * 3,
        "seed": [0, 1, 2, 3, 4, 0, 1, 2],
        "test_accuracy": [1, 2, 3, 4, 5, 0.9, 0.9, 0.9],
        "train_seconds": [1.0] * 5 + [2.0, 4.0, 6.0],
        "trainable_params": [785] * 8,
    })
    summary = summarize(runs, ["loss"]).set_index("loss")
    mse, ce = summary.loc["mse"], summary.loc["ce"]
    assert mse["n"] == 5 and mse["mean"] == 3 and mse["std"] == pytest.approx(math.sqrt(2.5))
    assert mse["ci95_high"] == pytest.approx(3 + T_975_DF4 * math.sqrt(0.5))
    assert mse["min"] == 1 and mse["max"] == 5
    assert ce["n"] == 3 and ce["std"] == 0 and ce["ci95_low"] == pytest.approx(0.9)
    assert ce["mean_train_seconds"] == 4.0 and ce["trainable_params"] == 785


SEEDS = range(8)
BASE = pd.Series([0.90, 0.93, 0.91, 0.95, 0.92, 0.94, 0.90, 0.96], index=SEEDS)
NOISE = pd.Series([0.004, -0.003, 0.002, -0.004, 0.003, -0.002, 0.001, -0.001], index=SEEDS)


def test_real_difference_is_flagged_significant():
    better = BASE + 0.02 + NOISE
    c = compare(better, BASE)
    assert c.paired and c.test == "paired t-test"
    assert c.difference == pytest.approx(0.02)
    assert c.ci95_low > 0 and c.significant
    assert verdict("A", "B", c).startswith("A is more accurate than B by 2.00 percentage points")


def test_no_difference_is_not_flagged():
    c = compare(BASE + NOISE, BASE)
    assert c.difference == pytest.approx(0.0, abs=1e-12)
    assert c.ci95_low < 0 < c.ci95_high and not c.significant
    assert verdict("A", "B", c).startswith("no significant difference between A and B")


def test_pairing_matters_when_seeds_share_variation():
    # The seed-to-seed spread (BASE) hides a small consistent difference from an unpaired test.
    small = BASE + 0.005 + NOISE / 4
    paired = compare(small, BASE)
    unpaired = compare(small.reset_index(drop=True), BASE.set_axis(range(100, 108)))
    assert paired.significant and not unpaired.significant
    assert unpaired.test == "Welch t-test"


def test_identical_differences_have_defined_p_values():
    assert compare(BASE + 0.01, BASE).p_value == 0.0
    assert compare(BASE, BASE).p_value == 1.0


def test_too_few_runs_cannot_be_tested():
    c = compare(pd.Series([0.9], index=[0]), pd.Series([0.8], index=[0]))
    assert math.isnan(c.p_value) and verdict("A", "B", c).startswith("cannot test")
