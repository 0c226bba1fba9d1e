"""The comparisons of a study: the registry's rules (mnistrepro.study.choices.COMPARISONS) expanded into one
comparison per compared variant, step count and ``across`` value, each with its fact key, family and role.

The registry declares the rules as data; this module is the one place that expands them, for the variants a
configuration runs (:func:`comparison_specs`, read by the facts file's not-run parts and the findings) and for the
variants a study's runs hold (:func:`study_comparisons`, read by the aggregation and the report's words), so the
tables, facts and verdicts cannot disagree. Torch-free and free of statistics: a list of what to compare.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product
from typing import Any, Sequence

import pandas as pd

from mnistrepro.study.choices import COMPARISONS, VARIANTS, ComparisonRule, variant_label


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison of a study, made from a :class:`ComparisonRule` and the variants a study runs: in
    ``rule.experiment``, the runs whose ``rule.factor`` is ``a`` against those where it is ``b`` (the reference),
    with the columns of ``where`` fixed (a step count, a scaling, a loss, the last epoch). ``key`` names its facts
    (``{key}_verdict``); ``family`` is its confirmatory family ("": descriptive) and ``primary`` whether it is
    that family's primary test."""

    rule: ComparisonRule
    key: str
    a: str
    b: str
    label_a: str
    label_b: str
    where: tuple = ()
    family: str = ""
    primary: bool = False


def comparison_key(rule: ComparisonRule, a: str, across: Sequence[str], at: str | None) -> str:
    """``loss_ce_vs_mse_raw_final``: the rule's name, the compared variants, the ``across`` values, the metric
    where it is not accuracy, the step count (``final`` for the last) where the experiment has one, and for a
    TOST ``equivalence``."""
    parts = [rule.name, a, "vs", str(rule.reference), *across]
    if rule.metric != "test_accuracy":
        parts.append(rule.metric)
    if rule.kind == "equivalence":
        parts.append("equivalence")
    if at is not None:
        parts.append(at)
    return "_".join(parts)


def hardest_key(rule: ComparisonRule, steps: int) -> str:
    """``hardest_10000``: the key of the hardest-pair rule's row at ``steps`` (the aggregation makes those rows from
    the sweep's data)."""
    return f"{rule.name}_{int(steps)}"


def comparison_rule(key: str, metric: str) -> ComparisonRule:
    """The rule of :data:`COMPARISONS` that made the comparisons.csv row of ``key`` and ``metric`` (its columns): a
    key starts with its rule's name (:func:`comparison_key`, :func:`hardest_key`), an equivalence's holds the part
    ``equivalence``, and rules of one name differ in kind or metric."""
    equivalence = "equivalence" in key.split("_")
    found = [rule for rule in COMPARISONS if key.startswith(f"{rule.name}_") and rule.metric == metric
             and (rule.kind == "equivalence") == equivalence]
    if len(found) != 1:
        raise ValueError(f"comparison key {key!r} ({metric}): expected the key of one rule of "
                         f"mnistrepro.study.choices.COMPARISONS, matched {len(found)}")
    return found[0]


def comparison_specs(variants: Mapping[str, Sequence[str]], logreg_steps: Sequence[int],
                     lenet_epochs: int | None) -> list[ComparisonSpec]:
    """Every difference and equivalence comparison that :data:`COMPARISONS` makes of ``variants`` (per factor,
    the variants a study runs: ``loss``, ``scaling``, ``c3``; a loss runs at every scaling) at each of
    ``logreg_steps`` and LeNet-5's last epoch ``lenet_epochs`` (None: no LeNet-5 runs), in the order
    ``comparisons.csv`` lists them. The hardest-pair rule depends on the sweep's data and is made by the
    aggregation. Both the aggregation and the report's words read this list, so they cannot disagree."""
    final = max(logreg_steps) if len(logreg_steps) else None
    lenet_specs, logreg_specs = [], []
    for rule in COMPARISONS:
        if rule.kind == "hardest":
            continue
        run = list(variants.get(rule.factor, ()))
        if rule.reference not in run or any(v not in variants.get(c, ()) for c, v in rule.fixed):
            continue
        others = [v for v in run if v != rule.reference]
        # Every combination of the ``across`` columns' values (one empty combination where there are none).
        combos = list(product(*[[(c, v) for v in variants.get(c, ())] for c in rule.across]))
        if rule.experiment == "lenet":
            if lenet_epochs is None:
                continue
            at_list = [(None, (("epochs", lenet_epochs),), rule.family)]
        else:
            at_list = [(step_key(s, final), (("steps", s),), rule.family if s == final else "") for s in logreg_steps]
        for index, (at, where_at, family) in enumerate(at_list):
            for a in others:
                for combo in combos:
                    where = (*rule.fixed, *combo, *where_at)
                    label_a = _comparison_label(rule, a, where)
                    label_b = _comparison_label(rule, rule.reference, where)
                    spec = ComparisonSpec(rule, comparison_key(rule, a, [v for _, v in combo], at), a,
                                          rule.reference, label_a, label_b, where, family)
                    (lenet_specs if rule.experiment == "lenet" else logreg_specs).append((index, spec))
    specs = [s for _, s in lenet_specs] + [s for _, s in sorted(logreg_specs, key=lambda x: x[0])]
    return _mark_primary(specs)


def _comparison_label(rule: ComparisonRule, value: str, where: Sequence[tuple[str, Any]]) -> str:
    """``logistic loss (raw)``: the variant's label, with the short names of the other variants it is compared at."""
    label = variant_label(rule.factor, value)
    context = [VARIANTS[c][v].short for c, v in where if c in VARIANTS and c != rule.factor]
    return f"{label} ({', '.join(context)})" if context else label


def _mark_primary(specs: list[ComparisonSpec]) -> list[ComparisonSpec]:
    """Each family's primary test: the one its rule declares, else the family's first member."""
    marked = list(specs)
    for family in dict.fromkeys(s.family for s in specs if s.family):
        members = [i for i, s in enumerate(specs) if s.family == family]
        declared = [i for i in members if specs[i].rule.primary and all(
            (specs[i].a if c == "a" else dict(specs[i].where).get(c)) == v for c, v in specs[i].rule.primary)]
        primary = declared[0] if declared else members[0]
        marked[primary] = replace(specs[primary], primary=True)
    return marked


def step_key(steps: int, final: int | None) -> str:
    """A step count as fact keys name it: the last one is ``final``, so captions need not know the config's."""
    return "final" if steps == final else str(steps)



def study_comparisons(runs: pd.DataFrame, logreg_steps: Sequence[int]) -> list[ComparisonSpec]:
    """The comparisons this study's runs support (:func:`comparison_specs` of the variants in
    ``runs``), in the order ``comparisons.csv`` lists them. Every table row, fact and verdict iterates over this
    list."""
    lenet = runs[runs["experiment"] == "lenet"]
    logreg = runs[runs["experiment"] == "logreg"]
    variants = {"c3": in_registry_order("c3", lenet["c3"]), "loss": in_registry_order("loss", logreg["loss"]),
                "scaling": in_registry_order("scaling", logreg["scaling"])}
    specs = comparison_specs(variants, logreg_steps, int(lenet["epochs"].max()) if not lenet.empty else None)
    # A grid with holes (a loss run on one scaling only) supports fewer comparisons than its variants would.
    return [spec for spec in specs if not (select_runs(runs, spec, spec.a).empty or select_runs(runs, spec, spec.b).empty)]


def in_registry_order(factor: str, values: pd.Series) -> list[str]:
    present = set(values.dropna())
    return [name for name in VARIANTS[factor] if name in present]


def select_runs(runs: pd.DataFrame, spec: ComparisonSpec, value: str) -> pd.DataFrame:
    """The runs of ``spec``'s experiment whose factor is ``value``, with the columns of ``spec.where`` fixed."""
    rows = runs[(runs["experiment"] == spec.rule.experiment) & (runs[spec.rule.factor] == value)]
    for column, fixed in spec.where:
        rows = rows[rows[column] == fixed]
    return rows
