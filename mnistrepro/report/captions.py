"""The words the report's captions (``workflow/report/*.rst``) quote from the configuration, pre-formatted.

A caption is text, the facts it quotes, and at most a loop: it formats no number, builds no label and chooses
no plural (tests/test_report_layer.py scans the captions for that). What it shows of the configuration, a digit
pair, a step, epoch or seed count with its noun, a list of sizes, it reads here, from :func:`caption_labels`,
which the workflow puts in the config the report renders with (``config["labels"]``, workflow/rules/common.smk),
so that a caption reads ``{{ snakemake.config.labels.steps }}`` ("10,000 steps").
"""

from __future__ import annotations

from typing import Any, Mapping

from mnistrepro.report.findings import sweep_steps
from mnistrepro.report.numbers import count_label, epochs_label, pair_label, steps_label
from mnistrepro.study.config import seed_list

__all__ = ["caption_labels", "SWEEP_STEP_FACTS"]

# The facts the aggregation writes once per step count of the pair sweep, keyed ``<name>_<steps>``
# (mnistrepro.report.study, mnistrepro.report.exploratory).
SWEEP_STEP_FACTS = ("hardest_pair", "easiest_pair", "sweep_n", "pair_verdict", "pair_models")


def _test_images(limit: int | None) -> str:
    """Which MNIST test images a part used: ``all MNIST test images``, ``the first 200 MNIST test images``."""
    return "all MNIST test images" if limit is None else f"the first {count_label(limit, 'MNIST test image')}"


def _listed(values) -> str:
    return ", ".join(str(v) for v in values)


def caption_labels(config: Mapping[str, Any]) -> dict[str, Any]:
    """Every value a caption shows of ``config`` (the validated configuration), as the caption shows it.

    Strings, except two lists a caption loops over: ``sweep_step_counts``, one entry per step count the sweep
    ranks the pairs at, its ``steps`` label and the key of each of its facts (``f[s.pair_verdict]`` is the fact
    ``pair_verdict_1000``); and ``c3_kinds``, one entry per C3 kind, its name and the key of its most-confused fact.
    """
    logreg, sweep, lenet = config["logreg"], config["pair_sweep"], config["lenet"]
    identities, stats = config["identities"], config["stats"]
    # The pairs the sweep runs: every pair of digits, or the config's, each once (as common.smk's SWEEP_PAIRS).
    n_pairs = 45 if sweep["pairs"] is None else len({tuple(sorted(p)) for p in sweep["pairs"]})
    pool = identities["figure_pool_size"]
    return {
        "pair": pair_label(config["pair"]),
        # Logistic regression's main grid.
        "steps": steps_label(logreg["steps"]),
        "steps_run": f"{logreg['steps']:,}-step",  # one 10,000-step run
        "logreg_step_counts": _listed(sorted({int(s) for s in logreg["eval_steps"]} | {int(logreg["steps"])})),
        "logreg_seeds": count_label(len(seed_list(logreg["seeds"])), "seed"),
        # The pair sweep.
        "sweep_pairs": count_label(n_pairs, "digit pair"),
        "sweep_seeds": count_label(len(seed_list(sweep["seeds"])), "seed"),
        "sweep_steps": steps_label(sweep["steps"]),
        "long_seeds": count_label(sweep.get("long_seeds", 0), "seed"),
        "long_steps": steps_label(sweep["long_steps"]),
        "sweep_step_counts": [{"steps": steps_label(s), **{name: f"{name}_{s}" for name in SWEEP_STEP_FACTS}}
                              for s in sweep_steps(config)],
        # LeNet-5.
        "epochs": epochs_label(lenet["epochs"]),
        "lenet_seeds": count_label(len(seed_list(lenet["seeds"])), "seed"),
        "lenet_first_seed": str(seed_list(lenet["seeds"])[0]),
        "lenet_test_images": _test_images(lenet["test_limit"]),
        "c3_kinds": [{"kind": kind, "most_confused": f"lenet_{kind}_most_confused"} for kind in lenet["c3"]],
        # The statistics' resamples.
        "resamples": count_label(stats["resamples"], "resample"),
        "sign_patterns": count_label(stats["resamples"], "sign pattern"),
        "image_resamples": count_label(stats["image_resamples"], "resample"),
        # The data and the identities.
        "data_sources": _listed(config["data"]["sources"]),
        "identities_images": _test_images(identities["n_images"]),
        "pool_sizes": _listed(identities["pool_sizes"]),
        "figure_pool": f"{pool}x{pool}",
        "mlp_depths": _listed(identities["mlp_depths"]),
        "mlp_batch": count_label(identities["mlp_batch"], "test image"),
    }
