"""A new variant is data: a loss and a C3 kind registered inside this test, without editing the package, are
trained in a small configuration and found in the tables, in the comparisons against their reference variant, in
the findings and in the rendered captions.

A real new variant touches two files: its entry in mnistrepro.study.choices (name, label, what it costs) and its
implementation where its kind lives (mnistrepro.experiments.logreg for a loss, mnistrepro.experiments.lenet for a C3
kind, registered with mnistrepro.study.choices.register). The config schema lists no variant:
mnistrepro.study.config.check_config checks the names against the registry (tests/test_config.py).
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch

from mnistrepro.outputs.aggregate import aggregate_study, lenet_history, logreg_tables, runs_table, table_rng
from mnistrepro.study import choices
from snakemake.utils import update_config
from mnistrepro.analysis.exploratory import confusion_table, per_epoch_table, ranking_table
from mnistrepro.analysis.facts import Facts, left_out_parts
from mnistrepro.data.tensors import extract_pair
from mnistrepro.experiments.identities import load_sample_rgb, run_all_checks
from mnistrepro.experiments.lenet import SparseC3, analytic_param_counts
from mnistrepro.experiments.lenet_eval import evaluate, evaluation_record
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, training_record
from mnistrepro.experiments.logreg import LossForms, run_seeds
from mnistrepro.report.findings import findings
from mnistrepro.report.not_run import not_run_parts
from mnistrepro.study.environment import job_hardware
from conftest import train_alone
from test_pipeline import REPO, render_caption

LOSS = choices.LossVariant("throwaway_hinge", label="hinge loss", short="hinge")
# Every output map reads three neighbouring input maps: 48 connections.
HALF_TABLE = [[j % 6, (j + 1) % 6, (j + 2) % 6] for j in range(16)]
C3 = choices.C3Variant("throwaway_half", label="half C3", connections=48)


def hinge() -> LossForms:
    """``max(0, 1 - m)`` of the margin ``m = y z``: ``dl/dm = -1`` below a margin of 1, else 0."""
    return LossForms(
        value=lambda m: torch.clamp(1 - m, min=0),
        dmargin_torch=lambda m: -(m < 1).to(m.dtype),
        dmargin=lambda m: -(m < 1).astype(float),
    )


@pytest.fixture
def new_variants(monkeypatch):
    """The two throwaway variants, in the registry and with their implementations, for this test only."""
    import mnistrepro.experiments.lenet  # noqa: F401  (registers the built-in kinds first)
    import mnistrepro.experiments.logreg  # noqa: F401

    monkeypatch.setitem(choices.LOSS_VARIANTS, LOSS.name, LOSS)
    monkeypatch.setitem(choices._IMPLEMENTATIONS["loss"], LOSS.name, hinge())
    monkeypatch.setitem(choices.C3_VARIANTS, C3.name, C3)
    monkeypatch.setitem(choices._IMPLEMENTATIONS["c3"], C3.name, lambda: SparseC3(HALF_TABLE))


CONFIG = {
    "pair": [4, 9],
    "logreg": {"losses": ["mse", "ce", LOSS.name], "scalings": ["raw", "unit"], "seeds": 6, "steps": 400,
               "eval_steps": [100]},
    "pair_sweep": {"pairs": [[4, 9], [3, 5], [7, 9]], "seeds": 3, "steps": 200, "long_seeds": 0},
    "lenet": {"c3": ["sparse", "full", C3.name], "seeds": [0, 1, 2], "epochs": 1, "train_limit": 1500,
              "test_limit": 500},
    "scale_grid": {"enabled": False},
}


def study_config() -> dict:
    import yaml

    from mnistrepro.study.config import seed_list

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, copy.deepcopy(CONFIG))
    for section in ("logreg", "pair_sweep", "lenet"):
        config[section]["seeds"] = seed_list(config[section]["seeds"])
    return config


@pytest.mark.usefixtures("new_variants")
def test_a_registered_loss_and_c3_kind_reach_tables_comparisons_findings_and_captions(mnist):
    torch.set_num_threads(1)
    config = study_config()
    logreg, lenet, sweep_config = config["logreg"], config["lenet"], config["pair_sweep"]
    hardware = job_hardware(torch.device("cpu"))
    pair = extract_pair(mnist, config["pair"])
    records = [r for loss in logreg["losses"] for scaling in logreg["scalings"]
               for r in run_seeds(pair, loss, scaling, logreg["seeds"], logreg["steps"], logreg["lr"],
                                  logreg["eval_steps"], hardware=hardware)]
    sweep = [r for digits in sweep_config["pairs"]
             for r in run_seeds(extract_pair(mnist, digits), sweep_config["loss"], sweep_config["scaling"],
                                sweep_config["seeds"], sweep_config["steps"], sweep_config["lr"], [],
                                experiment="pair_sweep", hardware=hardware)]
    data = to_device_data(mnist, "cpu", train_limit=lenet["train_limit"], test_limit=lenet["test_limit"])
    trainings, evaluations, histories = [], [], []
    for c3 in lenet["c3"]:
        for seed in lenet["seeds"]:
            run = LeNetRun(c3=c3, seed=seed, epochs=lenet["epochs"], train_limit=lenet["train_limit"],
                           test_limit=lenet["test_limit"])
            result = train_alone(run, data)
            training = training_record(run, result, data, hardware, "model.pt", "-")
            trainings.append(training)
            evaluations.append(evaluation_record({"c3": c3, "seed": seed, "epochs": run.epochs}, training,
                                                 evaluate(result.model, data.test_x, data.test_y), "cpu", 1, 0.0))
            histories.append((training, pd.DataFrame(result.history)))
    # The exploratory tables, as rule exploratory_lenet makes them.
    sweep_runs = runs_table(sweep=sweep)
    seed, resamples = config["stats"]["seed"], 199
    pairs = logreg_tables(sweep_runs, 0.5, seed, resamples)["pairs"]
    exploratory = {
        "confusions": confusion_table(evaluations, table_rng(seed, "lenet_pair_confusions"), resamples),
        "ranking": ranking_table(evaluations, pairs, sweep_runs, table_rng(seed, "pair_ranking_models"), resamples),
        "per_epoch": per_epoch_table(lenet_history(histories), choices.claim_pair("c3"), resamples),
    }
    rgb, _ = load_sample_rgb(config["identities"]["rgb_sample"])
    identities = run_all_checks(mnist["test_images"][:50], mnist["test_labels"][:50], rgb, rgb_name="sample",
                                pool_sizes=[2], maxpool_sizes=[2], mlp_depths=[2], mlp_hidden=8, mlp_batch=4, seed=0,
                                device=torch.device("cpu"))
    stats = {**config["stats"], "resamples": resamples, "image_resamples": 99}
    tables, made = aggregate_study(records, sweep, trainings, evaluations, identities, exploratory, None,
                                   config["pair"], [100, 400], stats)
    facts = Facts(made, not_run_parts(left_out_parts(config)), config=config)

    # Tables: a row per new variant.
    summary = tables["summary"]
    assert set(summary.loc[summary["experiment"] == "logreg", "loss"]) == {"mse", "ce", LOSS.name}
    total = analytic_param_counts(C3.name)["total"]  # 60,506: the full C3's 2,416 parameters replaced by 1,216
    assert total == 60506 and (tables["runs"].loc[tables["runs"]["c3"] == C3.name, "trainable_params"] == total).all()
    # Comparisons: each new variant against its reference (MSE; full C3), in the claim's family at the last step
    # count or epoch, named by the registry's labels.
    comparisons = tables["comparisons"].set_index("key")
    loss = comparisons.loc[f"loss_{LOSS.name}_vs_mse_raw_final"]
    assert (loss["a"], loss["b"], loss["family"]) == ("hinge loss (raw)", "MSE loss (raw)", "loss")
    assert comparisons.loc[f"loss_{LOSS.name}_vs_mse_unit_100", "family"] == "descriptive"
    c3 = comparisons.loc[f"c3_{C3.name}_vs_full"]
    assert (c3["a"], c3["b"], c3["family"]) == ("half C3", "full C3", "c3")
    assert comparisons.loc[f"c3_{C3.name}_vs_full_equivalence", "family"] == "c3"
    assert comparisons.loc[f"c3_{C3.name}_vs_full_ece", "family"] == "descriptive"
    assert "half C3" in c3["verdict"] and "hinge loss (raw)" in loss["verdict"]
    # The new members join their families (Holm over more tests), the primary tests stay the seed's.
    assert comparisons.loc["loss_ce_vs_mse_raw_final", "role"] == "primary"
    assert comparisons.loc["c3_sparse_vs_full_equivalence", "role"] == "primary"
    assert loss["family_size"] == (comparisons["family"] == "loss").sum() == 5
    # Findings: a line per new comparison, with its verdict.
    lines = findings(config, facts)
    hinge_line = next(line for line in lines if line.startswith("**MSE loss vs hinge loss**"))
    assert facts[f"loss_{LOSS.name}_vs_mse_raw_final_verdict"] in hinge_line
    half_line = next(line for line in lines if line.startswith("**Half C3 vs full C3**"))
    assert facts[f"c3_{C3.name}_vs_full_claim"] in half_line
    assert "hinge loss in" in next(line for line in lines if "escapes chance" in line)
    assert "half C3 vs full C3" in facts["families"]
    # Captions: every caption that lists variants lists the new ones.
    for caption, expected in [("summary.rst", ["hinge loss, raw pixels", "half C3 (60,506 parameters)"]),
                              ("accuracy_vs_params.rst", ["half C3 vs full C3: "]),
                              ("lenet_calibration.rst", ["half C3: test accuracy", "half C3 vs full C3: "]),
                              ("params.rst", ["half C3 60,506"]),
                              ("train_time.rst", ["half C3 ", "hinge loss, unit pixels "]),
                              ("logreg_steps.rst", ["hinge loss, unit pixels: "]),
                              ("lenet_test_set.rst", ["half C3: "])]:
        html = render_caption(caption, CONFIG, facts)
        for text in expected:
            assert text in html, (caption, text)
