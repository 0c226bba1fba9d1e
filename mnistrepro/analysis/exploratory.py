"""Two exploratory looks at LeNet-5 runs that already exist (they train nothing, and test nothing).

Both describe; neither enters ``comparisons.csv`` or any confirmatory family, and their tables carry no p-value:

- *Which pair is hardest for a ten-class CNN and for binary linear classifiers* (model and task differ together, so
  the comparison cannot say which of the two a difference comes from): from each run's confusion matrix, the
  confusion rate of each of the 45 digit pairs, ``(C[a, b] + C[b, a]) / (n_a + n_b)``, averaged over seeds per C3
  kind and over all runs of both kinds, with 95% intervals and ranks (1 = most confused) from a bootstrap over seeds
  (a seed's runs kept together: the kinds are paired by seed; a rate's interval follows the study's rule for a mean,
  Student t below 30 seeds, while the ranks' and the Spearman correlation's stay percentile bootstraps at any n,
  since neither is a mean and no Student-t interval applies: below 30 seeds they may be too narrow, and they
  describe); then LeNet-5's ranking next to logistic regression's (``pair_difficulty.csv``, rank 1 = lowest
  accuracy) at each of the sweep's step counts, over the pairs both have, with the Spearman correlation of the two
  rankings and its bootstrap interval (LeNet-5's seeds resampled jointly, each sweep pair's seeds independently, as
  they were drawn).
- *Does the sparse table help early?*: the paired sparse - full difference in test accuracy after every epoch
  (``history.csv``), with the interval :func:`mnistrepro.analysis.stats.compare` gives the final comparison. These are
  ``epochs`` looks at the same runs, so they describe the runs' course; they are not tests.

Torch-free: the tables are computed from the run records; mnistrepro.report.exploratory words them (from the
tables alone).
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mnistrepro.analysis.definitions import BOOTSTRAP_MIN_N, BOTH, RESAMPLES
from mnistrepro.analysis.stats import compare, interval_method, mean_interval

EXPLORATORY = "EXPLORATORY (describes, tests nothing; not in comparisons.csv)"
PAIRS = [(a, b) for a in range(10) for b in range(a + 1, 10)]

CONFUSION_COLUMNS = ["analysis", "c3", "pair", "a", "b", "n_seeds", "n_runs", "rate", "ci95_low", "ci95_high",
                     "ci_method", "rank", "rank_low", "rank_high"]
RANKING_COLUMNS = ["analysis", "steps", "pair", "n_shared_pairs", "lenet_rate", "lenet_rank", "lenet_rank_low",
                   "lenet_rank_high", "logreg_n", "logreg_mean", "logreg_rank", "logreg_rank_low", "logreg_rank_high",
                   "spearman", "spearman_ci95_low", "spearman_ci95_high", "spearman_method"]
PER_EPOCH_COLUMNS = ["analysis", "epoch", "a", "b", "n_pairs", "mean_a", "mean_b", "difference", "ci95_low", "ci95_high",
                     "ci_method", "interval_excludes_zero"]


def pair_name(a: int, b: int) -> str:
    return f"{a}-{b}"


# ------------------------------------------------------------------------------------------- confusion rates


def pair_confusion_rates(confusion: Sequence[Sequence[int]]) -> np.ndarray:
    """``[45]``: per digit pair (a < b, in :data:`PAIRS` order) the share of the two digits' test images that the
    run put in the other's class, ``(C[a, b] + C[b, a]) / (n_a + n_b)`` (``confusion`` ``[10, 10]``, ``C[t][p]``
    counts images of class t predicted as p; NaN where neither digit has a test image)."""
    c = np.asarray(confusion, dtype=float)
    n = c.sum(axis=1)
    a, b = np.array(PAIRS).T
    total = n[a] + n[b]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (c[a, b] + c[b, a]) / total, np.nan)


def run_pair_rates(evaluations: Iterable[Mapping]) -> pd.DataFrame:
    """One row per run: ``c3``, ``seed`` and the 45 pairs' confusion rates (columns named ``a-b``), from the runs'
    evaluation records (:func:`mnistrepro.experiments.lenet_eval.evaluate`)."""
    rows = [{"c3": e["c3"], "seed": int(e["seed"]),
             **dict(zip([pair_name(a, b) for a, b in PAIRS], pair_confusion_rates(e["confusion_matrix"])))}
            for e in evaluations]
    return pd.DataFrame(rows, columns=["c3", "seed", *[pair_name(a, b) for a, b in PAIRS]])


def _ranks_descending(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = the largest value (ties: the earlier column first)."""
    return (-values).argsort(axis=-1, kind="stable").argsort(axis=-1) + 1


def _ranks_ascending(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = the smallest value (ties: the earlier column first)."""
    return values.argsort(axis=-1, kind="stable").argsort(axis=-1) + 1


def bootstrap_seed_means(per_seed: np.ndarray, rng: np.random.Generator, resamples: int = RESAMPLES,
                         chunk: int = 500) -> np.ndarray:
    """``[R, P]``: the column means of ``per_seed`` ``[S, P]`` (a row per seed) over ``resamples`` bootstrap
    resamples of its rows, a whole row at a time (so the pairs of one resample share its seeds)."""
    seeds = per_seed.shape[0]
    return np.concatenate([per_seed[rng.integers(0, seeds, size=(min(chunk, resamples - start), seeds))].mean(axis=1)
                           for start in range(0, resamples, chunk)])


def _per_seed(rates: pd.DataFrame, c3: str) -> pd.DataFrame:
    """``[S, 45]``: per seed, the mean rate of that seed's runs of ``c3`` (of every kind for :data:`BOTH`)."""
    runs = rates if c3 == BOTH else rates[rates["c3"] == c3]
    return runs.drop(columns="c3").groupby("seed", sort=True).mean()


def confusion_table(evaluations: Iterable[Mapping], rng: np.random.Generator, resamples: int = RESAMPLES,
                    confidence: float = 0.95) -> pd.DataFrame:
    """LeNet-5's confusion rate of each digit pair per C3 kind and over all runs (``c3`` :data:`BOTH`), most
    confused first: ``n_seeds``, ``n_runs``, ``rate`` (mean over seeds of each seed's mean over its runs), its 95%
    interval by the study's rule for a mean (mnistrepro.analysis.stats.mean_interval: Student t below
    ``BOOTSTRAP_MIN_N`` seeds, a percentile bootstrap over seeds from there; ``ci_method``), and ``rank`` (1 = most
    confused) with its percentile-bootstrap interval over seeds at any n (a rank is not a mean: no Student-t interval
    applies to it, so below ``BOOTSTRAP_MIN_N`` seeds it may be too narrow; it describes). With fewer than two seeds
    there is nothing to resample: no intervals."""
    rates = run_pair_rates(evaluations)
    tail = (1 - confidence) / 2
    tables = []
    for c3 in [*sorted(set(rates["c3"])), BOTH]:
        per_seed = _per_seed(rates, c3)
        values = per_seed.to_numpy(dtype=float)
        rate = values.mean(axis=0)
        table = pd.DataFrame({"analysis": EXPLORATORY, "c3": c3, "pair": per_seed.columns,
                              "a": [a for a, _ in PAIRS], "b": [b for _, b in PAIRS], "n_seeds": len(per_seed),
                              "n_runs": len(rates) if c3 == BOTH else int((rates["c3"] == c3).sum()), "rate": rate,
                              "rank": _ranks_descending(rate)})
        if len(per_seed) >= 2:
            boot = bootstrap_seed_means(values, rng, resamples)
            ranks = _ranks_descending(boot)
            if len(per_seed) >= BOOTSTRAP_MIN_N:
                table["ci95_low"], table["ci95_high"] = np.quantile(boot, [tail, 1 - tail], axis=0)
                table["ci_method"] = f"percentile bootstrap over {len(per_seed)} seeds ({resamples} resamples)"
            else:
                # The study's rule for a mean below BOOTSTRAP_MIN_N values: Student t, clipped to [0, 1].
                intervals = [mean_interval(values[:, j], rng, resamples, confidence, bounds=(0.0, 1.0))
                             for j in range(values.shape[1])]
                table["ci95_low"] = [low for _, low, _, _ in intervals]
                table["ci95_high"] = [high for _, _, high, _ in intervals]
                table["ci_method"] = interval_method(len(per_seed))
            table["rank_low"] = np.quantile(ranks, tail, axis=0, method="lower").astype(int)
            table["rank_high"] = np.quantile(ranks, 1 - tail, axis=0, method="higher").astype(int)
        else:
            table["ci95_low"] = table["ci95_high"] = table["rank_low"] = table["rank_high"] = math.nan
            table["ci_method"] = "none (fewer than 2 seeds)"
        tables.append(table.sort_values(["rank"]))
    return pd.concat(tables, ignore_index=True)[CONFUSION_COLUMNS]


# ------------------------------------------------------------------------------- next to logistic regression


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``x`` with the same row of ``y`` (both ``[R, P]``; ranks with ties
    averaged): ``[R]``."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x, axis=-1), rankdata(y, axis=-1)
    rx, ry = rx - rx.mean(axis=-1, keepdims=True), ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-1) / np.sqrt((rx ** 2).sum(axis=-1) * (ry ** 2).sum(axis=-1))


def ranking_table(evaluations: Iterable[Mapping], pairs: pd.DataFrame, sweep: pd.DataFrame,
                  rng: np.random.Generator, resamples: int = RESAMPLES, confidence: float = 0.95) -> pd.DataFrame:
    """LeNet-5's ranking of the digit pairs (all runs of both kinds; rank 1 = most confused) next to logistic
    regression's (``pairs``: :func:`mnistrepro.outputs.aggregate.pair_difficulty`; rank 1 = lowest accuracy) at each of
    the sweep's step counts, over the pairs both have (each ranking re-ranked among those): one row per step count and
    pair, LeNet-5's most confused first, with both ranks' 95% bootstrap intervals and, repeated on each row of a step
    count, the Spearman correlation of the two rankings with its percentile-bootstrap interval. The bootstrap
    resamples LeNet-5's seeds jointly (every pair's rate from the same resampled seeds) and each sweep pair's seeds
    independently (``sweep``: ``runs.csv``'s pair_sweep rows, ``pair``, ``steps``, ``test_accuracy``). No interval
    with fewer than two LeNet-5 seeds or two seeds of a sweep pair; no correlation over fewer than 3 pairs."""
    if pairs.empty:
        return pd.DataFrame(columns=RANKING_COLUMNS)
    per_seed = _per_seed(run_pair_rates(evaluations), BOTH)
    tail = (1 - confidence) / 2
    tables = []
    for steps, table in pairs.groupby("steps", sort=True):
        shared = [p for p in per_seed.columns if p in set(table["pair"])]
        lenet = per_seed[shared].to_numpy(dtype=float)
        logreg = table.set_index("pair").loc[shared]
        at = sweep[sweep["steps"] == steps]
        seeds = {p: g["test_accuracy"].to_numpy(dtype=float) for p, g in at.groupby("pair")}
        lenet_rate, logreg_mean = lenet.mean(axis=0), logreg["mean"].to_numpy(dtype=float)
        out = pd.DataFrame({"analysis": EXPLORATORY, "steps": int(steps), "pair": shared,
                            "n_shared_pairs": len(shared), "lenet_rate": lenet_rate,
                            "lenet_rank": _ranks_descending(lenet_rate), "logreg_n": logreg["n"].to_numpy(),
                            "logreg_mean": logreg_mean, "logreg_rank": _ranks_ascending(logreg_mean)})
        # The two rankings run the same way (rank 1 = hardest): a higher confusion rate and a lower accuracy.
        rho = float(_spearman_rows(lenet_rate[None], -logreg_mean[None])[0]) if len(shared) >= 3 else math.nan
        out["spearman"] = rho
        bootstrappable = len(per_seed) >= 2 and min(seeds[p].size for p in shared) >= 2
        if bootstrappable:
            lenet_boot = bootstrap_seed_means(lenet, rng, resamples)
            logreg_boot = np.column_stack([bootstrap_seed_means(seeds[p][:, None], rng, resamples)[:, 0]
                                           for p in shared])
            for name, boot, rank in (("lenet", lenet_boot, _ranks_descending), ("logreg", logreg_boot,
                                                                                _ranks_ascending)):
                ranks = rank(boot)
                out[f"{name}_rank_low"] = np.quantile(ranks, tail, axis=0, method="lower").astype(int)
                out[f"{name}_rank_high"] = np.quantile(ranks, 1 - tail, axis=0, method="higher").astype(int)
            if len(shared) >= 3:
                rhos = _spearman_rows(lenet_boot, -logreg_boot)
                out["spearman_ci95_low"], out["spearman_ci95_high"] = np.nanquantile(rhos, [tail, 1 - tail])
                out["spearman_method"] = (f"percentile bootstrap ({resamples} resamples; LeNet-5's {len(per_seed)} "
                                          f"seeds jointly, each sweep pair's {_count_range(seeds, shared)} seeds "
                                          f"independently)")
            else:
                out["spearman_ci95_low"] = out["spearman_ci95_high"] = math.nan
                out["spearman_method"] = "none (fewer than 3 shared pairs)"
        else:
            for column in ("lenet_rank_low", "lenet_rank_high", "logreg_rank_low", "logreg_rank_high",
                           "spearman_ci95_low", "spearman_ci95_high"):
                out[column] = math.nan
            out["spearman_method"] = ("none (fewer than 3 shared pairs)" if len(shared) < 3 else
                                      "none (fewer than 2 seeds to resample)")
        tables.append(out.sort_values("lenet_rank"))
    return pd.concat(tables, ignore_index=True)[RANKING_COLUMNS]


def _count_range(seeds: Mapping[str, np.ndarray], shared: Sequence[str]) -> str:
    counts = sorted({seeds[p].size for p in shared})
    return f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"


# ------------------------------------------------------------------------------- the C3 difference per epoch


def per_epoch_table(history: pd.DataFrame, pair: tuple[str, str], resamples: int = RESAMPLES) -> pd.DataFrame:
    """Per epoch, the paired difference ``a - b`` in test accuracy of the two C3 kinds of ``pair`` (the C3 claim's,
    mnistrepro.study.choices.claim_pair) over the seeds both ran, with the interval of
    :func:`mnistrepro.analysis.stats.compare` (the final comparison's method); ``history``: every run's ``history.csv``
    rows with their ``c3`` and ``seed`` (:func:`mnistrepro.outputs.aggregate.lenet_history`). Empty unless both kinds
    ran. No p-value: these are looks at the same runs, not tests."""
    a, b = pair
    rows = []
    for epoch, at in history.groupby("epoch", sort=True):
        first = at[at["c3"] == a].set_index("seed")["test_accuracy"]
        second = at[at["c3"] == b].set_index("seed")["test_accuracy"]
        shared = sorted(set(first.index) & set(second.index))
        if not shared:
            continue
        c = compare(first[shared], second[shared], resamples)
        excludes = (not math.isnan(c.ci95_low)) and (c.ci95_low > 0 or c.ci95_high < 0)
        rows.append({"analysis": EXPLORATORY, "epoch": int(epoch), "a": a, "b": b, "n_pairs": c.n_a,
                     "mean_a": float(first[shared].mean()), "mean_b": float(second[shared].mean()),
                     "difference": c.difference, "ci95_low": c.ci95_low, "ci95_high": c.ci95_high,
                     "ci_method": c.ci_method, "interval_excludes_zero": excludes})
    return pd.DataFrame(rows, columns=PER_EPOCH_COLUMNS)
