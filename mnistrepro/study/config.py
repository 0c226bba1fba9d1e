"""Config checks that the JSON schema (workflow/schemas/config.schema.yaml) cannot express, and the one check of
the variant names against the registry (mnistrepro.study.choices: the schema lists no variant, so a new one is its
registry entry and its implementation alone)."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from mnistrepro.study.choices import check_variant
from mnistrepro.study.logs import ConfigError
from mnistrepro.study.seeds import seed_list
from mnistrepro.study.studies import RESERVED_STUDY_NAMES

__all__ = ["ConfigError", "check_config", "check_scale_grid", "divisor_label", "seed_list"]


def check_config(config: Mapping[str, Any]) -> None:
    """Cross-field checks, run after schema validation (which has filled in the defaults)."""
    if config["study"] in RESERVED_STUDY_NAMES:
        raise ConfigError(
            f"study: {config['study']!r} is a directory of the default study or of the shared runs under "
            f"results/; expected another name (reserved: {', '.join(sorted(RESERVED_STUDY_NAMES))})"
        )
    # The one check of the variant names (the schema checks only that they are strings): a name the registry does
    # not hold stops here, before any job, with the names it holds.
    variants = [("loss", "logreg.losses", config["logreg"]["losses"]),
                ("scaling", "logreg.scalings", config["logreg"]["scalings"]),
                ("loss", "pair_sweep.loss", [config["pair_sweep"]["loss"]]),
                ("scaling", "pair_sweep.scaling", [config["pair_sweep"]["scaling"]]),
                ("c3", "lenet.c3", config["lenet"]["c3"])]
    for family, key, names in variants:
        for name in names:
            try:
                check_variant(family, name, key)
            except ValueError as err:
                raise ConfigError(str(err)) from None
    logreg = config["logreg"]
    too_late = [s for s in logreg["eval_steps"] if s > logreg["steps"]]
    if too_late:
        raise ConfigError(
            f"logreg.eval_steps: {too_late} exceed logreg.steps ({logreg['steps']}); "
            "expected step counts between 1 and logreg.steps"
        )
    check_scale_grid(config["scale_grid"])
    if config["data"]["sources"] == ["local"] and not config["data"]["local_dir"]:
        raise ConfigError("data.local_dir: required when data.sources is [local]; expected a directory path")
    identities = config["identities"]
    if identities["n_images"] is not None and identities["figure_index"] >= identities["n_images"]:
        raise ConfigError(
            f"identities.figure_index: {identities['figure_index']} is not among the first "
            f"identities.n_images ({identities['n_images']}) test images; expected 0 to {identities['n_images'] - 1}"
        )


def divisor_label(divisor: float) -> str:
    """A scale-grid divisor as file names and wildcards write it (``4``, ``0.5``, ``255``)."""
    return f"{float(divisor):g}"


def check_scale_grid(grid: Mapping[str, Any]) -> None:
    """The scale grid's divisors: positive finite numbers whose labels (:func:`divisor_label`, the job and file
    names) differ."""
    bad = [d for d in grid["divisors"] if isinstance(d, bool) or not 0 < d < math.inf]
    if bad:
        raise ConfigError(f"scale_grid.divisors: expected positive numbers (what the 0-255 pixel values are divided "
                          f"by), got {', '.join(map(repr, bad))}")
    labels = [divisor_label(d) for d in grid["divisors"]]
    twins = sorted({label for label in labels if labels.count(label) > 1})
    if twins:
        raise ConfigError(f"scale_grid.divisors: {', '.join(twins)} given twice (to 6 significant digits, as the "
                          f"grid's files name them); expected distinct divisors")


def evaluated_steps(eval_steps: Sequence[int], steps: int) -> list[int]:
    """The step counts a logistic-regression run is evaluated at: ``eval_steps`` and its last, ``steps``
    (which is the last of the list), ascending."""
    return sorted({int(s) for s in eval_steps} | {int(steps)})
