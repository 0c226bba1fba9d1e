"""The study's findings: one line per claim, with its verdict, n and interval.

The report's home page (``workflow/report/workflow.rst``) and the README's results section state the
same lines; both come from :func:`findings`. The lines use only ``**bold**``, which reads the same in
reStructuredText and Markdown.

    python -m mnistrepro.findings                     # results/tables/facts.json, config.yaml
    python -m mnistrepro.findings FACTS --config CONFIG
"""

from __future__ import annotations

import argparse
from typing import Any, Mapping

from mnistrepro.config import seed_list
from mnistrepro.io import read_facts

__all__ = ["findings"]


def findings(config: Mapping[str, Any], facts: Mapping[str, str]) -> list[str]:
    """One line per claim of the study, from the configuration (its pair, step and epoch counts) and the
    facts (``results/tables/facts.json``, as :func:`mnistrepro.io.read_facts` reads it, so that a claim
    this configuration did not test reads "not run in this configuration")."""
    pair = "{} vs {}".format(*config["pair"])
    steps = f"{config['logreg']['steps']:,}"
    epochs = config["lenet"]["epochs"]
    epochs = f"{epochs} epoch" + ("" if epochs == 1 else "s")
    sweep_seeds = len(seed_list(config["pair_sweep"]["seeds"]))
    return [
        f"**MSE vs logistic loss** (logistic regression on {pair}, raw pixels, {steps} steps): "
        f"{facts['loss_raw_final_verdict']}.",
        f"**MSE on raw pixels escapes chance** in {facts['escape_mse_raw_final']}; "
        f"the logistic loss in {facts['escape_ce_raw_final']}.",
        f"**Raw vs unit pixels** (MSE loss, {steps} steps): {facts['scaling_final_verdict']}. "
        f"With unit pixels, MSE vs logistic loss: {facts['loss_unit_final_verdict']}.",
        f"**Hardest digit pair** (logistic loss, {sweep_seeds} seeds per pair): {facts['hardest_pair']}; "
        f"{pair} ranks {facts['main_pair_rank']}.",
        f"**Sparse vs full C3** (LeNet-5, {epochs}): {facts['lenet_verdict']}. "
        f"Calibration: {facts['lenet_ece_verdict']}.",
        f"**Convolution identities**: {facts['identities_verdict']}; {facts['identities_breaks']}.",
    ]


def main(argv: list[str] | None = None) -> None:
    from pathlib import Path

    import yaml
    from snakemake.utils import validate

    parser = argparse.ArgumentParser(description="Print the study's findings as a Markdown list (for the README).")
    parser.add_argument("facts", nargs="?", default="results/tables/facts.json")
    parser.add_argument("--config", default="config.yaml", help="the configuration the facts came from")
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = yaml.safe_load(f)
    # As the workflow reads it: the schema fills in what the file leaves out.
    validate(config, str(Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"))
    for line in findings(config, read_facts(args.facts)):
        print(f"- {line}")


if __name__ == "__main__":
    main()
