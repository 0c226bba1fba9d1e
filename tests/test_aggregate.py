"""Aggregation from run records (as the training rules write them) to the study's tables."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnistrepro.analysis.comparisons import study_comparisons
from mnistrepro.analysis.facts import Facts, MissingFactError, study_config
from mnistrepro.analysis.definitions import ALPHA, P_PRINT_FLOOR, SeedsAndImages
from mnistrepro.analysis.planning import sample_size
from mnistrepro.analysis.stats import (equivalence_power, equivalence_required_n, expected_calibration_error,
                                       lenet_test_set, minimum_detectable_difference, required_n,
                                       same_verdict_in_any_family)
from mnistrepro.outputs.aggregate import (comparisons_table, escape_sensitivity, escape_table, pair_difficulty,
                                          params_table, run_columns, runs_table, summary_table)
from mnistrepro.outputs.findings import README_BLOCK, RESULTS_FACTS, load_config
from mnistrepro.report.findings import FIGURE_DIR, RESULTS_PAGE, readme_results, results_page
from mnistrepro.report.glance import GLANCE_FIGURES, SEED_CLAIMS, glance_facts, glance_rows
from mnistrepro.report.lenet_test_set import lenet_test_set_facts
from mnistrepro.report.study import family_facts, headline_facts, identity_facts, lenet_facts
from mnistrepro.study.choices import LOSSES
from mnistrepro.study.rule_benchmarks import rule_benchmarks
from conftest import registered_metrics


def ece_equal_mass(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-mass bins (each holds the same number of images, by confidence rank)."""
    order = np.argsort(confidence, kind="stable")
    bins = np.array_split(order, n_bins)
    n = confidence.size
    return float(sum(b.size / n * abs(correct[b].mean() - confidence[b].mean()) for b in bins if b.size))


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def lenet_words(runs: pd.DataFrame, comparisons: pd.DataFrame, target_difference: float = 0.002,
                planning_sd: float | None = None, equivalence_margin: float | None = None, **more) -> dict[str, str]:
    """LeNet-5's facts as aggregate_study makes them: the sample size computed (mnistrepro.analysis.planning),
    then worded (mnistrepro.report.study.lenet_facts)."""
    planned = sample_size(runs, comparisons, target_difference, planning_sd, equivalence_margin)
    return lenet_facts(runs, comparisons, planned, **more)


def logreg_record(loss, scaling, seed, acc_1000, acc_final, digits=(4, 9)):
    evals = [
        {"step": 1000, **registered_metrics("logreg", test_accuracy=acc_1000), "test_loss": 1.0,
         "correct": round(acc_1000 * 1991), "total": 1991, "train_seconds": 0.1},
        {"step": 10000, **registered_metrics("logreg", test_accuracy=acc_final), "test_loss": 0.5,
         "correct": round(acc_final * 1991), "total": 1991, "train_seconds": 1.0},
    ]
    return {"loss": loss, "scaling": scaling, "digits": list(digits), "seed": seed, "device": "cpu", "evals": evals}


def lenet_records(c3, seed, accuracy, ece):
    """(training.json, evaluation.json) of one LeNet-5 run, the fields aggregation reads."""
    training = {"c3": c3, "seed": seed, "epochs": 10, "trainable_params": {"sparse": 60806, "full": 61706}[c3],
                "train_seconds": 60.0 + seed, "device": "cpu"}
    evaluation = {"c3": c3, "seed": seed, "epochs": 10, "test_loss": 0.05, "correct": round(accuracy * 10000),
                  "total": 10000, **registered_metrics("lenet", test_accuracy=accuracy, top2_accuracy=accuracy + 0.01, ece=ece),
                  "eval_device": "cuda:0 (evaluated elsewhere)"}
    return training, evaluation


@pytest.fixture
def runs() -> pd.DataFrame:
    # MSE: 0.50, 0.60, 0.70 at 10,000 steps; CE: MSE + 0.30 (+-0.01), a real paired difference.
    logreg = [logreg_record("mse", "raw", s, 0.5, 0.5 + 0.1 * s) for s in range(3)]
    logreg += [logreg_record("ce", "raw", s, 0.9, 0.8 + 0.1 * s + d) for s, d in zip(range(3), (0.0, 0.01, -0.01))]
    sweep = [logreg_record("ce", "raw", s, acc, acc, digits)
             for digits, accs in [((4, 9), (0.90, 0.92)), ((0, 1), (0.99, 1.0)), ((7, 9), (0.80, 0.84))]
             for s, acc in enumerate(accs)]
    # LeNet: sparse and full differ by noise only.
    # ECE: full C3 is worse calibrated than sparse by 0.02 in every seed: a difference even 3 seeds
    # can show (a constant paired difference has p = 0; otherwise 3 seeds give p >= 0.25).
    lenet = [lenet_records("sparse", s, a, e) for s, a, e in zip(range(3), (0.986, 0.984, 0.988), (0.01, 0.02, 0.03))]
    lenet += [lenet_records("full", s, a, e) for s, a, e in zip(range(3), (0.987, 0.985, 0.986), (0.03, 0.04, 0.05))]
    return runs_table(logreg, sweep, lenet)


def test_runs_table_has_a_row_per_evaluation(runs):
    assert list(runs.columns) == run_columns()
    assert len(runs) == 6 * 2 + 6 * 2 + 6
    lenet = runs[runs["experiment"] == "lenet"]
    assert set(lenet["trainable_params"]) == {60806, 61706} and lenet["steps"].isna().all()
    assert set(runs.loc[runs["experiment"] == "pair_sweep", "pair"]) == {"4-9", "0-1", "7-9"}
    # LeNet rows: test metrics from the evaluation record, time and device from the training record.
    sparse0 = lenet[(lenet["c3"] == "sparse") & (lenet["seed"] == 0)].iloc[0]
    assert sparse0["test_accuracy"] == 0.986 and sparse0["correct"] == 9860 and sparse0["total"] == 10000
    assert sparse0["top2_accuracy"] == pytest.approx(0.996) and sparse0["ece"] == 0.01
    assert sparse0["train_seconds"] == 60.0 and sparse0["device"] == "cpu"
    assert runs.loc[runs["experiment"] != "lenet", ["top2_accuracy", "ece"]].isna().all().all()


def test_lenet_row_refuses_records_of_different_runs():
    training, _ = lenet_records("sparse", 0, 0.98, 0.01)
    _, evaluation = lenet_records("sparse", 1, 0.98, 0.01)
    with pytest.raises(ValueError, match="paired with the evaluation"):
        runs_table(lenet=[(training, evaluation)])


def test_summary_means_stds_and_intervals(runs):
    summary = summary_table(runs, rng())
    mse = summary[(summary["loss"] == "mse") & (summary["steps"] == 10000) & (summary["experiment"] == "logreg")].iloc[0]
    assert mse["n"] == 3
    assert mse["mean"] == pytest.approx(0.6)
    assert mse["std"] == pytest.approx(0.1)
    # Three seeds: a Student-t interval of the mean of 0.5, 0.6, 0.7 (0.6 +- 4.3027 * 0.1 / sqrt(3)), not a
    # percentile bootstrap (which would be about the range 0.5 to 0.7).
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert (mse["ci95_low"], mse["ci95_high"]) == pytest.approx((0.6 - half, 0.6 + half), abs=1e-6)
    assert mse["ci_method"].startswith("Student t")
    # Every interval of the table stays inside [0, 1], even the sweep's pair at 99-100%.
    assert summary["ci95_low"].between(0, 1).all() and summary["ci95_high"].between(0, 1).all()
    assert summary[summary["pair"] == "0-1"]["ci95_high"].iloc[0] <= 1.0
    assert mse["mean_train_seconds"] == pytest.approx(1.0) and mse["trainable_params"] == 785
    sparse = summary[summary["c3"] == "sparse"].iloc[0]
    assert sparse["mean"] == pytest.approx(0.986) and sparse["std"] == pytest.approx(0.002)
    assert sparse["mean_train_seconds"] == pytest.approx(61.0) and sparse["trainable_params"] == 60806
    assert sparse["mean_ece"] == pytest.approx(0.02) and sparse["mean_top2_accuracy"] == pytest.approx(0.996)
    assert math.isnan(mse["mean_ece"]) and math.isnan(mse["mean_top2_accuracy"])
    # The ECE's interval over seeds (three: Student t), none where the experiment records no ECE.
    assert sparse["ece_ci_method"].startswith("Student t") and sparse["ece_ci95_low"] < 0.02 < sparse["ece_ci95_high"]
    assert math.isnan(mse["ece_ci95_low"]) and pd.isna(mse["ece_ci_method"])


def test_ece_is_described_not_tested_and_worded_by_the_same_function(runs):
    comparisons = comparisons_table(runs, [1000, 10000])
    ece = comparisons[comparisons["key"] == "c3_sparse_vs_full_ece"].iloc[0]
    assert ece["metric"] == "ece" and ece["comparison"] == "C3 connection table"
    # Calibration answers no claim of the seed: descriptive, an interval and no p-value in any family.
    assert ece["family"] == "descriptive" and ece["role"] == "descriptive" and not bool(ece["significant"])
    assert math.isnan(ece["p_value"]) and math.isnan(ece["p_holm"]) and ece["family_size"] == 0
    assert ece["difference"] == pytest.approx(-0.02)
    assert ece["verdict"] == ("sparse C3 - full C3: -2.00 percentage points in ECE (95% CI -2.00 to -2.00, "
                              "n = 3/3; descriptive)")
    facts = headline_facts(summary_table(runs, rng()), comparisons, pair_difficulty(runs))
    assert facts["lenet_sparse_ece"] == "2.00%" and facts["lenet_sparse_top2"] == "99.60%"
    # Three seeds: the ECE's interval is a labelled Student-t interval, not a percentile bootstrap.
    assert facts["lenet_sparse_ece_ci"].endswith("; Student t, n = 3")


def test_lenet_verdict_equivalence_and_sample_size():
    """Ten paired seeds: the C3 family is the TOST (primary) and the paired difference, Holm over 2; the verdict
    gives both; the plan states its SD, level and power, and the achieved power is labelled as such."""
    gen = np.random.default_rng(3)
    base = 0.987 + 0.001 * gen.standard_normal(10)
    diff = 0.0003 * gen.standard_normal(10)
    lenet = [lenet_records("sparse", s, float(a + d), 0.01) for s, (a, d) in enumerate(zip(base, diff))]
    lenet += [lenet_records("full", s, float(a), 0.01 + 0.0001 * s) for s, a in enumerate(base)]
    runs = runs_table(lenet=lenet)
    comparisons = comparisons_table(runs, [], equivalence_margin=0.001)
    assert list(comparisons["key"]) == ["c3_sparse_vs_full_equivalence", "c3_sparse_vs_full", "c3_sparse_vs_full_ece"]
    assert list(comparisons["role"]) == ["primary", "secondary", "descriptive"]
    assert list(comparisons["family_size"]) == [2, 2, 0]
    tost = comparisons.set_index("key").loc["c3_sparse_vs_full_equivalence"]
    assert tost["verdict"].startswith("equivalent within ±0.10 percentage points (TOST p = ")
    assert "(family of 2)" in tost["verdict"]
    facts = lenet_words(runs, comparisons, equivalence_margin=0.001)
    verdict = facts["c3_sparse_vs_full_claim"]
    assert verdict.startswith("equivalent within ±0.10 percentage points")
    assert "no significant difference between sparse C3 and full C3" in verdict and "with 80% power" in verdict
    sd = float(np.std(diff, ddof=1))
    assert facts["lenet_paired_sd"] == f"{100 * sd:.3f} points (n = 10 pairs)"
    assert facts["lenet_n_plan"] == ("no plan: stats.planning_paired_sd is not set, so this study's 10 pairs were "
                                     "not planned")
    assert facts["lenet_achieved"].startswith(
        f"achieved, post hoc (from this study's own paired SD of {100 * sd:.3f} points over 10 pairs, after the runs, not a "
        "plan), at the C3 family's strictest Holm level, α = 0.05 / 2")
    # A planning SD from the config gives the plan, at the family's level: the n the TOST needs.
    plan = lenet_words(runs, comparisons, planning_sd=0.0015, equivalence_margin=0.001)["lenet_n_plan"]
    n = equivalence_required_n(0.0015, 0.001, 0.05 / 2)
    assert plan.startswith("planned before the runs from the paired pilot SD of 0.150 points")
    assert f"(TOST) if the two are equally accurate needs n = {n} pairs" in plan
    assert plan.endswith("this study has 10 pairs")


def ten_paired_lenet_runs() -> tuple[pd.DataFrame, np.ndarray]:
    """Ten LeNet-5 seeds of each C3 kind, paired by seed: the runs table, and each pair's sparse - full difference."""
    gen = np.random.default_rng(3)
    base = 0.987 + 0.001 * gen.standard_normal(10)
    diff = 0.0003 * gen.standard_normal(10)
    lenet = [lenet_records("sparse", s, float(a + d), 0.01) for s, (a, d) in enumerate(zip(base, diff))]
    lenet += [lenet_records("full", s, float(a), 0.01) for s, a in enumerate(base)]
    return runs_table(lenet=lenet), diff


def test_the_sample_size_is_computed_in_the_analysis_layer(runs):
    """mnistrepro.analysis.planning.sample_size: the numbers the facts word, at the C3 family's strictest Holm level:
    the plan from the config's pilot SD (None where no practical n suffices), and what the study's own pairs achieve."""
    ten, diff = ten_paired_lenet_runs()
    comparisons = comparisons_table(ten, [], equivalence_margin=0.001)
    planned = sample_size(ten, comparisons, 0.002, planning_sd=0.0015, equivalence_margin=0.001)
    sd, level = float(np.std(diff, ddof=1)), ALPHA / 2  # Holm's strictest level of a family of 2
    assert (planned.n_pairs, planned.family_size, planned.alpha, planned.power) == (10, 2, level, 0.8)
    assert planned.paired_sd == pytest.approx(sd)
    assert planned.planned_equivalence_n == equivalence_required_n(0.0015, 0.001, level)
    assert planned.planned_difference_n == required_n(0.0015, 0.002, level)
    assert planned.achieved_mdd == minimum_detectable_difference(planned.paired_sd, 10, level)
    assert planned.achieved_equivalence_power == equivalence_power(planned.paired_sd, 10, 0.001, level)
    # No plan: nothing planned, the achieved power still; a pilot SD too wide for any practical n: None.
    unplanned = sample_size(ten, comparisons, 0.002, planning_sd=None, equivalence_margin=0.001)
    assert (unplanned.planned_difference_n, unplanned.planned_equivalence_n) == (None, None)
    assert unplanned.achieved_mdd == planned.achieved_mdd
    wide = sample_size(ten, comparisons, 0.002, planning_sd=0.2, equivalence_margin=0.001)
    assert wide.planned_equivalence_n is None and wide.planned_difference_n is None
    # No primary test in a C3 family (without a margin there is no TOST, its primary), or no LeNet-5 runs: None.
    assert sample_size(ten, comparisons_table(ten, []), 0.002, 0.0015, None) is None
    logreg = runs[runs["experiment"] != "lenet"]
    assert sample_size(logreg, comparisons_table(logreg, [10000]), 0.002, 0.0015, 0.001) is None


def test_the_c3_claim_states_its_population_the_image_uncertainty_and_the_tosts_fragility():
    """The C3 claim's line says the verdict is about the MNIST test set (seeds vary, the images do not) and adds the
    images' uncertainty (variance sum) with whether the interval stays inside the margin; the sample-size facts give
    the TOST's power over true differences and the pilot SD's interval, and why Holm stays over the two C3 tests."""
    from mnistrepro.outputs.aggregate import tost_power_table

    runs, _ = ten_paired_lenet_runs()
    comparisons = comparisons_table(runs, [], equivalence_margin=0.001)
    images = SeedsAndImages(10, 10000, 0.0001, 0.00028, 0.0002, 0.000344, -0.00068, 0.00088, 0.001, 0.004)
    table = tost_power_table(comparisons, 0.15, 0.001)
    assert set(table["n"]) == {10} and table["alpha"].to_numpy() == pytest.approx(0.025)
    facts = lenet_words(runs, comparisons, planning_sd=0.0015, equivalence_margin=0.001, seeds_images=images,
                        power_table=table)
    claim = facts["c3_sparse_vs_full_claim"]
    assert "n = 10 pairs) on the MNIST test set (seeds vary, the test images do not); with the test images" in claim
    assert ("with the test images' own uncertainty added (variance sum, conservative: SE 0.028 points over 10 seeds "
            "and 0.020 over 10,000 images), the difference's 95% interval is -0.07 to +0.09 percentage points, still "
            "inside ±0.10 (TOST p = 0.004)") in claim
    wide = SeedsAndImages(10, 10000, 0.0001, 0.0005, 0.0004, 0.00064, -0.0013, 0.0015, 0.001, 0.2)
    assert "not inside ±0.10: over other test images like these, equivalence is not shown" in lenet_words(
        runs, comparisons, equivalence_margin=0.001, seeds_images=wide)["c3_sparse_vs_full_claim"]
    power = facts["lenet_tost_power"]
    assert power.startswith("the TOST's power for this study's 10 pairs within ±0.10 points at α = 0.025, by true "
                            "difference (0 to the margin) and paired SD (the pilot's 0.150 points and its 95% "
                            "interval, 0.114 to 0.219 points")
    assert "true difference 0.000 points: " in power and "true difference 0.100 points: " in power
    assert "cannot both hold" in facts["c3_family_holm"] and "they hold at either level" in facts["c3_family_holm"]
    assert tost_power_table(comparisons, None, 0.001) is None


def test_lenet_test_set_uncertainty_and_ece_binnings():
    gen = np.random.default_rng(0)
    n = 400
    evaluations = []
    for c3, error in (("sparse", 0.05), ("full", 0.04)):
        for seed in range(3):
            correct = gen.random(n) > error
            confidence = np.clip(np.where(correct, 0.97, 0.7) + 0.02 * gen.standard_normal(n), 0.11, 1.0)
            evaluations.append({"c3": c3, "seed": seed, "total": n, "confidence": confidence.tolist(),
                                "misclassified_test_indices": np.flatnonzero(~correct).tolist()})
    table = lenet_test_set(evaluations, ("sparse", "full"), np.random.default_rng(1), resamples=499)
    facts = lenet_test_set_facts(table)
    ece = table[table["quantity"].str.startswith("ECE")].set_index(["quantity", "c3"])
    # The equal-mass ECE of the whole test set, as a direct computation gives it.
    first = evaluations[0]
    correct0 = np.ones(n, bool)
    correct0[first["misclassified_test_indices"]] = False
    direct = np.mean([ece_equal_mass(np.asarray(e["confidence"]),
                                     ~np.isin(np.arange(n), e["misclassified_test_indices"]))
                      for e in evaluations[:3]])
    row = ece.loc[("ECE, 15 equal-mass bins", "sparse")]
    # No interval for the ECE (biased upwards: its bootstrap can lie wholly above it), its SD and bias instead.
    assert row["value"] == pytest.approx(direct) and np.isnan(row["ci95_low"]) and np.isnan(row["ci95_high"])
    assert row["boot_sd"] > 0 and abs(row["boot_bias"]) < row["value"]
    diff = table[table["quantity"] == "accuracy difference, sparse - full"].iloc[0]
    assert diff["ci95_low"] < diff["value"] < diff["ci95_high"] and diff["n_images"] == n
    # The discordant images: two counts, descriptive; no p-value (seeds x images are not independent draws).
    discordant = table[table["quantity"].str.startswith("discordant images")].iloc[0]
    assert np.isnan(discordant["value"]) and discordant["ci95_low"] + discordant["ci95_high"] > 0
    assert "descriptive counts, no test" in facts["lenet_test_set"] and "resampling bias" in facts["lenet_sparse_ece_images"]
    assert "McNemar" not in facts["lenet_test_set"] and "p =" not in facts["lenet_test_set"]


def test_comparisons_test_each_claim_in_its_own_family_at_the_final_step(runs):
    comparisons = comparisons_table(runs, [1000, 10000]).set_index(["comparison", "steps"], drop=False)
    loss = comparisons.loc[("loss", 10000)]
    assert loss["difference"] == pytest.approx(0.30) and loss["test"] == "paired sign-flip test (exact)"
    assert (loss["family"], loss["role"], loss["family_size"]) == ("loss", "primary", 1)
    # Three seeds: 8 sign patterns, so the smallest possible p is 2/8; nothing can be significant.
    assert loss["p_value"] == pytest.approx(0.25) and not loss["significant"]
    assert loss["mdd"] == math.inf and "with n = 3 no difference could be significant" in loss["verdict"]
    c3 = comparisons[comparisons["key"] == "c3_sparse_vs_full"].iloc[0]
    assert c3["difference"] == pytest.approx(0.0, abs=1e-12) and not c3["significant"] and c3["family"] == "c3"
    assert c3["verdict"].startswith("no significant difference between sparse C3 and full C3")
    # At 1,000 steps, the same runs read earlier: descriptive, an interval and no p-value in any family.
    at_1000 = comparisons.loc[("loss", 1000)]
    assert at_1000["family"] == "descriptive" and math.isnan(at_1000["p_value"]) and math.isnan(at_1000["p_holm"])
    assert not bool(at_1000["significant"]) and at_1000["verdict"].endswith("descriptive)")
    tested = comparisons[comparisons["family"] != "descriptive"]
    assert (tested["p_holm"] >= tested["p_value"]).all() and (tested["p_holm"] <= 1).all()


def test_no_descriptive_result_carries_a_family_p_value():
    """Whatever the configuration: a row outside the families has no p-value, Holm value or family size, and its
    sentence quotes none; every family member has them."""
    gen = np.random.default_rng(2)
    records = [logreg_record(loss, scaling, s, 0.5 + 0.3 * (loss == "ce") + 0.01 * gen.standard_normal(),
                             0.6 + 0.3 * (loss == "ce") + 0.01 * gen.standard_normal())
               for loss in LOSSES for scaling in ("raw", "unit") for s in range(20)]
    sweep = [logreg_record("ce", "raw", s, a, a + 0.01, d) for d, m in (((4, 9), 0.9), ((0, 1), 0.99), ((3, 5), 0.92))
             for s, a in enumerate(0.01 * gen.standard_normal(30) + m)]
    lenet = [lenet_records(c3, s, 0.987 + 0.001 * gen.standard_normal(), 0.01) for c3 in ("sparse", "full")
             for s in range(16)]
    runs = runs_table(records, sweep, lenet)
    table = comparisons_table(runs, [1000, 10000], main_pair="4-9", equivalence_margin=0.001)
    descriptive = table[table["family"] == "descriptive"]
    members = table[table["family"] != "descriptive"]
    assert len(descriptive) >= 5 and set(members["family"]) == {"loss", "c3", "hardest_pair"}
    assert descriptive[["p_value", "p_holm"]].isna().all().all() and (descriptive["family_size"] == 0).all()
    assert not descriptive["verdict"].str.contains("p =|p ≤|p <|Holm").any()
    assert members[["p_value", "p_holm"]].notna().all().all()
    assert members["verdict"].str.contains("Holm p").all()
    # Each family at its claim's last step count or epoch only.
    assert set(members.loc[members["family"] == "loss", "steps"]) == {10000}
    assert set(members.loc[members["family"] == "hardest_pair", "steps"]) == {10000}
    for family, size in members.groupby("family")["family_size"].first().items():
        assert size == (members["family"] == family).sum()


def test_the_families_say_which_was_fixed_in_advance_and_whether_a_verdict_depends_on_it():
    """Only the C3 family was fixed before its runs were analysed; the loss and hardest-pair families were chosen
    after earlier looks at the same runs. The families' fact says so per family, and says that no verdict depends on
    it only where every verdict of a family chosen after is the same in any family of the table's comparisons."""
    gen = np.random.default_rng(2)
    records = [logreg_record(loss, "raw", s, 0.5, 0.6 + 0.3 * (loss == "ce") + 0.01 * gen.standard_normal())
               for loss in LOSSES for s in range(20)]
    sweep = [logreg_record("ce", "raw", s, a, a, d) for d, m in (((4, 9), 0.93), ((0, 1), 0.99), ((3, 5), 0.92))
             for s, a in enumerate(0.01 * gen.standard_normal(30) + m)]
    lenet = [lenet_records(c3, s, 0.987 + 0.001 * gen.standard_normal(), 0.01) for c3 in ("sparse", "full")
             for s in range(16)]
    table = comparisons_table(runs_table(records, sweep, lenet), [10000], main_pair="4-9",
                              equivalence_margin=0.001)
    chosen_after = table[table["family"].isin(["loss", "hardest_pair"])]
    assert chosen_after["same_verdict_any_family"].all() and table.loc[table["family"] == "descriptive",
                                                                         "same_verdict_any_family"].isna().all()
    families = family_facts(table)["families"]
    assert "the C3 claim (LeNet-5, last epoch): Holm over 2 tests (fixed before its runs were analysed)" in families
    assert ("the loss claim (logistic regression on the main pair, last step count): Holm over 1 test (chosen after "
            "earlier looks at the same deterministic runs)") in families
    assert ("The C3 claim was fixed before its runs were analysed; the loss claim and the hardest-pair claim were "
            "first analysed under one Holm family of every claim, and their families were chosen after those looks at "
            "the same deterministic runs; no verdict depends on it") in families
    assert "fixed in advance" not in families
    # A verdict of a family chosen after the looks that another family would change: named, and no claim that none is.
    table.loc[table["family"] == "loss", "same_verdict_any_family"] = False
    families = family_facts(table)["families"]
    assert "no verdict depends on it" not in families
    assert families.endswith(f"these verdicts could differ in another family of at most the {len(table)} comparisons: "
                             "logistic loss (raw) vs MSE loss (raw), 10,000 steps")


def test_same_verdict_in_any_family():
    assert same_verdict_in_any_family(1e-106, True, 20) and not same_verdict_in_any_family(0.003, True, 20)
    assert same_verdict_in_any_family(0.9975, False, 20) and not same_verdict_in_any_family(0.04, False, 20)


def test_a_printed_p_value_that_is_a_bound_says_so():
    """Every p-value and Holm value the comparisons print: "p ≤" or "p <" exactly where the table flags a bound,
    "p =" elsewhere. A 200-seed loss difference of 40 points with little spread has a t-test p below the smallest
    double, which prints as a bound, and so does every Holm value it enters."""
    gen = np.random.default_rng(4)
    records = [logreg_record(loss, "raw", s, 0.5, 0.5 + 0.4 * (loss == "ce") + 0.001 * gen.standard_normal())
               for loss in LOSSES for s in range(200)]
    records += [logreg_record(loss, "unit", s, 0.5, 0.9 + 0.01 * gen.standard_normal())
                for loss in LOSSES for s in range(200)]
    table = comparisons_table(runs_table(records), [1000, 10000])
    members = table[table["family"] != "descriptive"]
    assert members["p_bound"].any() and not members["p_bound"].all()
    for row in members.itertuples(index=False):
        holm_text = re.search(r"Holm (p [=≤<>] \S+)", row.verdict).group(1)
        raw_text = re.search(r"(p [=≤<>] \S+), Holm", row.verdict).group(1)
        # Below the print floor a p-value prints as "p < 1e-10" whether or not it is a bound.
        assert raw_text.startswith(("p ≤", "p <")) == (bool(row.p_bound) or row.p_value < P_PRINT_FLOOR), (raw_text, row)
        assert holm_text.startswith(("p ≤", "p <")) == (bool(row.p_holm_bound) or row.p_holm < P_PRINT_FLOOR), \
            (holm_text, row)
        assert not row.p_bound or row.p_holm_bound  # a Holm value a bound entered is a bound


def test_comparisons_with_enough_seeds_flag_a_real_difference_and_not_a_null_one():
    gen = np.random.default_rng(1)
    base = 0.9 + 0.02 * gen.standard_normal(30)
    records = [logreg_record("mse", "raw", s, 0.5, float(a)) for s, a in enumerate(base)]
    records += [logreg_record("ce", "raw", s, 0.5, float(a + 0.01 + 0.002 * gen.standard_normal()))
                for s, a in enumerate(base)]
    records += [logreg_record("mse", "unit", s, 0.5, float(a + 0.002 * gen.standard_normal()))
                for s, a in enumerate(base)]
    table = comparisons_table(runs_table(records), [1000, 10000]).set_index(["comparison", "steps"])
    real, null = table.loc[("loss", 10000)], table.loc[("input scaling", 10000)]
    assert bool(real["significant"]) and real["p_holm"] < 0.05 and real["ci95_low"] > 0
    assert not null["significant"] and null["p_holm"] >= 0.05
    assert 0 < null["mdd"] < 0.01 and "with 80% power" in null["verdict"]


def test_escape_table_counts_runs_that_beat_chance_by_the_binomial_test():
    # Eight MSE runs: four stuck at chance (49.32% / 50.68%), four escaped; CE all escaped.
    mse = [0.4932, 0.5068, 0.5068, 0.4932, 0.75, 0.77, 0.80, 0.85]
    ce = [0.90, 0.92, 0.93, 0.95, 0.91, 0.94, 0.96, 0.97]
    records = [logreg_record("mse", "raw", s, 0.5, a) for s, a in enumerate(mse)]
    records += [logreg_record("ce", "raw", s, 0.9, a) for s, a in enumerate(ce)]
    runs = runs_table(records)
    escape = escape_table(runs, chance=0.5068).set_index(["loss", "steps"])
    row = escape.loc[("mse", 10000)]
    # The lowest escaping accuracy on 1,991 images at alpha 0.01 is a few points above chance.
    assert 0.5068 < row["threshold"] < 0.54 and row["chance"] == 0.5068 and row["escape_alpha"] == 0.01
    assert (row["n"], row["escaped"]) == (8, 4) and row["escape_rate"] == 0.5
    # Wilson 95% interval of 4 of 8: 0.21522 to 0.78478.
    assert (row["escape_ci95_low"], row["escape_ci95_high"]) == pytest.approx((0.21522, 0.78478), abs=1e-5)
    assert row["escaped_median"] == pytest.approx((0.77 + 0.80) / 2) and row["escaped_min"] == pytest.approx(0.75)
    # The reference's 78.05% is above two of the four escaped runs.
    assert row["reference_accuracy"] == 0.7805 and row["reference_percentile"] == pytest.approx(0.5)
    assert escape.loc[("ce", 10000)]["escaped"] == 8 and escape.loc[("ce", 10000)]["escape_ci95_high"] == 1.0
    assert escape.loc[("mse", 1000)]["escaped"] == 0 and escape.loc[("mse", 1000)]["escape_ci95_low"] == 0.0
    sensitivity = escape_sensitivity(runs)
    mse_final = sensitivity[(sensitivity["loss"] == "mse") & (sensitivity["steps"] == 10000)]
    assert list(mse_final["escaped"]) == [4, 4, 4, 3, 1]  # above 60, 66, 70, 75, 80%
    facts = headline_facts(pd.DataFrame(columns=["experiment"]), pd.DataFrame(columns=["comparison", "family"]),
                           pd.DataFrame(), escape.reset_index(), sensitivity=sensitivity)
    # The last step count is "final" in the keys, whatever the config's step count; earlier ones keep their number.
    assert facts["escape_mse_raw_final"] == "4 of 8 runs (50.00%, Wilson 95% CI 21.52% to 78.48%)"
    assert facts["escape_mse_raw_final_sensitivity"] == "60%: 4, 66%: 4, 70%: 4, 75%: 3, 80%: 1 of 8"
    # 4 of 8 (Wilson 22% to 78%): no clear majority at the test's threshold, nor at 60-75% (3 or 4 of 8); 1 of 8
    # above 80% (Wilson 2% to 47%) is a minority: the verdict says it depends on the threshold.
    verdict = facts["escape_mse_raw_final_verdict"]
    assert verdict.startswith("no clear majority either way, but not at every fixed threshold")
    assert "a minority of runs above 80%" in verdict and verdict.endswith("depends on the threshold")
    assert facts["escape_ce_raw_final_verdict"] == (
        "a majority of runs, as at every fixed threshold from 60% to 80% (rates 100.00% to 100.00%)")
    # Escaped at 1,000 steps is none for MSE; no run fell back.
    assert facts["escape_mse_raw_fell_back"] == "no run that had escaped at one step count fell back at the next"
    assert facts["reference_mse_raw_final"] == "the reference's single run (78.05%) is above 50% of the escaped runs"
    assert facts["escaped_mse_raw_1000_median"] == facts["escaped_mse_raw_1000_range"] == "none escaped"
    assert not any("10000" in key for key in facts)


def test_another_pair_has_no_reference_and_its_own_rank():
    """The reference ran 4 vs 9 only: another pair gets no reference facts, and the rank is the main pair's."""
    records = [logreg_record(loss, "raw", s, 0.5, 0.6 + 0.01 * s + (loss == "ce") * 0.2, digits=(3, 5))
               for loss in LOSSES for s in range(8)]
    sweep = [logreg_record("ce", "raw", s, acc, acc, digits)
             for digits, accs in [((3, 5), (0.85, 0.86)), ((0, 1), (0.99, 1.0)), ((4, 9), (0.80, 0.84))]
             for s, acc in enumerate(accs)]
    runs = runs_table(records, sweep)
    escape = escape_table(runs, chance=0.5)
    assert escape["reference_accuracy"].isna().all()
    facts = Facts(headline_facts(summary_table(runs, rng()), comparisons_table(runs, [1000, 10000]),
                                 pair_difficulty(runs), escape))
    assert not any(key.startswith("reference_") for key in facts)
    assert facts["main_pair_rank_10000"] == "3 vs 5 ranks 2 of 3"
    assert facts["hardest_pair_10000"] == "4 vs 9 (82.00%, n = 2)"
    assert facts["pair_verdict_1000"].endswith("with fewer than 30 seeds per pair no rank interval or confidence "
                                               "set is made")
    assert facts["loss_ce_vs_mse_raw_final_verdict"].startswith("logistic loss (raw) is more accurate")
    assert facts["loss_ce_vs_mse_raw_final_verdict"].endswith("; 95% CI +20.00 to +20.00 percentage points")
    # The interval reads as the verdict does: the better variant's lead, positive, whichever side it is on.
    swapped = comparisons_table(runs, [10000]).assign(difference=-0.2, ci95_low=-0.21, ci95_high=-0.19)
    assert headline_facts(summary_table(runs, rng()), swapped, pair_difficulty(runs))["loss_ce_vs_mse_raw_final_verdict"].endswith(
        "; 95% CI +19.00 to +21.00 percentage points")
    # A fact the aggregation did not produce, and no part left out by the configuration explains, is an error
    # that names it (never a plausible sentence).
    with pytest.raises(MissingFactError, match="has no fact 'c3_sparse_vs_full_claim'"):
        facts["c3_sparse_vs_full_claim"]


def test_identity_facts_count_the_checks_and_name_what_breaks():
    table = pd.DataFrame({"identity": ["relu commutes", "square commutes", "backprop = autograd"],
                          "max_abs_error": [0.0, 0.18, 1.4e-17], "expected": [True, False, True],
                          "as_expected": [True, True, True]})
    facts = identity_facts(table)
    assert facts["identities_verdict"] == "3 of 3 checks as expected; the 2 identities hold to max error 1.4e-17"
    assert facts["identities_breaks"] == "square commutes breaks (max error 0.18)"


def test_pair_difficulty_and_facts(runs):
    pairs = pair_difficulty(runs)
    final = pairs[pairs["steps"] == 10000]
    assert list(final["pair"]) == ["7-9", "4-9", "0-1"] and list(final["rank"]) == [1, 2, 3]
    assert final.iloc[0]["mean"] == pytest.approx(0.82)
    comparisons = comparisons_table(runs, [10000])
    facts = {**headline_facts(summary_table(runs, rng()), comparisons, pairs),
             **lenet_words(runs, comparisons)}
    assert facts["hardest_pair_10000"] == "7 vs 9 (82.00%, n = 2)"
    assert facts["main_pair_rank_10000"] == "4 vs 9 ranks 2 of 3"
    assert facts["lenet_sparse_mean"] == "98.60%" and facts["lenet_sparse_params"] == "60,806"
    assert facts["logreg_mse_raw_final_range"] == "50.00% to 70.00%"
    assert facts["logreg_mse_raw_1000_range"] == "50.00% to 50.00%"
    # Three seeds cannot bound the LeNet-5 difference (no 3-seed permutation test reaches 5%), and the verdict says so.
    assert facts["c3_sparse_vs_full_claim"].endswith("and no interval can bound it")
    assert facts["c3_sparse_vs_full_claim"].startswith("no significant difference")


def sweep_runs(means: dict, n: int, seed: int = 0) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    return runs_table(sweep=[logreg_record("ce", "raw", s, float(a), float(a), digits)
                             for digits, mean in means.items() for s, a in enumerate(gen.normal(mean, 0.01, n))])


def test_the_hardest_pair_is_named_only_when_its_test_says_so():
    # 4 vs 9 clearly hardest: the intersection-union test at the last step count (the hardest-pair family) says
    # so, and the verdict names it; the 1,000-step reading is descriptive.
    runs = sweep_runs({(4, 9): 0.85, (7, 9): 0.90, (0, 1): 0.99}, 40)
    pairs = pair_difficulty(runs, rng(), resamples=999)
    comparisons = comparisons_table(runs, [], resamples=999, main_pair="4-9")
    assert list(comparisons["comparison"]) == ["hardest pair", "hardest pair"]
    assert list(comparisons["family"]) == ["descriptive", "hardest_pair"]
    facts = headline_facts(pd.DataFrame(columns=["experiment"]), comparisons, pairs, main_pair="4-9")
    assert facts["pair_verdict_10000"].startswith("4 vs 9 is the hardest pair: every other pair is shown easier "
                                                  "(closest: 7 vs 9; intersection-union test p ")
    assert "bootstrap share ranked first 1.00" in facts["main_pair_rank_10000"]
    assert facts["families"] == (
        "the hardest-pair claim (the digit-pair sweep, its last step count): Holm over 1 test (chosen after earlier "
        "looks at the same deterministic runs), 4 vs 9 is the hardest pair, after 10,000 steps (primary). The "
        "hardest-pair claim was first analysed under one Holm family of every claim, and its family was chosen after "
        "those looks at the same deterministic runs; no verdict depends on it: each of its verdicts is the same in "
        "any family of at most the 2 comparisons (significant even under Bonferroni over all 2, or not significant "
        "even alone)")
    assert "descriptive: no test at this step count" in facts["pair_verdict_1000"]
    # 4 vs 9 and 7 vs 9 a tenth of a point apart: neither is named; the verdict gives the set that cannot be told apart.
    runs = sweep_runs({(4, 9): 0.900, (7, 9): 0.899, (0, 1): 0.99}, 40)
    pairs = pair_difficulty(runs, rng(), resamples=999)
    comparisons = comparisons_table(runs, [], resamples=999, main_pair="4-9", pairs=pairs)
    verdict = headline_facts(pd.DataFrame(columns=["experiment"]), comparisons, pairs,
                             main_pair="4-9")["pair_verdict_10000"]
    assert verdict.startswith("the hardest pair cannot be told apart among 2: ")
    assert "4 vs 9 is not shown to be the hardest pair" in verdict and "0 vs 1" not in verdict.split(";")[0]


def test_a_main_pair_outside_the_confidence_set_is_not_the_hardest():
    """4 vs 9 clearly easier than 7 vs 9: outside the 95% confidence set of the hardest pair, so the verdict says
    it is not the hardest, not merely "not shown to be"; without the set (no pairs table) it says only the latter."""
    runs = sweep_runs({(4, 9): 0.92, (7, 9): 0.85, (0, 1): 0.99}, 40)
    pairs = pair_difficulty(runs, rng(), resamples=999)
    final = pairs[pairs["steps"] == 10000].set_index("pair")
    assert not final.loc["4-9", "in_hardest_set"] and final.loc["7-9", "in_hardest_set"]
    comparisons = comparisons_table(runs, [], resamples=999, main_pair="4-9", pairs=pairs)
    tested = comparisons[comparisons["family"] == "hardest_pair"].iloc[0]
    assert not tested["significant"]
    assert tested["verdict"].startswith("4 vs 9 is not the hardest pair: it lies outside the 95% confidence set of "
                                        "the hardest (max-T bootstrap)")
    verdict = headline_facts(pd.DataFrame(columns=["experiment"]), comparisons, pairs,
                             main_pair="4-9")["pair_verdict_10000"]
    assert "4 vs 9 is not the hardest pair" in verdict and "not shown to be" not in verdict
    without_set = comparisons_table(runs, [], resamples=999, main_pair="4-9")
    assert "4 vs 9 is not shown to be the hardest pair" in without_set.iloc[-1]["verdict"]


def test_comparisons_are_declared_once_as_data(runs):
    """Every row of comparisons.csv (but the hardest-pair tests, made of the sweep's data) is one comparison the
    registry declares (mnistrepro.study.choices.COMPARISONS) of the variants the runs hold; without a margin, no
    TOST."""
    specs = study_comparisons(runs, [1000, 10000])
    table = comparisons_table(runs, [1000, 10000])
    assert [spec.key for spec in specs if spec.rule.kind != "equivalence"] == list(table["key"])
    assert {(s.rule.kind, s.rule.experiment, s.rule.factor, s.a, s.b, s.rule.metric) for s in specs} == {
        ("equivalence", "lenet", "c3", "sparse", "full", "test_accuracy"),
        ("difference", "lenet", "c3", "sparse", "full", "test_accuracy"),
        ("difference", "lenet", "c3", "sparse", "full", "ece"),
        ("difference", "logreg", "loss", "ce", "mse", "test_accuracy")}
    with_margin = comparisons_table(runs, [1000, 10000], equivalence_margin=0.001)
    assert [spec.key for spec in specs] == list(with_margin["key"])


def test_params_table_flags_mismatches():
    table = params_table({"sparse": {"c3": 1516, "total": 60806}}, {"sparse": {"c3": 1516, "total": 60807}})
    assert list(table["match"]) == [True, False]


def test_rule_benchmarks_reads_snakemake_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    root = tmp_path / "results" / "benchmarks"
    (root / "lenet").mkdir(parents=True)
    (root / "lenet" / "sparse_seed0.tsv").write_text(header + "61.5\t0:01:01\t812.3\t1\t1\t1\t0\t0\t99\t60.2\n")
    (root / "identities.tsv").write_text(header + "9.0\t0:00:09\t400.0\t1\t1\t1\t0\t0\t80\tNA\n")
    table = rule_benchmarks([str(p) for p in sorted(root.rglob("*.tsv"))], root=str(root))
    assert list(table["job"]) == ["lenet/sparse_seed0", "identities"]
    assert table.iloc[0]["max_rss_mb"] == 812.3 and math.isnan(table.iloc[1]["cpu_seconds"])


# ------------------------------------------------------------------------------ the README's numbers

README = Path(__file__).resolve().parents[1] / "README.md"
SNAPSHOT = README.parent / RESULTS_FACTS


def results_section(readme: str) -> str:
    start = readme.index("## Results at a glance")
    return readme[start:readme.index("\n## ", start + 1)]


def readme_problems(readme: str, snapshot: dict) -> list[str]:
    """Where the README's results section disagrees with the facts it was generated from: the generated
    block differs from :func:`readme_results` of the snapshot's facts, or a number stands outside it."""
    section = results_section(readme)
    start, end = README_BLOCK
    block = section[section.index(start) + len(start):section.index(end)].strip("\n")
    config = study_config(load_config(str(README.parent / snapshot["config_file"])))
    expected = readme_results(config, Facts(snapshot["facts"], snapshot["not_run"], config=snapshot["config"]))
    problems = [f"block line differs: {a!r} != facts' {b!r}"
                for a, b in zip(block.splitlines(), expected.splitlines()) if a != b]
    if len(block.splitlines()) != len(expected.splitlines()):
        problems.append(f"block has {len(block.splitlines())} lines, the facts give {len(expected.splitlines())}")
    prose = section.replace(section[section.index(start):section.index(end)], "")
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)  # commands
    prose = re.sub(r"`[^`]*`", "", prose)  # code: file names, formulas, config keys
    problems += [f"a number outside the generated block: {m.group(0)!r}"
                 for m in re.finditer(r"\d[\d.,]*%?", prose) if m.group(0) != "95%"]
    return problems


def test_readme_results_are_generated_from_the_facts():
    """Every number of the README's results section comes from docs/results-facts.json (the facts of the run
    the section reports): the generated block equals what the facts give, and no number stands outside it."""
    assert readme_problems(README.read_text(), json.loads(SNAPSHOT.read_text())) == []


def test_a_number_broken_on_purpose_in_the_readme_is_caught():
    readme, snapshot = README.read_text(), json.loads(SNAPSHOT.read_text())
    start = readme.index(README_BLOCK[0])
    at = start + re.search(r"\d", readme[start + len(README_BLOCK[0]):]).start() + len(README_BLOCK[0])
    at = readme.index("%", at) - 1  # the last digit of the block's first percentage
    broken = readme[:at] + str((int(readme[at]) + 1) % 10) + readme[at + 1:]
    assert any("block line differs" in p for p in readme_problems(broken, snapshot))
    prose = readme.replace("What the default study found,", "What the default study found (149 runs),")
    assert readme_problems(prose, snapshot) == ["a number outside the generated block: '149'"]


def snapshot_facts(snapshot: dict) -> tuple[dict, Facts]:
    config = study_config(load_config(str(README.parent / snapshot["config_file"])))
    return config, Facts(snapshot["facts"], snapshot["not_run"], config=snapshot["config"])


def test_the_findings_in_full_are_generated_from_the_facts():
    """docs/results.md, the findings in full that the README links to, is what the snapshot's facts give."""
    config, facts = snapshot_facts(json.loads(SNAPSHOT.read_text()))
    assert (README.parent / RESULTS_PAGE).read_text() == results_page(config, facts)
    assert f"]({RESULTS_PAGE})" in results_section(README.read_text())


def figure_problems(root: Path, snapshot: dict) -> list[str]:
    """Where the figures under ``root`` disagree with the snapshot that records their SHA-256 (the same run's)."""
    expected = {f"{FIGURE_DIR}/{name}.png" for name, _ in GLANCE_FIGURES}
    recorded = snapshot.get("figures", {})
    problems = [f"the snapshot records no {path}" for path in sorted(expected - set(recorded))]
    problems += [f"{path} is not the figure of the facts' run (its SHA-256 differs from the snapshot's)"
                 for path, digest in sorted(recorded.items())
                 if not (root / path).is_file() or hashlib.sha256((root / path).read_bytes()).hexdigest() != digest]
    return problems


def test_the_readmes_figures_belong_to_the_facts_snapshot(tmp_path):
    """The committed figures and docs/results-facts.json come from one run: each figure's SHA-256 is the snapshot's,
    and the README's results show each of them. A figure regenerated without the facts (or the facts without the
    figures) fails here."""
    snapshot = json.loads(SNAPSHOT.read_text())
    assert figure_problems(README.parent, snapshot) == []
    block = results_section(README.read_text())
    for name, _ in GLANCE_FIGURES:
        assert f"]({FIGURE_DIR}/{name}.png)" in block, name
    # A figure redrawn on its own (here: one byte changed) no longer belongs to the facts.
    (tmp_path / FIGURE_DIR).mkdir(parents=True)
    for path in snapshot["figures"]:
        (tmp_path / path).write_bytes((README.parent / path).read_bytes())
    first = next(iter(snapshot["figures"]))
    (tmp_path / first).write_bytes((tmp_path / first).read_bytes() + b"\0")
    assert figure_problems(tmp_path, snapshot) == [f"{first} is not the figure of the facts' run (its SHA-256 "
                                                   f"differs from the snapshot's)"]


def test_each_claims_row_of_the_readme_reads_in_two_short_sentences():
    """The README's table: one row per claim of the seed, whose verdict and number are the snapshot's facts, each
    finding (verdict and number) at most about 350 characters."""
    _, facts = snapshot_facts(json.loads(SNAPSHOT.read_text()))
    rows = glance_rows(facts)
    assert [r["claim"] for r in rows] == [c.words for c in SEED_CLAIMS]
    block = results_section(README.read_text())
    for row in rows:
        assert f"**{row['verdict']}** | {row['number']} |" in block, row
        assert len(row["verdict"]) + len(row["number"]) <= 350, row


def _glance_comparisons(loss_raw: float, loss_unit: float, tost_significant: bool, c3_diff: float,
                        c3_significant: bool, hardest_significant: bool = False) -> pd.DataFrame:
    """comparisons.csv's confirmatory rows, shaped like the aggregation's: differences a - b (fractions)."""
    def row(key, family, role, a, b, diff, significant, **more):
        return {"key": key, "family": family, "role": role, "a": a, "b": b, "difference": diff,
                "ci95_low": diff - 0.01, "ci95_high": diff + 0.01, "n_a": 200, "n_b": 200, "p_holm": 0.001,
                "p_holm_bound": False, "significant": significant, "metric": "test_accuracy", "scaling": np.nan,
                "steps": np.nan,
                "epochs": np.nan, **more}
    return pd.DataFrame([
        row("c3_sparse_vs_full_equivalence", "c3", "primary", "sparse C3", "full C3", 0.0001, tost_significant,
            epochs=10),
        row("c3_sparse_vs_full_10", "c3", "secondary", "sparse C3", "full C3", c3_diff, c3_significant, epochs=10),
        row("loss_ce_vs_mse_raw_final", "loss", "primary", "logistic loss (raw)", "MSE loss (raw)", loss_raw,
            abs(loss_raw) > 0.02, scaling="raw", steps=10000),
        row("loss_ce_vs_mse_unit_final", "loss", "secondary", "logistic loss (unit)", "MSE loss (unit)", loss_unit,
            abs(loss_unit) > 0.02, scaling="unit", steps=10000),
        row("hardest_10000", "hardest_pair", "primary", "4 vs 9", "every other pair", 0.019, hardest_significant,
            steps=10000),
    ])


def _glance_pairs(main_in_set: bool) -> pd.DataFrame:
    return pd.DataFrame([
        {"steps": 10000, "pair": "5-8", "n": 50, "mean": 0.9233, "rank": 1, "rank_low": 1, "rank_high": 2,
         "in_hardest_set": True},
        {"steps": 10000, "pair": "4-9", "n": 50, "mean": 0.9424, "rank": 5, "rank_low": 3, "rank_high": 5,
         "in_hardest_set": main_in_set},
    ])


def test_the_claims_verdicts_follow_the_tests():
    """Each claim's verdict in the table: the loss claim holds, is reversed, or is not shown, and names a reversal
    at the other scaling; the hardest pair is not the hardest outside the confidence set and not shown inside it;
    the C3 claim is refuted by equivalence, decided by a difference, or undecided."""
    facts = glance_facts(_glance_comparisons(0.39, -0.026, True, 0.0001, False), _glance_pairs(False), "4-9", 0.001)
    assert facts["glance_loss_verdict"] == ("Holds on raw pixels: logistic loss (raw) is more accurate; reversed on "
                                            "unit pixels (MSE loss (unit) is more accurate)")
    assert facts["glance_loss_number"] == ("logistic loss (raw) - MSE loss (raw), 10,000 steps: +39.00 points (95% CI "
                                           "+38.00 to +40.00), n = 200 paired seeds, Holm p = 0.001")
    assert facts["glance_hardest_verdict"] == ("Not for logistic regression: 5 vs 8 is harder, and 4 vs 9 lies "
                                               "outside the 95% confidence set of the hardest pair")
    assert facts["glance_hardest_number"].startswith("after 10,000 steps, 4 vs 9 ranks 5 of 2 (95% interval 3 to 5)")
    assert facts["glance_c3_verdict"] == "No: sparse C3 and full C3 are equivalent within ±0.10 points"
    assert facts["glance_c3_number"].startswith("sparse C3 - full C3, 10 epochs: +0.01 points (95% CI -0.99 to")
    other = glance_facts(_glance_comparisons(-0.001, 0.0, False, 0.003, True), _glance_pairs(True), "4-9", 0.001)
    assert other["glance_loss_verdict"] == "Not shown on raw pixels: no significant difference"
    assert other["glance_hardest_verdict"] == ("Not shown for logistic regression: 4 vs 9 cannot be told apart from "
                                               "the hardest (5 vs 8)")
    assert other["glance_c3_verdict"] == "Yes: sparse C3 is more accurate"
    undecided = glance_facts(_glance_comparisons(-0.05, 0.0, False, -0.003, False, True), _glance_pairs(True), "4-9",
                             0.001)
    assert undecided["glance_loss_verdict"] == "Reversed on raw pixels: MSE loss (raw) is more accurate"
    assert undecided["glance_hardest_verdict"] == "Holds for logistic regression: 4 vs 9 is shown to be the hardest pair"
    # The main pair with the lowest mean, not shown hardest: held against the closest other pair, not itself.
    lowest = _glance_pairs(True).assign(rank=[2, 1], mean=[0.9424, 0.9233])
    first = glance_facts(_glance_comparisons(-0.001, 0.0, False, 0.003, True), lowest, "4-9", 0.001)
    assert first["glance_hardest_verdict"] == ("Not shown for logistic regression: 4 vs 9 has the lowest mean but "
                                               "cannot be told apart from the closest other pair (5 vs 8)")
    assert first["glance_hardest_number"].startswith("after 10,000 steps, 4 vs 9 ranks 1 of 2 (95% interval 3 to 5), "
                                                     "92.33% vs 5 vs 8's 94.24%")
    assert undecided["glance_c3_verdict"] == ("Undecided: neither shown equivalent within ±0.10 points nor "
                                              "different")


def test_the_equal_mass_ece_is_its_direct_computation():
    """mnistrepro.analysis.stats' one ECE (the evaluation record's and the report's), with equal-mass bins, against the
    definition computed directly."""
    gen = np.random.default_rng(2)
    confidence = gen.uniform(0.2, 1.0, 1000)
    correct = gen.random(1000) < confidence  # calibrated on average, noisy per bin
    # To the fixed-point grid the ECE's exact sums hold confidences on (2^-32: at most 2^-33 per confidence).
    assert expected_calibration_error(confidence, correct, binning="equal-mass") == pytest.approx(
        ece_equal_mass(confidence, correct), abs=2**-32)
    # Perfectly calibrated bins give 0: each bin's accuracy equals its mean confidence.
    assert ece_equal_mass(np.full(30, 0.5), np.tile([True, False], 15), n_bins=15) == 0.0
    assert expected_calibration_error(np.full(30, 0.5), np.tile([True, False], 15), binning="equal-mass") == 0.0


def test_each_table_draws_its_own_reproducible_stream():
    """The logistic-regression tables are written by their own job before LeNet-5's runs exist: a table's numbers
    must not depend on which tables drew from the generator before it."""
    from mnistrepro.outputs.aggregate import table_rng

    draw = lambda seed, table: table_rng(seed, table).random(4).tolist()  # noqa: E731
    assert draw(0, "pair_difficulty") == draw(0, "pair_difficulty")
    assert draw(0, "pair_difficulty") != draw(0, "summary") != draw(1, "summary")


def test_the_provenance_names_where_each_experiment_trained():
    """The results block's machine fact comes from the runs' own hardware records, per experiment: LeNet-5 trained
    elsewhere than logistic regression is named as such, whichever machine aggregates."""
    from mnistrepro.report.study import machine_fact

    xeon = {"cpu": "Intel(R) Xeon(R) Processor", "cpu_capability": "AVX2"}
    epyc = {"cpu": "AMD EPYC 7551", "cpu_capability": "AVX2"}
    records = [{"experiment": "lenet", "hardware": {**xeon, "gpu_model": "NVIDIA H200"}},
               {"experiment": "logreg", "hardware": epyc}, {"experiment": "pair_sweep", "hardware": epyc},
               {"experiment": "lenet", "hardware": xeon}]
    assert machine_fact(records) == (
        "logistic regression trained on AMD EPYC 7551 (torch CPU kernels: AVX2); logistic regression on every digit "
        "pair trained on AMD EPYC 7551 (torch CPU kernels: AVX2); LeNet-5 trained on Intel(R) Xeon(R) Processor "
        "(torch CPU kernels: AVX2) and Intel(R) Xeon(R) Processor (torch CPU kernels: AVX2), GPU: NVIDIA H200")
    assert machine_fact(records[1:3]) == "every run trained on AMD EPYC 7551 (torch CPU kernels: AVX2)"
