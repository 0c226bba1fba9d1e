"""From per-run evaluation records to the study's tables: runs, summary, comparisons, facts.

``runs`` has one row per evaluated model: a LeNet-5 run after its last epoch, and a logistic
regression run at each step count it was evaluated at (``logreg.eval_steps`` and ``logreg.steps``).

The facts (``facts.json``) are the report's words: every key is named so that a caption reads the
same key whatever the configuration (the last step count is ``final``, the main pair ``main_pair``).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from mnistrepro.stats import (RESAMPLES, adjust, bootstrap_interval, compare, escape_threshold, smallest_p, summarize,
                              verdict, wilson_interval)

RUN_COLUMNS = [
    "experiment", "loss", "scaling", "c3", "pair", "seed", "steps", "epochs",
    "test_accuracy", "test_loss", "correct", "total", "trainable_params", "train_seconds", "device",
    "top2_accuracy", "ece",  # LeNet-5 only (mnistrepro.lenet_eval)
]
VARIANT_COLUMNS = ["experiment", "loss", "scaling", "c3", "pair", "steps", "epochs"]
# The test metrics every run record carries under these names (logistic regression: the record and each of
# its evals, mnistrepro.logreg.run_metrics; LeNet-5: evaluation.json, mnistrepro.lenet_eval.evaluate), copied
# into the runs columns of the same names. Training time and device are `train_seconds` and `device` in both
# experiments' training records.
RECORD_METRICS = ("test_accuracy", "test_loss", "correct", "total")
LOGREG_PARAMS = 28 * 28 + 1
# The reference's single runs (docs/SPEC.md), all on its one digit pair: (pair, loss, scaling, steps) -> test
# accuracy. Another pair or step count has no reference run to compare with.
REFERENCE_PAIR = "4-9"
REFERENCE_ACCURACY = {(REFERENCE_PAIR, "mse", "raw", 10000): 0.7805, (REFERENCE_PAIR, "ce", "raw", 1000): 0.9121}


def pair_name(digits: Sequence[int]) -> str:
    return f"{digits[0]}-{digits[1]}"


def logreg_rows(record: dict, experiment: str) -> list[dict]:
    """Rows of ``runs`` for one logistic-regression record (one per evaluated step count)."""
    return [
        {
            "experiment": experiment,
            "loss": record["loss"],
            "scaling": record["scaling"],
            "pair": pair_name(record["digits"]),
            "seed": record["seed"],
            "steps": e["step"],
            **{key: e[key] for key in RECORD_METRICS},
            "trainable_params": LOGREG_PARAMS,
            "train_seconds": e["train_seconds"],
            "device": record["device"],
        }
        for e in record["evals"]
    ]


def lenet_row(training: dict, evaluation: dict) -> dict:
    """The ``runs`` row of one LeNet-5 run: its training record (mnistrepro.lenet_training.training_record)
    and the evaluation of its final weights (mnistrepro.lenet_eval.evaluate)."""
    if (training["c3"], training["seed"]) != (evaluation["c3"], evaluation["seed"]):
        raise ValueError(f"training record of {training['c3']} seed {training['seed']} paired with the evaluation "
                         f"of {evaluation['c3']} seed {evaluation['seed']}")
    return {
        "experiment": "lenet",
        "c3": training["c3"],
        "seed": training["seed"],
        "epochs": training["epochs"],
        **{key: evaluation[key] for key in RECORD_METRICS},
        "trainable_params": training["trainable_params"],
        "train_seconds": training["train_seconds"],
        "device": training["device"],
        "top2_accuracy": evaluation["top2_accuracy"],
        "ece": evaluation["ece"],
    }


def lenet_history(histories: Iterable[tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """Per-epoch histories of several runs in one table, with their ``c3`` and ``seed``."""
    frames = [h.assign(c3=m["c3"], seed=m["seed"]) for m, h in histories]
    return pd.concat(frames, ignore_index=True)


def params_table(analytic: dict[str, dict[str, int]], measured: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Trainable parameters per layer and in total, per C3 variant: ``layer``, ``c3``, ``measured``, ``analytic``."""
    rows = [
        {"c3": c3, "layer": layer, "measured": measured[c3][layer], "analytic": analytic[c3][layer]}
        for c3 in analytic
        for layer in analytic[c3]
    ]
    table = pd.DataFrame(rows, columns=["c3", "layer", "measured", "analytic"])
    table["match"] = table["measured"] == table["analytic"]
    return table


def runs_table(logreg: Iterable[dict] = (), sweep: Iterable[dict] = (),
               lenet: Iterable[tuple[dict, dict]] = ()) -> pd.DataFrame:
    """``lenet``: (training record, evaluation record) of each LeNet-5 run."""
    rows = [r for rec in logreg for r in logreg_rows(rec, "logreg")]
    rows += [r for rec in sweep for r in logreg_rows(rec, "pair_sweep")]
    rows += [lenet_row(t, e) for t, e in lenet]
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for column in ("steps", "epochs"):
        runs[column] = runs[column].astype("Int64")
    return runs.sort_values(["experiment", "loss", "scaling", "c3", "pair", "steps", "epochs", "seed"],
                            na_position="first", ignore_index=True)


def summary_table(runs: pd.DataFrame, rng: np.random.Generator, resamples: int = RESAMPLES) -> pd.DataFrame:
    """Per variant (``VARIANT_COLUMNS``): n, mean, std, 95% bootstrap CI of test accuracy, train
    seconds, parameters, and (LeNet-5) the mean top-2 accuracy and expected calibration error."""
    summary = summarize(runs, VARIANT_COLUMNS, rng, resamples=resamples)
    # The same grouping as summarize's, so the rows line up.
    means = runs.groupby(VARIANT_COLUMNS, dropna=False, sort=True)[["top2_accuracy", "ece"]].mean()
    summary["mean_top2_accuracy"] = means["top2_accuracy"].to_numpy()
    summary["mean_ece"] = means["ece"].to_numpy()
    return summary


def escape_table(runs: pd.DataFrame, chance: float) -> pd.DataFrame:
    """Per logistic-regression variant and step count: how many runs escaped chance, and how well.

    A run has escaped when its test accuracy exceeds ``threshold``, the valley between the mode at
    chance and the mode of trained runs in the final accuracies of every run (see
    :func:`mnistrepro.stats.escape_threshold`): one threshold for the whole table. Columns:
    ``loss``, ``scaling``, ``steps``, ``n``, ``escaped``, ``escape_rate`` with its Wilson 95%
    interval (``escape_ci95_low``, ``escape_ci95_high``), ``threshold``, ``chance``, the escaped
    runs' accuracy (``escaped_median``, ``escaped_q25``, ``escaped_q75``, ``escaped_min``,
    ``escaped_max``), and where the reference's single run exists: ``reference_accuracy`` and
    ``reference_percentile`` (the share of escaped runs below it).
    """
    columns = ["loss", "scaling", "steps", "n", "escaped", "escape_rate", "escape_ci95_low", "escape_ci95_high",
               "threshold", "chance", "escaped_median", "escaped_q25", "escaped_q75", "escaped_min", "escaped_max",
               "reference_accuracy", "reference_percentile"]
    logreg = runs[runs["experiment"] == "logreg"]
    if logreg.empty:
        return pd.DataFrame(columns=columns)
    final = logreg[logreg["steps"] == logreg["steps"].max()]
    threshold = escape_threshold(final["test_accuracy"], chance)
    pair = logreg["pair"].iloc[0]  # the main grid runs one pair
    rows = []
    for (loss, scaling, steps), group in logreg.groupby(["loss", "scaling", "steps"], sort=True):
        acc = group["test_accuracy"].to_numpy(dtype=float)
        escaped = acc[acc > threshold]
        low, high = wilson_interval(escaped.size, acc.size)
        reference = REFERENCE_ACCURACY.get((pair, loss, scaling, int(steps)), math.nan)
        rows.append({
            "loss": loss, "scaling": scaling, "steps": int(steps), "n": acc.size, "escaped": escaped.size,
            "escape_rate": escaped.size / acc.size, "escape_ci95_low": low, "escape_ci95_high": high,
            "threshold": threshold, "chance": chance,
            **({f"escaped_{k}": math.nan for k in ("median", "q25", "q75", "min", "max")} if escaped.size == 0 else {
                "escaped_median": float(np.median(escaped)), "escaped_q25": float(np.quantile(escaped, 0.25)),
                "escaped_q75": float(np.quantile(escaped, 0.75)), "escaped_min": float(escaped.min()),
                "escaped_max": float(escaped.max())}),
            "reference_accuracy": reference,
            "reference_percentile": (float(np.mean(escaped < reference)) if escaped.size and not math.isnan(reference)
                                     else math.nan),
        })
    return pd.DataFrame(rows, columns=columns)


def _comparison(name: str, label_a: str, label_b: str, a: pd.DataFrame, b: pd.DataFrame,
                rng: np.random.Generator, resamples: int, **where) -> tuple[dict, object]:
    c = compare(a.set_index("seed")["test_accuracy"], b.set_index("seed")["test_accuracy"], rng, resamples)
    row = {"comparison": name, "a": label_a, "b": label_b, **where,
           "mean_a": float(a["test_accuracy"].mean()), "mean_b": float(b["test_accuracy"].mean())}
    return row, c


def comparisons_table(runs: pd.DataFrame, logreg_steps: Sequence[int], rng: np.random.Generator,
                      resamples: int = RESAMPLES) -> pd.DataFrame:
    """Sparse vs full C3 (last epoch), and per scaling and step count: logistic vs MSE loss, and
    for the MSE loss unit vs raw pixels. Differences are a - b in accuracy (fractions).

    Each row: the difference with its 95% bootstrap CI, the raw p-value of its test, the Holm p
    over every comparison in the table, the minimum detectable difference (``mdd``, 80% power)
    and a verdict that uses the Holm p.
    """
    pending = []
    lenet = runs[runs["experiment"] == "lenet"]
    if set(lenet["c3"]) >= {"sparse", "full"}:
        last = lenet[lenet["epochs"] == lenet["epochs"].max()]
        pending.append(_comparison("C3 connection table", "sparse C3", "full C3", last[last["c3"] == "sparse"],
                                   last[last["c3"] == "full"], rng, resamples, epochs=int(last["epochs"].max())))
    logreg = runs[runs["experiment"] == "logreg"]
    for steps in logreg_steps:
        at = logreg[logreg["steps"] == steps]
        for scaling in sorted(set(at["scaling"])):
            s = at[at["scaling"] == scaling]
            if set(s["loss"]) >= {"mse", "ce"}:
                pending.append(_comparison("loss", f"logistic loss ({scaling})", f"MSE loss ({scaling})",
                                           s[s["loss"] == "ce"], s[s["loss"] == "mse"], rng, resamples,
                                           scaling=scaling, steps=steps))
        mse = at[at["loss"] == "mse"]
        if set(mse["scaling"]) >= {"raw", "unit"}:
            pending.append(_comparison("input scaling", "MSE loss (unit)", "MSE loss (raw)",
                                       mse[mse["scaling"] == "unit"], mse[mse["scaling"] == "raw"], rng, resamples,
                                       loss="mse", steps=steps))
    adjusted = adjust([c for _, c in pending])
    rows = [{**row, "n_a": c.n_a, "n_b": c.n_b, "difference": c.difference, "ci95_low": c.ci95_low,
             "ci95_high": c.ci95_high, "p_value": c.p_value, "p_holm": c.p_holm, "test": c.test, "mdd": c.mdd,
             "significant": c.significant, "verdict": verdict(row["a"], row["b"], c)}
            for (row, _), c in zip(pending, adjusted)]
    columns = ["comparison", "a", "b", "scaling", "loss", "steps", "epochs", "n_a", "n_b", "mean_a", "mean_b",
               "difference", "ci95_low", "ci95_high", "p_value", "p_holm", "test", "mdd", "significant", "verdict"]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("steps", "epochs"):
        table[column] = table[column].astype("Int64")
    return table


def pair_difficulty(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean test accuracy per digit pair of the sweep, hardest first: ``pair``, ``a``, ``b``, ``n``, ``mean``."""
    sweep = runs[runs["experiment"] == "pair_sweep"]
    if sweep.empty:
        return pd.DataFrame(columns=["pair", "a", "b", "n", "mean", "std"])
    final = sweep[sweep["steps"] == sweep["steps"].max()]
    table = final.groupby("pair")["test_accuracy"].agg(n="count", mean="mean", std="std").reset_index()
    table[["a", "b"]] = table["pair"].str.split("-", expand=True).astype(int)
    return table.sort_values(["mean", "pair"], ignore_index=True)[["pair", "a", "b", "n", "mean", "std"]]


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def _points(low: float, high: float) -> str:
    return f"{100 * low:+.2f} to {100 * high:+.2f} percentage points"


def _step_key(steps: int, final: int) -> str:
    """A step count as fact keys name it: the last one is ``final``, so captions need not know the config's."""
    return "final" if steps == final else str(steps)


def headline_facts(summary: pd.DataFrame, comparisons: pd.DataFrame, pairs: pd.DataFrame,
                   escape: pd.DataFrame | None = None, identities: pd.DataFrame | None = None) -> dict[str, str]:
    """Short formatted numbers for the report captions, keyed by name (strings, ready to quote).

    Logistic-regression keys carry the step count, the last one as ``final`` (``logreg_mse_raw_final_mean``);
    a comparison's ``*_verdict`` includes its 95% interval where its n can bound one."""
    facts: dict[str, str] = {}
    logreg = summary[summary["experiment"] == "logreg"]
    steps = [*logreg.get("steps", []), *([] if escape is None else escape["steps"])]
    final = int(max(steps)) if steps else None
    if escape is not None and not escape.empty:
        facts["escape_threshold"] = _pct(escape["threshold"].iloc[0])
        facts["chance"] = _pct(escape["chance"].iloc[0])
        for row in escape.itertuples(index=False):
            key = f"{row.loss}_{row.scaling}_{_step_key(row.steps, final)}"
            facts[f"escape_{key}"] = (f"{row.escaped} of {row.n} runs ({_pct(row.escape_rate)}, Wilson 95% CI "
                                      f"{_pct(row.escape_ci95_low)} to {_pct(row.escape_ci95_high)})")
            facts[f"escaped_{key}_median"] = "none escaped" if row.escaped == 0 else _pct(row.escaped_median)
            facts[f"escaped_{key}_range"] = ("none escaped" if row.escaped == 0 else
                                             f"{_pct(row.escaped_min)} to {_pct(row.escaped_max)}")
            if not math.isnan(row.reference_percentile):
                facts[f"reference_{key}"] = (f"the reference's single run ({_pct(row.reference_accuracy)}) is above "
                                             f"{100 * row.reference_percentile:.0f}% of the escaped runs")
    for row in summary.itertuples(index=False):
        if row.experiment == "lenet":
            key = f"lenet_{row.c3}"
        elif row.experiment == "logreg":
            key = f"logreg_{row.loss}_{row.scaling}_{_step_key(row.steps, final)}"
        else:
            continue
        facts[f"{key}_mean"] = _pct(row.mean)
        facts[f"{key}_ci"] = f"{_pct(row.ci95_low)} to {_pct(row.ci95_high)}"
        facts[f"{key}_range"] = f"{_pct(row.min)} to {_pct(row.max)}"
        facts[f"{key}_n"] = str(row.n)
        facts[f"{key}_seconds"] = f"{row.mean_train_seconds:.3g} s"
        if row.experiment == "lenet":
            facts[f"{key}_params"] = f"{int(row.trainable_params):,}"
    for row in comparisons.itertuples(index=False):
        if row.comparison == "C3 connection table":
            key = "lenet"
        elif row.comparison == "loss":
            key = f"loss_{row.scaling}_{_step_key(row.steps, final)}"
        elif row.comparison == "input scaling":
            key = f"scaling_{_step_key(row.steps, final)}"
        else:
            continue
        # Every verdict with its interval: a "no significant difference" verdict states its own (or why none
        # can bound it); a significant one gets it here, signed as the verdict reads (the better one's lead).
        low, high = (row.ci95_low, row.ci95_high) if row.difference > 0 else (-row.ci95_high, -row.ci95_low)
        interval = f"; 95% CI {_points(low, high)}" if row.significant else ""
        facts[f"{key}_verdict"] = row.verdict + interval
    if not pairs.empty:
        hardest, easiest = pairs.iloc[0], pairs.iloc[-1]
        facts["hardest_pair"] = f"{hardest['a']} vs {hardest['b']} ({_pct(hardest['mean'])}, n = {hardest['n']})"
        facts["easiest_pair"] = f"{easiest['a']} vs {easiest['b']} ({_pct(easiest['mean'])}, n = {easiest['n']})"
        main_pair = logreg["pair"].iloc[0] if not logreg.empty else None
        rank = pairs.index[pairs["pair"] == main_pair]
        if len(rank):
            facts["main_pair_rank"] = f"{int(rank[0]) + 1} of {len(pairs)}"
    if identities is not None and not identities.empty:
        facts.update(identity_facts(identities))
    return facts


def identity_facts(identities: pd.DataFrame) -> dict[str, str]:
    """The identities table in two facts: how many checks came out as expected, and the largest error of
    those that must hold (the ones that must not, such as x^2 with max pooling, by how much they break)."""
    holds = identities[identities["expected"]]
    breaks = identities[~identities["expected"]]
    facts = {"identities_verdict": (f"{int(identities['as_expected'].sum())} of {len(identities)} checks as "
                                    f"expected; the {len(holds)} identities hold to max error "
                                    f"{holds['max_abs_error'].max():.2g}")}
    if not breaks.empty:
        facts["identities_breaks"] = "; ".join(f"{row.identity} breaks (max error {row.max_abs_error:.2g})"
                                               for row in breaks.itertuples(index=False))
    return facts


def calibration_facts(runs: pd.DataFrame, rng: np.random.Generator, resamples: int = RESAMPLES) -> dict[str, str]:
    """Report facts on LeNet-5's top-2 accuracy and calibration: per C3 variant the mean top-2 accuracy and
    ECE (with its 95% bootstrap CI), and whether sparse and full C3 differ in ECE (paired by seed)."""
    lenet = runs[runs["experiment"] == "lenet"]
    lenet = lenet[lenet["epochs"] == lenet["epochs"].max()]
    facts: dict[str, str] = {}
    for c3, group in lenet.groupby("c3"):
        mean, low, high = bootstrap_interval(group["ece"], rng, resamples)
        facts[f"lenet_{c3}_ece"] = _pct(mean)
        facts[f"lenet_{c3}_ece_ci"] = f"{_pct(low)} to {_pct(high)}"
        facts[f"lenet_{c3}_top2"] = _pct(float(group["top2_accuracy"].mean()))
    if set(lenet["c3"]) >= {"sparse", "full"}:
        c = compare(lenet[lenet["c3"] == "sparse"].set_index("seed")["ece"],
                    lenet[lenet["c3"] == "full"].set_index("seed")["ece"], rng, resamples)
        if math.isnan(c.p_value):
            facts["lenet_ece_verdict"] = f"cannot test: too few runs ({c.n_a} vs {c.n_b})"
        elif c.significant:
            better, worse = ("full C3", "sparse C3") if c.difference > 0 else ("sparse C3", "full C3")
            facts["lenet_ece_verdict"] = (f"{better} is better calibrated than {worse}: its ECE is lower by "
                                          f"{abs(c.difference) * 100:.2f} points ({c.test}, p = {c.p_value:.2g}, "
                                          f"n = {c.n_a}/{c.n_b})")
        elif smallest_p(min(c.n_a, c.n_b)) >= 0.05:
            n = min(c.n_a, c.n_b)
            facts["lenet_ece_verdict"] = (f"no significant difference in ECE between sparse and full C3 "
                                          f"({c.difference * 100:+.2f} points, {c.test}, p = {c.p_value:.2g}, "
                                          f"n = {c.n_a}/{c.n_b}); with n = {n} no difference could be significant "
                                          f"(smallest possible p = {smallest_p(n):.2g})")
        else:
            facts["lenet_ece_verdict"] = (f"no significant difference in ECE between sparse and full C3 "
                                          f"({c.difference * 100:+.2f} points, 95% CI {c.ci95_low * 100:+.2f} to "
                                          f"{c.ci95_high * 100:+.2f}, {c.test}, p = {c.p_value:.2g}, "
                                          f"n = {c.n_a}/{c.n_b})")
    return facts


def rule_benchmarks(paths: Iterable[str], root: str | Sequence[str] = "results/benchmarks") -> pd.DataFrame:
    """Wall time and peak memory of each job, from Snakemake's ``benchmark:`` files.

    Returns ``job`` (the file's path under ``root``, without ``.tsv``; with several roots, such as a
    study's own benchmarks and the shared runs', under the longest that holds it), ``rule_group`` (its
    first directory), ``seconds``, ``max_rss_mb``, ``cpu_seconds``; slowest first.
    """
    roots = sorted([root] if isinstance(root, str) else root, key=len, reverse=True)
    rows = []
    for path in paths:
        bench = pd.read_csv(path, sep="\t")
        under = next((r for r in roots if str(path).startswith(r.rstrip("/") + "/")), "")
        job = str(path).removeprefix(under).strip("/").removesuffix(".tsv")
        rows.append({
            "job": job,
            "rule_group": job.split("/")[0],
            "seconds": float(bench["s"].iloc[0]),
            "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").iloc[0]),
            "cpu_seconds": float(pd.to_numeric(bench["cpu_time"], errors="coerce").iloc[0]),
        })
    table = pd.DataFrame(rows, columns=["job", "rule_group", "seconds", "max_rss_mb", "cpu_seconds"])
    return table.sort_values("seconds", ascending=False, ignore_index=True)
