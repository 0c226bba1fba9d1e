"""The exploratory LeNet-5 analyses in words (mnistrepro.analysis.exploratory's tables): which digit pair LeNet-5
confuses most, how its ranking of the pairs compares with logistic regression's, and the sparse - full difference after
every epoch. They describe; every sentence says so where it could be read as a test."""

from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from mnistrepro.analysis.definitions import BOTH
from mnistrepro.report.numbers import interval_text, pair_label, percent, signed_points

__all__ = ["confusion_facts", "ranking_facts", "per_epoch_facts", "exploratory_facts"]

# The pairs the facts name from each ranking.
TOP = 3


def confusion_facts(confusions: pd.DataFrame) -> dict[str, str]:
    """``lenet_most_confused_pair``: the pair LeNet-5 confuses most over all runs, with its rate, interval and rank
    interval; ``lenet_<c3>_most_confused``: the same per C3 kind."""
    facts: dict[str, str] = {}
    for c3, table in confusions.groupby("c3", sort=False):
        top = table.sort_values("rank").iloc[0]
        text = f"{pair_label(top['pair'])} ({percent(top['rate'])} of its two digits' test images"
        if math.isnan(top["ci95_low"]):
            text += f", {top['ci_method']})"
        else:
            text += (f", 95% CI {interval_text(top['ci95_low'], top['ci95_high'], top['ci_method'], int(top['n_seeds']))}"
                     f"; rank 1 of {len(table)}, "
                     f"95% bootstrap interval {int(top['rank_low'])} to {int(top['rank_high'])}; "
                     f"{int(top['n_seeds'])} seeds)")
        facts["lenet_most_confused_pair" if c3 == BOTH else f"lenet_{c3}_most_confused"] = text
    return facts


def ranking_facts(ranking: pd.DataFrame) -> dict[str, str]:
    """Per sweep step count (``pair_models_1000``): whether logistic regression's hardest pair is LeNet-5's most
    confused among the shared pairs (else LeNet-5's rank of it), each ranking's top pairs, and the Spearman
    correlation of the two with its interval."""
    facts: dict[str, str] = {}
    for steps, table in ranking.groupby("steps", sort=True):
        n = len(table)
        by_lenet, by_logreg = table.sort_values("lenet_rank"), table.sort_values("logreg_rank")
        hardest, confused = by_logreg.iloc[0], by_lenet.iloc[0]
        among = "of the 45 pairs" if n == 45 else f"among the {n} pairs the sweep ran"
        if hardest["pair"] == confused["pair"]:
            verdict = (f"logistic regression's hardest pair, {pair_label(hardest['pair'])}, is also LeNet-5's most "
                       f"confused {among}")
        else:
            rank = f"rank {int(hardest['lenet_rank'])} of {n}"
            if not math.isnan(hardest["lenet_rank_low"]):
                rank += f", 95% bootstrap interval {int(hardest['lenet_rank_low'])} to {int(hardest['lenet_rank_high'])}"
            verdict = (f"logistic regression's hardest pair, {pair_label(hardest['pair'])}, is not LeNet-5's most "
                       f"confused {among} ({pair_label(confused['pair'])} is; {pair_label(hardest['pair'])} has "
                       f"LeNet-5's {rank})")
        tops = (f"top {min(TOP, n)}, logistic regression: "
                + ", ".join(pair_label(p) for p in by_logreg["pair"].head(TOP))
                + "; LeNet-5: " + ", ".join(pair_label(p) for p in by_lenet["pair"].head(TOP)))
        row = table.iloc[0]
        if math.isnan(row["spearman"]):
            rho = f"no rank correlation ({row['spearman_method']})"
        elif math.isnan(row["spearman_ci95_low"]):
            rho = f"Spearman ρ = {row['spearman']:.2f} over {n} pairs ({row['spearman_method']})"
        else:
            rho = (f"Spearman ρ = {row['spearman']:.2f} over {n} pairs (95% bootstrap interval "
                   f"{row['spearman_ci95_low']:.2f} to {row['spearman_ci95_high']:.2f})")
        facts[f"pair_models_{int(steps)}"] = f"{verdict}; {tops}; {rho}"
    return facts


def per_epoch_facts(per_epoch: pd.DataFrame) -> dict[str, str]:
    """``c3_per_epoch_verdict``: at which epochs the interval of the C3 claim's difference excludes 0 (or that it excludes 0 at
    none); ``c3_per_epoch_caveat``: that these are looks at the same runs, described and not tested."""
    if per_epoch.empty:
        return {}
    epochs = per_epoch["epoch"].astype(int).tolist()
    n = int(per_epoch["n_pairs"].min())
    span = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs[0]} to {epochs[-1]}"
    differ = per_epoch[per_epoch["interval_excludes_zero"].astype(bool)]
    # (-1, 1), every possible difference, is mnistrepro.analysis.stats' interval where no sign pattern could reject.
    unbounded = (per_epoch["ci95_low"] <= -1) & (per_epoch["ci95_high"] >= 1)
    if per_epoch["ci95_low"].isna().all():
        verdict = f"no interval at any of {span} ({per_epoch['ci_method'].iloc[0]})"
    elif unbounded.all():
        verdict = (f"no epoch can show a difference: with {n} pairs the exact interval spans every possible "
                   f"difference at each of {span}")
    elif differ.empty:
        largest = per_epoch.loc[per_epoch["difference"].abs().idxmax()]
        verdict = (f"the {per_epoch['a'].iloc[0]} and {per_epoch['b'].iloc[0]} C3 kinds do not differ at any of {span}: "
                   f"every 95% interval includes 0 "
                   f"(largest difference {signed_points(largest['difference'])} points, at epoch {int(largest['epoch'])})")
    else:
        which = "; ".join(f"epoch {int(r.epoch)}: {signed_points(r.difference)} points ({signed_points(r.ci95_low)} to "
                          f"{signed_points(r.ci95_high)})" for r in differ.itertuples(index=False))
        a, b = per_epoch["a"].iloc[0], per_epoch["b"].iloc[0]
        verdict = (f"{a} - {b} excludes 0 at {len(differ)} of {len(epochs)} epochs ({which}); at the others "
                   f"the 95% interval includes 0")
    caveat = (f"these are {len(epochs)} looks at the same {n} pairs of runs (each epoch builds on the one before), "
              f"so the figure describes their course and tests nothing: no p-values, no multiplicity adjustment, "
              f"in no confirmatory family")
    return {"c3_per_epoch_verdict": f"{verdict} (n = {n} pairs)", "c3_per_epoch_caveat": caveat}


def exploratory_facts(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Every fact of the two exploratory analyses, from their tables (``confusions``: :func:`confusion_table`,
    ``ranking``: :func:`ranking_table`, ``per_epoch``: :func:`per_epoch_table`); a table that is empty (its part
    not run in this configuration) gives no facts."""
    return {**confusion_facts(tables["confusions"]), **ranking_facts(tables["ranking"]),
            **per_epoch_facts(tables["per_epoch"])}

