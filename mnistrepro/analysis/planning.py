"""The C3 claim's sample size: the number of seed pairs planned before the runs (from the config's paired pilot SD)
and the power this study's own pairs achieve, both at the C3 family's strictest Holm level. The report words the
:class:`mnistrepro.analysis.definitions.SampleSize` this computes (mnistrepro.report.study)."""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from mnistrepro.analysis.comparisons import study_comparisons
from mnistrepro.analysis.definitions import ALPHA, POWER, SampleSize
from mnistrepro.analysis.stats import (equivalence_power, equivalence_required_n, minimum_detectable_difference,
                                       required_n)

__all__ = ["sample_size"]


def _pairs_needed(solve: Callable[..., int], *args: float) -> int | None:
    """``solve(*args)``, or None where it finds no n up to its ``n_max``."""
    try:
        return solve(*args)
    except ValueError:  # a spread so wide (a 1-epoch test config, say) that no practical n suffices
        return None


def sample_size(runs: pd.DataFrame, comparisons: pd.DataFrame, target_difference: float,
                planning_sd: float | None, equivalence_margin: float | None, power: float = POWER
                ) -> SampleSize | None:
    """The plan and the achieved power of the C3 family's primary test (``comparisons``' row of role primary in
    family c3), from LeNet-5's runs at their last epoch paired by seed (:class:`SampleSize`; fractions: the target
    difference, the config's planning SD, the margin); None where the comparisons have no such row."""
    primary = comparisons[(comparisons["family"] == "c3") & (comparisons["role"] == "primary")]
    if primary.empty:
        return None
    row = primary.iloc[0]
    spec = next(spec for spec in study_comparisons(runs, []) if spec.rule.name == "c3" and spec.key == row.key)
    lenet = runs[runs["experiment"] == "lenet"]
    lenet = lenet[lenet["epochs"] == lenet["epochs"].max()]
    a = lenet[lenet["c3"] == spec.a].set_index("seed")["test_accuracy"]
    b = lenet[lenet["c3"] == spec.b].set_index("seed")["test_accuracy"]
    shared = sorted(set(a.index) & set(b.index))
    n = len(shared)
    measured = float((a[shared] - b[shared]).std(ddof=1)) if n > 1 else math.nan
    family_size = int(row.family_size) or 1
    alpha = ALPHA / family_size
    planned = planning_sd is not None
    achieved = not math.isnan(measured) and measured > 0
    return SampleSize(
        n_pairs=n, paired_sd=measured, family_size=family_size, alpha=alpha, power=power,
        target_difference=target_difference, equivalence_margin=equivalence_margin, planning_sd=planning_sd,
        planned_difference_n=(_pairs_needed(required_n, planning_sd, target_difference, alpha, power)
                              if planned else None),
        planned_equivalence_n=(_pairs_needed(equivalence_required_n, planning_sd, equivalence_margin, alpha, power)
                               if planned and equivalence_margin is not None else None),
        achieved_mdd=minimum_detectable_difference(measured, n, alpha, power) if achieved else None,
        achieved_equivalence_power=(equivalence_power(measured, n, equivalence_margin, alpha)
                                    if achieved and equivalence_margin is not None else None))
