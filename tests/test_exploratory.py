"""The exploratory analyses of the LeNet-5 runs (mnistrepro.analysis.exploratory): the confusion rates and the per-epoch
differences against a direct computation on made-up records, and the facts' wording in the cases that change it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from mnistrepro.analysis.definitions import BOTH
from mnistrepro.analysis.exploratory import EXPLORATORY, confusion_table, per_epoch_table, ranking_table
from mnistrepro.analysis.facts import NOT_RUN, Facts, left_out_parts
from mnistrepro.analysis.stats import compare
from mnistrepro.report.exploratory import exploratory_facts, per_epoch_facts, ranking_facts
from mnistrepro.report.not_run import not_run_parts

REPO = Path(__file__).resolve().parents[1]


def made_up_evaluations(seeds=(0, 1, 2, 3), hot=(4, 9), gen_seed=0) -> list[dict]:
    """Evaluation records of both C3 kinds with random confusion matrices (uneven class counts), the pair ``hot``
    confused far more than any other."""
    gen = np.random.default_rng(gen_seed)
    records = []
    for c3 in ("sparse", "full"):
        for seed in seeds:
            matrix = gen.integers(0, 4, size=(10, 10))
            np.fill_diagonal(matrix, gen.integers(80, 120, size=10))
            matrix[hot[0], hot[1]] += 15
            matrix[hot[1], hot[0]] += 10
            records.append({"c3": c3, "seed": seed, "confusion_matrix": matrix.tolist()})
    return records


def direct_rate(matrix, a: int, b: int) -> float:
    m = np.asarray(matrix)
    return (m[a, b] + m[b, a]) / (m[a].sum() + m[b].sum())


def test_confusion_rates_equal_a_direct_computation():
    records = made_up_evaluations()
    table = confusion_table(records, np.random.default_rng(0), resamples=199)
    assert (table["analysis"] == EXPLORATORY).all() and not any("p_" in c for c in table.columns)
    assert set(table["c3"]) == {"sparse", "full", BOTH} and (table.groupby("c3").size() == 45).all()
    for c3 in ("sparse", "full"):
        for a, b in [(4, 9), (0, 1), (3, 8)]:
            row = table[(table["c3"] == c3) & (table["pair"] == f"{a}-{b}")].iloc[0]
            expected = np.mean([direct_rate(r["confusion_matrix"], a, b) for r in records if r["c3"] == c3])
            assert row["rate"] == pytest.approx(expected, rel=1e-12)
            assert row["ci95_low"] <= row["rate"] <= row["ci95_high"]
    # Both kinds: each seed's two runs averaged, then the seeds (the same as the mean of all runs here).
    both = table[(table["c3"] == BOTH) & (table["pair"] == "2-7")].iloc[0]
    assert both["rate"] == pytest.approx(np.mean([direct_rate(r["confusion_matrix"], 2, 7) for r in records]))
    assert both["n_seeds"] == 4 and both["n_runs"] == 8
    top = table[table["c3"] == BOTH].iloc[0]
    assert top["pair"] == "4-9" and top["rank"] == 1 and top["rank_low"] == top["rank_high"] == 1
    assert sorted(table.loc[table["c3"] == BOTH, "rank"]) == list(range(1, 46))


def test_confusion_rate_intervals_follow_the_studys_rule_below_30_seeds():
    """Four seeds: each rate's interval is the Student-t interval of its mean over seeds (clipped to [0, 1]), as the
    study's rule for a mean below 30 values says, not a percentile bootstrap; the ranks keep their bootstrap."""
    records = made_up_evaluations()
    table = confusion_table(records, np.random.default_rng(0), resamples=199)
    assert (table["ci_method"] == "Student t (n < 30)").all()
    for a, b in [(4, 9), (2, 7)]:
        row = table[(table["c3"] == "sparse") & (table["pair"] == f"{a}-{b}")].iloc[0]
        rates = np.array([direct_rate(r["confusion_matrix"], a, b) for r in records if r["c3"] == "sparse"])
        half = scipy_stats.t.ppf(0.975, 3) * rates.std(ddof=1) / np.sqrt(4)
        assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((max(0.0, rates.mean() - half),
                                                                    min(1.0, rates.mean() + half)), rel=1e-9)
    assert table["rank_low"].notna().all()
    fact = exploratory_facts({"confusions": table, "ranking": pd.DataFrame(columns=["steps"]),
                              "per_epoch": pd.DataFrame()})["lenet_most_confused_pair"]
    assert "; Student t, n = 4; rank 1 of 45" in fact
    # From 30 seeds on, the percentile bootstrap, as for a variant's mean.
    many = confusion_table(made_up_evaluations(seeds=range(30)), np.random.default_rng(0), resamples=199)
    assert many["ci_method"].str.startswith("percentile bootstrap over 30 seeds").all()


def test_one_seed_gives_rates_without_intervals():
    table = confusion_table(made_up_evaluations(seeds=(7,)), np.random.default_rng(0), resamples=99)
    assert table["ci95_low"].isna().all() and (table["ci_method"] == "none (fewer than 2 seeds)").all()
    facts = exploratory_facts({"confusions": table, "ranking": pd.DataFrame(columns=["steps"]),
                               "per_epoch": pd.DataFrame()})
    assert facts["lenet_most_confused_pair"].startswith("4 vs 9 (") and "none (fewer than 2 seeds)" in facts[
        "lenet_most_confused_pair"]


def sweep_tables(means: dict[str, float], steps: int = 1000, seeds: int = 5, spread: float = 0.002):
    """``pair_difficulty.csv``-like ranks and runs.csv-like sweep rows: every pair's seeds near its mean."""
    gen = np.random.default_rng(1)
    rows = [{"pair": p, "steps": steps, "seed": s, "test_accuracy": m + gen.normal(0, spread)}
            for p, m in means.items() for s in range(seeds)]
    sweep = pd.DataFrame(rows)
    pairs = sweep.groupby(["steps", "pair"])["test_accuracy"].agg(n="count", mean="mean").reset_index()
    return pairs, sweep


def test_ranking_over_a_subset_of_pairs_and_one_step_count():
    """A sweep of three pairs at one step count: both rankings over those three; logistic regression's hardest
    (3 vs 5) is not LeNet-5's most confused (4 vs 9), and the Spearman correlation is computed over three pairs."""
    records = made_up_evaluations()
    pairs, sweep = sweep_tables({"3-5": 0.90, "4-9": 0.95, "0-1": 0.99})
    table = ranking_table(records, pairs, sweep, np.random.default_rng(0), resamples=299)
    assert table["pair"].iloc[0] == "4-9" and set(table["pair"]) == {"3-5", "4-9", "0-1"}
    assert (table["n_shared_pairs"] == 3).all() and table["steps"].unique().tolist() == [1000]
    assert table.set_index("pair")["logreg_rank"].to_dict() == {"3-5": 1, "4-9": 2, "0-1": 3}
    facts = ranking_facts(table)
    assert list(facts) == ["pair_models_1000"]
    text = facts["pair_models_1000"]
    assert text.startswith("logistic regression's hardest pair, 3 vs 5, is not LeNet-5's most confused among the "
                           "3 pairs the sweep ran (4 vs 9 is; 3 vs 5 has LeNet-5's rank ")
    assert "top 3, logistic regression: 3 vs 5, 4 vs 9, 0 vs 1; LeNet-5: 4 vs 9" in text
    assert "Spearman ρ = " in text and "over 3 pairs (95% bootstrap interval" in text


def test_ranking_agrees_when_the_hardest_is_the_most_confused_at_two_step_counts():
    records = made_up_evaluations()
    short, short_sweep = sweep_tables({"4-9": 0.90, "3-5": 0.92, "0-1": 0.99, "7-9": 0.95}, steps=1000)
    long, long_sweep = sweep_tables({"4-9": 0.93, "3-5": 0.91, "0-1": 0.995, "7-9": 0.96}, steps=10000)
    table = ranking_table(records, pd.concat([short, long]), pd.concat([short_sweep, long_sweep]),
                          np.random.default_rng(0), resamples=299)
    facts = ranking_facts(table)
    assert set(facts) == {"pair_models_1000", "pair_models_10000"}
    assert facts["pair_models_1000"].startswith("logistic regression's hardest pair, 4 vs 9, is also LeNet-5's most "
                                                "confused among the 4 pairs the sweep ran")
    assert facts["pair_models_10000"].startswith("logistic regression's hardest pair, 3 vs 5, is not")


def test_the_same_hardness_order_in_both_models_is_a_correlation_of_plus_one():
    """Rank 1 is the hardest in both rankings: a sweep whose accuracies fall as LeNet-5's confusion rates rise ranks
    the pairs as LeNet-5 does (rho = +1); the opposite order gives -1."""
    records = made_up_evaluations()
    probe, probe_sweep = sweep_tables({"4-9": 0.90, "3-5": 0.92, "0-1": 0.99, "7-9": 0.95}, steps=1000)
    rates = ranking_table(records, probe, probe_sweep, np.random.default_rng(0), resamples=99).set_index("pair")
    assert rates["lenet_rate"].nunique() == len(rates)  # distinct rates, so the orders are strict
    same, same_sweep = sweep_tables({p: 0.9 - r for p, r in rates["lenet_rate"].items()}, steps=1000)
    table = ranking_table(records, same, same_sweep, np.random.default_rng(0), resamples=99)
    assert table["spearman"].iloc[0] == pytest.approx(1.0)
    assert (table["lenet_rank"] == table["logreg_rank"]).all()
    opposite, opposite_sweep = sweep_tables({p: 0.9 + r for p, r in rates["lenet_rate"].items()}, steps=1000)
    table = ranking_table(records, opposite, opposite_sweep, np.random.default_rng(0), resamples=99)
    assert table["spearman"].iloc[0] == pytest.approx(-1.0)


def test_too_few_shared_pairs_for_a_correlation_say_so():
    pairs, sweep = sweep_tables({"4-9": 0.9, "0-1": 0.99})
    table = ranking_table(made_up_evaluations(), pairs, sweep, np.random.default_rng(0), resamples=99)
    assert table["spearman"].isna().all()
    assert "no rank correlation (none (fewer than 3 shared pairs))" in ranking_facts(table)["pair_models_1000"]


def made_up_history(differences: dict[int, float], seeds=range(8), noise: float = 0.0005) -> pd.DataFrame:
    """Per-epoch test accuracy of both kinds: sparse - full near ``differences[epoch]`` for every seed."""
    gen = np.random.default_rng(3)
    rows = []
    for seed in seeds:
        for epoch, d in differences.items():
            full = 0.95 + 0.004 * epoch + gen.normal(0, 0.002)
            rows += [{"c3": "full", "seed": seed, "epoch": epoch, "test_accuracy": full},
                     {"c3": "sparse", "seed": seed, "epoch": epoch, "test_accuracy": full + d + gen.normal(0, noise)}]
    return pd.DataFrame(rows)


def test_per_epoch_differences_equal_a_direct_computation_and_compare():
    history = made_up_history({1: 0.004, 2: 0.001, 3: 0.0})
    table = per_epoch_table(history, ("sparse", "full"), resamples=999)
    assert (table["analysis"] == EXPLORATORY).all() and not any("p_" in c for c in table.columns)
    assert table["epoch"].tolist() == [1, 2, 3] and (table["n_pairs"] == 8).all()
    for row in table.itertuples(index=False):
        at = history[history["epoch"] == row.epoch]
        sparse = at[at["c3"] == "sparse"].set_index("seed")["test_accuracy"].sort_index()
        full = at[at["c3"] == "full"].set_index("seed")["test_accuracy"].sort_index()
        assert row.difference == pytest.approx(float((sparse - full).mean()), abs=1e-15)
        assert row.mean_a - row.mean_b == pytest.approx(row.difference, abs=1e-12)
        c = compare(sparse, full, 999)
        # The final comparison's interval (exact here: 2^8 sign patterns).
        assert (row.ci95_low, row.ci95_high) == (c.ci95_low, c.ci95_high)
        assert row.ci_method == c.ci_method == "exact sign-flip test inverted"
    assert table["interval_excludes_zero"].tolist() == [True, True, False]


def test_per_epoch_seeds_are_paired_on_the_seeds_both_kinds_ran():
    history = made_up_history({1: 0.002, 2: 0.002})
    history = history[~((history["c3"] == "full") & (history["seed"] == 0))]  # seed 0's full run is missing
    table = per_epoch_table(history, ("sparse", "full"), resamples=99)
    assert (table["n_pairs"] == 7).all()
    assert per_epoch_table(history[history["c3"] == "sparse"], ("sparse", "full")).empty


def test_per_epoch_facts_name_the_epochs_that_differ():
    """A crossing: sparse ahead early, level in between, behind late; the epochs whose interval excludes 0 are
    named with their signed differences, the others are not."""
    table = per_epoch_table(made_up_history({1: 0.004, 2: 0.0, 3: -0.003}), ("sparse", "full"), 999)
    assert table["interval_excludes_zero"].tolist() == [True, False, True]
    first, last = table.iloc[0], table.iloc[2]
    facts = per_epoch_facts(table)
    verdict = facts["c3_per_epoch_verdict"]
    assert verdict.startswith(f"sparse - full excludes 0 at 2 of 3 epochs (epoch 1: {100 * first.difference:+.2f} "
                              f"points ({100 * first.ci95_low:+.2f} to {100 * first.ci95_high:+.2f}); epoch 3: -")
    assert f"epoch 3: {100 * last.difference:+.2f} points" in verdict and "epoch 2:" not in verdict
    assert verdict.endswith("at the others the 95% interval includes 0 (n = 8 pairs)")
    assert facts["c3_per_epoch_caveat"].startswith("these are 3 looks at the same 8 pairs of runs")
    assert "tests nothing: no p-values" in facts["c3_per_epoch_caveat"]


def test_per_epoch_facts_with_no_difference():
    history = made_up_history({1: 0.0, 2: 0.0}, noise=0.0)
    # Per-seed differences of +0.3 and -0.3 points in turn: mean 0, so no interval can exclude it.
    sparse = history["c3"] == "sparse"
    history.loc[sparse, "test_accuracy"] += np.where(history.loc[sparse, "seed"] % 2 == 0, 0.003, -0.003)
    table = per_epoch_table(history, ("sparse", "full"), 999)
    assert not table["interval_excludes_zero"].any()
    assert per_epoch_facts(table)["c3_per_epoch_verdict"].startswith(
        "the sparse and full C3 kinds do not differ at any of epochs 1 to 2: every 95% interval includes 0 (largest "
        "difference ")


def test_per_epoch_facts_with_too_few_pairs_to_bound_anything():
    """Five pairs: the exact sign-flip interval spans every difference, so no epoch can show one; said so."""
    table = per_epoch_table(made_up_history({1: 0.01}, seeds=range(5)), ("sparse", "full"), 999)
    assert per_epoch_facts(table)["c3_per_epoch_verdict"].startswith(
        "no epoch can show a difference: with 5 pairs the exact interval spans every possible difference at each "
        "of epoch 1")


@pytest.mark.parametrize("change, not_run, measured", [
    ({"lenet": {"c3": ["sparse"]}}, ["c3_per_epoch_verdict", "c3_per_epoch_caveat", "lenet_full_most_confused"],
     ["lenet_most_confused_pair", "pair_models_1000"]),
    ({"pair_sweep": {"enabled": False}}, ["pair_models_1000", "pair_models_10000"],
     ["c3_per_epoch_verdict", "lenet_most_confused_pair"]),
])
def test_a_configuration_that_leaves_an_analysis_out_lists_its_facts_as_not_run(change, not_run, measured):
    from snakemake.utils import update_config

    from mnistrepro.analysis.facts import study_config
    from mnistrepro.outputs.findings import load_config

    config = study_config(load_config(str(REPO / "config.yaml")))
    update_config(config, change)
    facts = Facts({}, not_run_parts(left_out_parts(config)))
    for key in not_run:
        assert facts[key] == NOT_RUN, key
    for key in measured:
        assert facts.part_not_run(key) is None, key
