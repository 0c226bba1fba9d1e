"""The report's facts (``results/tables/facts.json``): the numbers and sentences the aggregation measured, the
parts of the study the configuration left out, and the configuration they came from.

A fact is either measured, or *not run*: its part of the study was left out by the configuration (a loss, a
scaling or a C3 kind it does not train, the sweep switched off, a setting the reference never ran), which the
aggregation records in the file (:func:`left_out_parts`, worded by mnistrepro.report.not_run); such a fact reads
:data:`NOT_RUN`. Any other name a caption, a finding or the README block asks for is an error that names it
(:class:`MissingFactError`), so a misspelt key never renders as a plausible sentence.

The file::

    {"format": "mnistrepro-facts/2", "config": {...}, "not_run": {part: [key patterns]}, "facts": {key: text}}

Torch-free: the Snakefile reads the facts at parse time.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from mnistrepro.analysis.comparisons import comparison_specs, step_key
from mnistrepro.study.choices import (C3_VARIANTS, LOSS_VARIANTS, SCALING_VARIANTS, claim_pair, config_variants,
                                      registered_variants)
from mnistrepro.study.config import evaluated_steps
from mnistrepro.study.io import write_json
from mnistrepro.study.logs import ActionableError
from mnistrepro.study.seeds import seed_list

__all__ = ["FACTS_FORMAT", "NOT_RUN", "REFERENCE_ACCURACY", "Facts", "FactsFileError", "LeftOut",
           "MissingFactError", "config_differences", "current_facts", "left_out_parts", "read_facts", "step_key",
           "study_config", "write_facts"]

# 3: the claims table's facts (glance_*); a study with facts of an older format aggregates again.
FACTS_FORMAT = "mnistrepro-facts/3"
NOT_RUN = "not run in this configuration"
# The reference's single runs (docs/SPEC.md), all on its one digit pair: (pair, loss, scaling, steps) -> test
# accuracy. Another pair or step count has no reference run to compare with.
REFERENCE_PAIR = "4-9"
REFERENCE_ACCURACY = {(REFERENCE_PAIR, "mse", "raw", 10000): 0.7805, (REFERENCE_PAIR, "ce", "raw", 1000): 0.9121}


class MissingFactError(ActionableError, RuntimeError):
    """A fact was asked for that the facts do not hold and that no part left out by the configuration explains.

    Not a ``LookupError``: Jinja renders a missing key that raises one as an empty string."""

    default_action = ("If the name is misspelt (in a caption under workflow/report/ or in mnistrepro/report/findings.py), "
                      "correct it; otherwise rerun the study so that its aggregation writes the facts again.")


class FactsFileError(ActionableError, ValueError):
    """A facts file that is missing, empty, of another format, or of another configuration."""

    default_action = ("Run the study with this configuration first (`snakemake --cores all`, with the same "
                      "--configfile), then use its results/.../tables/facts.json.")


class Facts(dict):
    """The facts, keyed by name (a flat mapping of strings, as captions quote them).

    A name this mapping lacks reads :data:`NOT_RUN` when it matches a pattern of a part the configuration left
    out (``not_run``: the part's words -> key patterns, mnistrepro.report.not_run.not_run_parts), and raises
    :class:`MissingFactError` otherwise.
    ``origin`` names where the facts came from, for that error; ``config`` is the configuration they were made
    under (:func:`study_config`), or None where unknown."""

    def __init__(self, facts: Mapping[str, str] | Iterable = (), not_run: Mapping[str, list[str]] | None = None,
                 origin: str = "the facts", config: Mapping[str, Any] | None = None) -> None:
        super().__init__(facts)
        self._not_run = {part: list(patterns) for part, patterns in (not_run or {}).items()}
        self._origin = origin
        self._config = config

    def __missing__(self, key: str) -> str:
        if self.part_not_run(key) is not None:
            return NOT_RUN
        if self._config is None and not self:
            raise MissingFactError(f"fact {key!r} asked for before {self._origin} exists",
                                   action="Run the study first (the same snakemake command without --report); its "
                                          "aggregation writes the facts.")
        raise MissingFactError(f"{self._origin} has no fact {key!r}, and no part of the study that this configuration "
                               f"left out would have produced it")

    def part_not_run(self, key: str) -> str | None:
        """The part left out by the configuration that ``key`` belongs to, or None."""
        return next((part for part, patterns in self._not_run.items()
                     if any(fnmatch.fnmatchcase(key, p) for p in patterns)), None)

    @property
    def not_run(self) -> dict[str, list[str]]:
        return copy.deepcopy(self._not_run)

    @property
    def config(self) -> dict | None:
        return copy.deepcopy(self._config)

    def with_facts(self, more: Mapping[str, str]) -> "Facts":
        """These facts with ``more`` added (same parts left out, origin and configuration)."""
        return Facts({**self, **more}, self._not_run, self._origin, self._config)

    def document(self) -> dict:
        """The facts file's content."""
        return {"format": FACTS_FORMAT, "config": self._config, "not_run": self._not_run, "facts": dict(self)}

    def __reduce__(self):  # pickled into every job's script preamble with the config
        return (Facts, (dict(self), self._not_run, self._origin, self._config))


def study_config(config: Mapping[str, Any]) -> dict:
    """``config`` as a study's facts record it: the validated configuration (schema defaults filled in), seeds
    as lists, without what the workflow adds at parse time (``facts``, ``findings``, ``glance``, ``labels``)."""
    config = {k: copy.deepcopy(v) for k, v in config.items() if k not in ("facts", "findings", "glance",
                                                                         "glance_figures", "labels")}
    for section in ("logreg", "pair_sweep", "lenet"):
        if section in config:
            config[section]["seeds"] = seed_list(config[section]["seeds"])
    return json.loads(json.dumps(config))  # plain JSON types (a tuple reads back as a list)


def config_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """The dotted keys where two configurations differ (``lenet.seeds``), each with both values."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{where}: {a.get(key, 'absent')!r} vs {b.get(key, 'absent')!r}")
            else:
                out += config_differences(a[key], b[key], where)
        return out
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


class LeftOut(NamedTuple):
    """A part of the study that a configuration leaves out (:func:`left_out_parts`): ``part`` says which kind of
    part (``"loss"``, ``"comparison"``, ``"pair_sweep"``, ...), ``names`` the variants, labels or titles that say
    which one of its kind (a loss, a scaling, a C3 kind; a comparison's title and the labels of its two sides).
    Worded by mnistrepro.report.not_run."""

    part: str
    names: tuple[str, ...] = ()


def left_out_parts(config: Mapping[str, Any]) -> dict[LeftOut, list[str]]:
    """The parts of the study that ``config`` leaves out, each with the patterns of the fact keys it would have
    produced (``fnmatch``). Everything else the aggregation must produce. mnistrepro.report.not_run words the parts
    (the facts file keys them by those words)."""
    parts: dict[LeftOut, list[str]] = {}
    logreg = config["logreg"]
    losses, scalings = set(logreg["losses"]), set(logreg["scalings"])
    for loss in LOSS_VARIANTS:
        if loss not in losses:
            parts[LeftOut("loss", (loss,))] = [
                f"logreg_{loss}_*", f"escape_{loss}_*", f"escaped_{loss}_*", f"reference_{loss}_*",
                f"scale_grid_{loss}_*"]
    for scaling in SCALING_VARIANTS:
        if scaling not in scalings:
            parts[LeftOut("scaling", (scaling,))] = [
                f"logreg_*_{scaling}_*", f"escape_*_{scaling}_*", f"escaped_*_{scaling}_*", f"reference_*_{scaling}_*"]
    steps_evaluated = evaluated_steps(logreg["eval_steps"], logreg["steps"])
    final = steps_evaluated[-1]
    # A comparison the registry makes of every variant but this config's variants do not support.
    ran = config_variants(config)
    epochs = config["lenet"]["epochs"]
    made = {spec.key for spec in comparison_specs(ran, steps_evaluated, epochs)}
    for spec in comparison_specs(registered_variants(), steps_evaluated, epochs):
        if spec.key not in made:
            parts.setdefault(LeftOut("comparison", (spec.rule.title, spec.label_a, spec.label_b)), []).append(
                f"{spec.key}_*")
    pair = "{}-{}".format(*config["pair"])
    no_reference = [f"reference_{loss}_{scaling}_{step_key(steps, final)}"
                    for loss in sorted(losses) for scaling in sorted(scalings) for steps in steps_evaluated
                    if (pair, loss, scaling, steps) not in REFERENCE_ACCURACY]
    if no_reference:
        parts[LeftOut("reference_run")] = no_reference
    # A configuration from before the scale grid existed has no section for it: it did not run the grid either.
    if not config.get("scale_grid", {}).get("enabled", False):
        parts[LeftOut("scale_grid")] = ["scale_grid_*"]
    else:
        compared, reference = claim_pair("loss")
        if reference not in losses:
            parts[LeftOut("scale_grid_escape", (reference,))] = ["scale_grid_escape_verdict"]
        if not {compared, reference} <= losses:
            parts[LeftOut("scale_grid_losses", (compared, reference))] = ["scale_grid_loss_verdict",
                                                                         "scale_grid_verdict"]
    if not any(spec.rule.name == "loss" for spec in comparison_specs(ran, [final], epochs)):
        parts[LeftOut("loss_claim")] = ["glance_loss_*"]
    sweep = config["pair_sweep"]
    if not sweep["enabled"]:
        parts[LeftOut("pair_sweep")] = [
            "sweep_n_*", "pair_verdict_*", "hardest_pair_*", "easiest_pair_*", "main_pair_rank_*", "share_rank1_*",
            "hardest_*_verdict", "glance_hardest_*"]
        parts[LeftOut("pair_models")] = ["pair_models_*"]
    elif sweep["pairs"] is not None and sorted(config["pair"]) not in [sorted(p) for p in sweep["pairs"]]:
        parts[LeftOut("main_pair_rank")] = ["main_pair_rank_*", "hardest_*_verdict", "glance_hardest_*"]
    c3 = set(config["lenet"]["c3"])
    for kind in C3_VARIANTS:
        if kind not in c3:
            parts[LeftOut("c3_kind", (kind,))] = [f"lenet_{kind}_*"]
    if not any(spec.rule.name == "c3" for spec in comparison_specs(ran, [], epochs)):
        parts[LeftOut("c3_claim")] = [
            "lenet_paired_sd", "lenet_n_plan", "lenet_achieved", "lenet_test_set", "c3_claims", "c3_ece_verdicts",
            "lenet_tost_power", "c3_family_holm", "glance_c3_*"]
        parts[LeftOut("c3_per_epoch")] = ["c3_per_epoch_*"]
    return parts


def current_facts(path: str | os.PathLike, config: Mapping[str, Any]) -> Facts | None:
    """The facts at ``path`` where they are ``config``'s (made by a study that aggregated with it); None where the
    file does not exist yet, is of another format (an older version's), or came from another configuration: its
    study will aggregate again."""
    try:
        facts = read_facts(path)
    except FactsFileError:
        return None
    return facts if facts.config is not None and not config_differences(facts.config, study_config(config)) else None


def write_facts(path: str | os.PathLike, facts: Mapping[str, str], not_run: Mapping[str, list[str]],
                config: Mapping[str, Any]) -> None:
    """Write the facts file: ``facts``, the parts ``config`` left out (``not_run``: each part's words, from
    mnistrepro.report.not_run, with its key patterns, from :func:`left_out_parts`), and ``config``
    (:func:`study_config`)."""
    write_json(Facts(facts, not_run, config=study_config(config)).document(), path)


def read_facts(path: str | os.PathLike) -> Facts:
    """The facts file at ``path`` (:func:`write_facts`). A missing, empty or unreadable file, or one of another
    format, is a :class:`FactsFileError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise FactsFileError(f"{path} does not exist: the study that writes it has not run (to its aggregation)")
    text = path.read_text()
    if not text.strip():
        raise FactsFileError(f"{path} is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise FactsFileError(f"{path} is not JSON ({err})") from None
    if not isinstance(document, dict) or document.get("format") != FACTS_FORMAT:
        found = document.get("format", "none") if isinstance(document, dict) else type(document).__name__
        raise FactsFileError(f"{path} is not a facts file of format {FACTS_FORMAT} (its format: {found}); "
                             f"expected the results/.../tables/facts.json of a study's aggregation")
    return Facts(document["facts"], document["not_run"], origin=str(path), config=document["config"])
