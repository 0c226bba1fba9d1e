"""From per-run evaluation records to the study's tables: runs, summary, escape, pair difficulty, comparisons.

``runs`` has one row per evaluated model: a LeNet-5 run after its last epoch, and a logistic
regression run at each step count it was evaluated at (``logreg.eval_steps`` and ``logreg.steps``).

The statistics are mnistrepro.analysis.stats'; the comparisons are the registry's (mnistrepro.analysis.comparisons); the
words, the verdict column included, are the report layer's (mnistrepro.report). :func:`aggregate_study` is rule
aggregate's whole job: the tables and, from them, the facts (mnistrepro.report.study).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mnistrepro.analysis.comparisons import comparison_rule, hardest_key, select_runs, study_comparisons
from mnistrepro.analysis.facts import REFERENCE_ACCURACY
from mnistrepro.analysis.definitions import ALPHA, BOOTSTRAP_MIN_N, P_UNDERFLOW, RESAMPLES, Comparison
from mnistrepro.analysis.planning import sample_size
from mnistrepro.analysis.stats import (ESCAPE_ALPHA, ESCAPE_THRESHOLDS, PLANNING_SD_PAIRS, adjust_family, compare,
                                       equivalence_power_table, equivalence_test, escape_accuracy, hardest_set,
                                       hardest_test, lenet_test_set, mean_interval, rank_bootstrap,
                                       same_verdict_in_any_family, seeds_and_images, summarize, wilson_interval)
from mnistrepro.analysis.stats import escaped as stats_escaped
from mnistrepro.report.exploratory import exploratory_facts
from mnistrepro.report.glance import glance_facts
from mnistrepro.report.lenet_test_set import lenet_test_set_facts
from mnistrepro.report.numbers import pair_label
from mnistrepro.report.study import machine_fact, study_facts
from mnistrepro.report.verdicts import (equivalence_test_name, equivalence_verdict, escape_category, hardest_verdict,
                                        verdict)
from mnistrepro.study.choices import COMPARISONS, METRICS, Metric, claim_pair, experiment_metrics, variant_metrics
from mnistrepro.study.seeds import mix_seed

# The columns that say which run a row is, and which variant (every column but the seed).
ID_COLUMNS = ["experiment", "loss", "scaling", "c3", "pair", "seed", "steps", "epochs"]
VARIANT_COLUMNS = [c for c in ID_COLUMNS if c != "seed"]
# Besides its metrics (mnistrepro.study.choices.METRICS), what every run record carries under these names
# (logistic regression: the record and each of its evals, mnistrepro.experiments.logreg.run_metrics; LeNet-5: the
# evaluation record lenet_eval/{c3}/seed{seed}.json, mnistrepro.experiments.lenet_eval.evaluate), copied into the runs
# columns of the same names: the test loss and the counts behind the accuracy (the escape test reads them).
RECORD_FIELDS = ("test_loss", "correct", "total")
# What the training says of a run (``train_seconds``, ``device``: both experiments' training records).
TRAINING_COLUMNS = ["trainable_params", "train_seconds", "device"]
LOGREG_PARAMS = 28 * 28 + 1


def run_columns() -> list[str]:
    """The runs table's columns: which run, each registered metric (empty where a run's experiment does not record
    it), the other record fields, the training's."""
    return [*ID_COLUMNS, *METRICS, *RECORD_FIELDS, *TRAINING_COLUMNS]


def record_values(record: Mapping[str, Any], experiment: str) -> dict[str, Any]:
    """The runs columns that ``record`` (the evaluation of an ``experiment`` run, or one of its evals) gives: that
    experiment's metrics and :data:`RECORD_FIELDS`. A field the record lacks is an error."""
    fields = [*(m.name for m in experiment_metrics(experiment)), *RECORD_FIELDS]
    missing = [f for f in fields if f not in record]
    if missing:
        raise KeyError(f"a {experiment} run's record has no {missing}: it must hold the registry's metrics of "
                       f"{experiment} (mnistrepro.study.choices.METRICS) and {list(RECORD_FIELDS)}")
    return {field: record[field] for field in fields}


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
            **record_values(e, experiment),
            "trainable_params": LOGREG_PARAMS,
            "train_seconds": e["train_seconds"],
            "device": record["device"],
        }
        for e in record["evals"]
    ]


def lenet_row(training: dict, evaluation: dict) -> dict:
    """The ``runs`` row of one LeNet-5 run: its training record (mnistrepro.experiments.lenet_training.training_record)
    and the evaluation of its final weights (mnistrepro.experiments.lenet_eval.evaluate)."""
    if (training["c3"], training["seed"]) != (evaluation["c3"], evaluation["seed"]):
        raise ValueError(f"training record of {training['c3']} seed {training['seed']} paired with the evaluation "
                         f"of {evaluation['c3']} seed {evaluation['seed']}")
    return {
        "experiment": "lenet",
        "c3": training["c3"],
        "seed": training["seed"],
        "epochs": training["epochs"],
        **record_values(evaluation, "lenet"),
        "trainable_params": training["trainable_params"],
        "train_seconds": training["train_seconds"],
        "device": training["device"],
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
    runs = pd.DataFrame(rows, columns=run_columns())
    for column in ("steps", "epochs"):
        runs[column] = runs[column].astype("Int64")
    return runs.sort_values(["experiment", "loss", "scaling", "c3", "pair", "steps", "epochs", "seed"],
                            na_position="first", ignore_index=True)


def summary_table(runs: pd.DataFrame, rng: np.random.Generator, resamples: int = RESAMPLES) -> pd.DataFrame:
    """Per variant (``VARIANT_COLUMNS``): n, mean, std, 95% bootstrap CI of test accuracy, train seconds,
    parameters, and each metric summarised per variant (mnistrepro.study.choices.variant_metrics): its mean
    (``mean_{name}``) and, where it declares one, its mean's 95% interval over seeds (``{name}_ci95_low``,
    ``{name}_ci95_high``, ``{name}_ci_method``); NaN where the variant's experiment does not record it."""
    summary = summarize(runs, VARIANT_COLUMNS, rng, resamples=resamples)
    # The same grouping as summarize's, so the rows line up.
    groups = runs.groupby(VARIANT_COLUMNS, dropna=False, sort=True)
    for metric in variant_metrics():
        summary[f"mean_{metric.name}"] = groups[metric.name].mean().to_numpy()
        if metric.seed_interval:
            intervals = [seed_interval(group, metric) for _, group in groups]
            for i, part in enumerate(("ci95_low", "ci95_high", "ci_method")):
                summary[f"{metric.name}_{part}"] = [interval[i] for interval in intervals]
    return summary


def seed_interval(group: pd.DataFrame, metric: Metric) -> tuple[float, float, str | None]:
    """The 95% interval over seeds of the mean of ``metric`` in one variant's runs ``group``
    (mnistrepro.analysis.stats.mean_interval: low, high, method); NaN where its experiment does not record it.
    Each variant's interval draws from its own stream, seed 0, with the default resamples: the intervals the
    facts have quoted since before the summary held them, unchanged."""
    if group["experiment"].iloc[0] not in metric.experiments:
        return math.nan, math.nan, None
    _, low, high, method = mean_interval(group[metric.name], np.random.default_rng(0), bounds=(0.0, 1.0))
    return low, high, method


def escape_table(runs: pd.DataFrame, chance: float, alpha: float = ESCAPE_ALPHA) -> pd.DataFrame:
    """Per logistic-regression variant and step count: how many runs escaped chance, and how well.

    A run has escaped when its correct count beats the majority-class rate ``chance`` by a one-sided
    exact binomial test at level ``alpha`` (:func:`mnistrepro.analysis.stats.escaped`), a definition fixed in
    advance that does not look at the other runs. Columns: ``loss``, ``scaling``, ``steps``, ``n``,
    ``escaped``, ``escape_rate`` with its Wilson 95% interval (``escape_ci95_low``, ``escape_ci95_high``),
    ``escape_alpha``, ``threshold`` (the lowest accuracy that escapes on this test set), ``chance``, the
    escaped runs' accuracy (``escaped_median``, ``escaped_q25``, ``escaped_q75``, ``escaped_min``,
    ``escaped_max``), ``fell_back`` (runs that had escaped at the variant's previous step count and no longer
    have: escape is not permanent), and where the reference's single run exists: ``reference_accuracy`` and
    ``reference_percentile`` (the share of escaped runs below it).
    """
    columns = ["loss", "scaling", "steps", "n", "escaped", "escape_rate", "escape_ci95_low", "escape_ci95_high",
               "escape_alpha", "threshold", "chance", "escaped_median", "escaped_q25", "escaped_q75", "escaped_min",
               "escaped_max", "fell_back", "reference_accuracy", "reference_percentile"]
    logreg = runs[runs["experiment"] == "logreg"]
    if logreg.empty:
        return pd.DataFrame(columns=columns)
    pair = logreg["pair"].iloc[0]  # the main grid runs one pair
    rows = []
    previous: dict[tuple[str, str], set[int]] = {}  # per variant, the seeds escaped at its previous step count
    for (loss, scaling, steps), group in logreg.groupby(["loss", "scaling", "steps"], sort=True):
        acc = group["test_accuracy"].to_numpy(dtype=float)
        is_escaped = stats_escaped(group["correct"], group["total"], chance, alpha)
        escaped = acc[is_escaped]
        escaped_seeds = set(group["seed"].to_numpy()[is_escaped].tolist())
        fell_back = len(previous.get((loss, scaling), set()) - escaped_seeds)
        previous[(loss, scaling)] = escaped_seeds
        low, high = wilson_interval(escaped.size, acc.size)
        reference = REFERENCE_ACCURACY.get((pair, loss, scaling, int(steps)), math.nan)
        rows.append({
            "loss": loss, "scaling": scaling, "steps": int(steps), "n": acc.size, "escaped": escaped.size,
            "escape_rate": escaped.size / acc.size, "escape_ci95_low": low, "escape_ci95_high": high,
            "escape_alpha": alpha, "threshold": escape_accuracy(int(group["total"].iloc[0]), chance, alpha),
            "chance": chance,
            **({f"escaped_{k}": math.nan for k in ("median", "q25", "q75", "min", "max")} if escaped.size == 0 else {
                "escaped_median": float(np.median(escaped)), "escaped_q25": float(np.quantile(escaped, 0.25)),
                "escaped_q75": float(np.quantile(escaped, 0.75)), "escaped_min": float(escaped.min()),
                "escaped_max": float(escaped.max())}),
            "fell_back": fell_back,
            "reference_accuracy": reference,
            "reference_percentile": (float(np.mean(escaped < reference)) if escaped.size and not math.isnan(reference)
                                     else math.nan),
        })
    return pd.DataFrame(rows, columns=columns)


def escape_sensitivity(runs: pd.DataFrame, thresholds: Sequence[float] = ESCAPE_THRESHOLDS) -> pd.DataFrame:
    """The escape rate at fixed accuracy thresholds, per logistic-regression variant and step count:
    ``loss``, ``scaling``, ``steps``, ``threshold``, ``n``, ``escaped`` (accuracy above the threshold),
    ``escape_rate`` with its Wilson 95% interval, and ``category`` (mnistrepro.report.verdicts.escape_category, from
    that interval)."""
    columns = ["loss", "scaling", "steps", "threshold", "n", "escaped", "escape_rate", "escape_ci95_low",
               "escape_ci95_high", "category"]
    logreg = runs[runs["experiment"] == "logreg"]
    rows = []
    for (loss, scaling, steps), group in logreg.groupby(["loss", "scaling", "steps"], sort=True):
        acc = group["test_accuracy"].to_numpy(dtype=float)
        for threshold in thresholds:
            k = int((acc > threshold).sum())
            low, high = wilson_interval(k, acc.size)
            rows.append({"loss": loss, "scaling": scaling, "steps": int(steps), "threshold": threshold,
                         "n": acc.size, "escaped": k, "escape_rate": k / acc.size, "escape_ci95_low": low,
                         "escape_ci95_high": high, "category": escape_category(acc.size, low, high)})
    return pd.DataFrame(rows, columns=columns)


COMPARISON_COLUMNS = ["comparison", "key", "family", "role", "metric", "a", "b", "scaling", "loss", "steps", "epochs",
                      "n_a", "n_b", "mean_a", "mean_b", "difference", "ci95_low", "ci95_high", "ci_method", "p_value",
                      "p_bound", "p_holm", "p_holm_bound", "family_size", "test", "mdd", "significant",
                      "same_verdict_any_family", "verdict"]


def _role(family: str, primary: bool) -> str:
    return "descriptive" if not family else "primary" if primary else "secondary"


def comparisons_table(runs: pd.DataFrame, logreg_steps: Sequence[int], resamples: int = RESAMPLES,
                      main_pair: str | None = None, equivalence_margin: float | None = None,
                      pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every comparison of the study in one table, each in its claim's family (``family``, ``role``: primary,
    secondary) or descriptive (no p-value); ``p_holm`` is Holm's adjustment within the family (``family_size``
    tests):

    - the comparisons of :func:`study_comparisons` (differences a - b as fractions: accuracy, or ECE),
      each with its 95% interval (the inverted test), and in a family its p, minimum detectable difference
      (``mdd``, 80% power at the family's strictest Holm level) and verdict;
    - with ``equivalence_margin`` (a fraction), the TOST equivalence test of sparse vs full C3 accuracy, the
      C3 family's primary test;
    - with ``main_pair`` and a sweep in ``runs``, at the sweep's last step count the intersection-union test that
      ``main_pair`` is the hardest digit pair (the hardest-pair family), and at its other step counts the main
      pair's difference from the closest other pair (descriptive); with ``pairs`` (:func:`pair_difficulty`), the
      verdict of a main pair the test does not show hardest says whether it lies outside the 95% confidence set of
      the hardest pair (then it is not the hardest) or inside it (not shown to be).

    ``p_bound`` / ``p_holm_bound``: the value is an upper bound on the p-value ("p ≤"), not the p-value.
    ``same_verdict_any_family``: a confirmatory verdict that any family of at most the table's comparisons would give
    too (:func:`mnistrepro.analysis.stats.same_verdict_in_any_family`).
    """
    pending: list[tuple[dict, Comparison, str, bool]] = []
    for spec in study_comparisons(runs, logreg_steps):
        rule = spec.rule
        if rule.kind == "equivalence" and equivalence_margin is None:
            continue
        a, b = select_runs(runs, spec, spec.a), select_runs(runs, spec, spec.b)
        a, b = a.set_index("seed")[rule.metric], b.set_index("seed")[rule.metric]
        c = compare(a, b, resamples)
        row = {"comparison": rule.title, "key": spec.key, "metric": rule.metric, "a": spec.label_a,
               "b": spec.label_b, **dict(spec.where), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
               "spec": spec}
        if rule.kind == "equivalence":
            # Paired by seed: a TOST of unpaired runs is not what the n was planned for, so none is made.
            diff = (a.sort_index() - b.sort_index()).to_numpy() if c.paired else np.array([])
            e = equivalence_test(diff, equivalence_margin, resamples)
            c = Comparison(c.n_a, c.n_b, True, c.difference, math.nan, math.nan, e.p_value,
                           equivalence_test_name(e.test, equivalence_margin), c.sd_difference)
            row["margin"] = equivalence_margin
        pending.append((row, c, spec.family, spec.primary))
    pending += _hardest_pair_rows(runs, main_pair, pairs)
    families: dict[str, list[int]] = {}
    for i, (_, _, family, _) in enumerate(pending):
        if family:
            families.setdefault(family, []).append(i)
    comparisons = [c for _, c, _, _ in pending]
    for family, members in families.items():
        for i, c in zip(members, adjust_family([comparisons[i] for i in members], family)):
            comparisons[i] = c
    rows = []
    for (row, _, family, primary), c in zip(pending, comparisons):
        spec = row.pop("spec")
        if spec is None:
            text = hardest_verdict(row["a"], row.pop("runner_up"), c, row.pop("in_hardest_set"))
        elif spec.rule.kind == "equivalence":
            text = equivalence_verdict(c, row.pop("margin"))
        else:
            text = verdict(row["a"], row["b"], c, metric=spec.rule.metric)
        if not family:
            c = Comparison(c.n_a, c.n_b, c.paired, c.difference, c.ci95_low, c.ci95_high, math.nan, c.test,
                           c.sd_difference, ci_method=c.ci_method)
        rows.append({**row, "family": family or "descriptive", "role": _role(family, primary), "n_a": c.n_a,
                     "n_b": c.n_b, "difference": c.difference, "ci95_low": c.ci95_low, "ci95_high": c.ci95_high,
                     "ci_method": c.ci_method, "p_value": c.p_value, "p_bound": c.p_bound, "p_holm": c.p_holm,
                     "p_holm_bound": c.p_holm_bound, "family_size": c.family_size if family else 0,
                     "test": c.test if family else f"none (descriptive; interval from the {c.test})",
                     "mdd": c.mdd, "significant": c.significant, "verdict": text})
    # Whether each confirmatory verdict is the same in any family of at most every comparison the table makes (a
    # family chosen after a look at its runs: does any verdict depend on that choice?); NA for a descriptive row.
    for row in rows:
        row["same_verdict_any_family"] = (pd.NA if row["family"] == "descriptive" else same_verdict_in_any_family(
            row["p_value"], row["significant"], len(rows)))
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    for column in ("steps", "epochs"):
        table[column] = table[column].astype("Int64")
    return table


def _hardest_pair_rows(runs: pd.DataFrame, main_pair: str | None, pairs: pd.DataFrame | None = None
                       ) -> list[tuple[dict, Comparison, str, bool]]:
    """Per step count of the sweep, the main pair against its closest challenger: at the last step count the
    intersection-union test that it is the hardest (:func:`mnistrepro.analysis.stats.hardest_test`, the hardest-pair
    family), at the others the difference from the pair with the next lowest mean, descriptive. Each row carries
    ``in_hardest_set``: whether ``pairs`` (:func:`pair_difficulty`) puts the main pair in the 95% confidence set of
    the hardest at that step count (None: no set, too few seeds or no ``pairs``)."""
    rule = next(rule for rule in COMPARISONS if rule.kind == "hardest")
    sweep = runs[runs["experiment"] == rule.experiment]
    if main_pair is None or sweep.empty:
        return []
    final = int(sweep["steps"].max())
    rows = []
    for steps, at in sweep.groupby("steps", sort=True):
        groups = {pair: g.set_index("seed")["test_accuracy"] for pair, g in at.groupby("pair", sort=True)}
        if main_pair not in groups or len(groups) < 2 or min(len(g) for g in groups.values()) < 2:
            continue
        names = list(groups)
        main = groups[main_pair]
        family = rule.family if int(steps) == final else ""
        if family:
            p, j = hardest_test([groups[n].to_numpy(dtype=float) for n in names], names.index(main_pair))
            runner = names[j]
        else:
            runner = min((n for n in names if n != main_pair), key=lambda n: groups[n].mean())
        # Different pairs are different runs: their seeds are not paired.
        c = compare(main.set_axis(range(len(main))), groups[runner].set_axis(range(len(main), len(main) +
                                                                                   len(groups[runner]))))
        if family:
            c = Comparison(c.n_a, c.n_b, False, c.difference, c.ci95_low, c.ci95_high, p,
                           "intersection-union test: one-sided Welch t-test against every other pair, largest p",
                           c.sd_difference, p_bound=p < P_UNDERFLOW, ci_method=c.ci_method)
        rows.append(({"comparison": rule.title, "key": hardest_key(rule, steps), "metric": rule.metric,
                      "a": pair_label(main_pair), "b": "every other pair", "steps": int(steps),
                      "mean_a": float(main.mean()), "mean_b": float(groups[runner].mean()), "spec": None,
                      "runner_up": pair_label(runner), "in_hardest_set": _in_hardest_set(pairs, int(steps), main_pair)},
                     c, family, bool(family)))
    return rows


def _in_hardest_set(pairs: pd.DataFrame | None, steps: int, pair: str) -> bool | None:
    """Whether :func:`pair_difficulty`'s table puts ``pair`` in the 95% confidence set of the hardest pair at
    ``steps``; None where it has no set there (fewer than ``BOOTSTRAP_MIN_N`` seeds per pair) or no such row."""
    if pairs is None or pairs.empty:
        return None
    row = pairs[(pairs["steps"] == steps) & (pairs["pair"] == pair)]
    if row.empty or pd.isna(row.iloc[0]["in_hardest_set"]):
        return None
    return bool(row.iloc[0]["in_hardest_set"])


def pair_difficulty(runs: pd.DataFrame, rng: np.random.Generator | None = None, resamples: int = RESAMPLES
                    ) -> pd.DataFrame:
    """Per step count of the sweep, per digit pair, hardest first: ``steps``, ``pair``, ``a``, ``b``, ``n``,
    ``mean``, ``std``, the mean's 95% interval (``ci95_low``, ``ci95_high``, ``ci_method``), ``rank`` (1 =
    lowest mean) with its 95% bootstrap interval (``rank_low``, ``rank_high``), ``share_rank1`` (the share of
    bootstrap resamples in which the pair ranks first) and ``in_hardest_set`` (the pair is in the 95% confidence
    set of the hardest pair, :func:`mnistrepro.analysis.stats.hardest_set`). The bootstrap columns need ``rng`` and at
    least ``BOOTSTRAP_MIN_N`` seeds per pair (else NaN). Descriptive: the test that the main pair is the hardest
    is in the comparisons (:func:`comparisons_table`)."""
    columns = ["steps", "pair", "a", "b", "n", "mean", "std", "ci95_low", "ci95_high", "ci_method", "rank",
               "rank_low", "rank_high", "share_rank1", "in_hardest_set"]
    sweep = runs[runs["experiment"] == "pair_sweep"]
    if sweep.empty:
        return pd.DataFrame(columns=columns)
    tables = []
    for steps, at in sweep.groupby("steps", sort=True):
        groups = {pair: g["test_accuracy"].to_numpy(dtype=float) for pair, g in at.groupby("pair", sort=True)}
        table = at.groupby("pair")["test_accuracy"].agg(n="count", mean="mean", std="std").reset_index()
        table.insert(0, "steps", int(steps))
        table[["a", "b"]] = table["pair"].str.split("-", expand=True).astype(int)
        intervals = [mean_interval(groups[p], rng or np.random.default_rng(0), resamples, bounds=(0.0, 1.0))
                     for p in table["pair"]]
        table["ci95_low"], table["ci95_high"], table["ci_method"] = zip(*[(lo, hi, m) for _, lo, hi, m in intervals])
        values = [groups[p] for p in table["pair"]]
        # Like a mean's interval: no bootstrap of a few seeds per pair (it would be far too narrow).
        if rng is not None and min(v.size for v in values) >= BOOTSTRAP_MIN_N:
            ranks = rank_bootstrap(values, rng, resamples)
            for column in ranks.columns:
                table[column] = ranks[column].to_numpy()
            table["in_hardest_set"] = hardest_set(values, rng, resamples)
        else:
            table["rank"] = table["mean"].rank(method="first").astype(int)
            for column in ("rank_low", "rank_high", "share_rank1", "in_hardest_set"):
                table[column] = math.nan
        tables.append(table.sort_values(["mean", "pair"]))
    return pd.concat(tables, ignore_index=True)[columns]


def tost_power_table(comparisons: pd.DataFrame, planning_sd: float | None, margin: float) -> pd.DataFrame | None:
    """The TOST's power over true differences and paired SDs (:func:`mnistrepro.analysis.stats.equivalence_power_table`)
    for the C3 claim's TOST as this study ran it: its pairs, at the C3 family's strictest Holm level, from the planning
    SD (percentage points, the config's; measured on ``PLANNING_SD_PAIRS`` pairs). None without a plan or a TOST."""
    equivalence = pd.Series([comparison_rule(key, metric).kind == "equivalence"
                             for key, metric in zip(comparisons["key"], comparisons["metric"])],
                            index=comparisons.index, dtype=bool)
    tost = comparisons[equivalence & (comparisons["family"] != "descriptive")]
    if planning_sd is None or tost.empty:
        return None
    row = tost.iloc[0]
    return equivalence_power_table(planning_sd / 100, PLANNING_SD_PAIRS, int(row["n_a"]), margin,
                                   ALPHA / max(int(row["family_size"]), 1))


def table_rng(seed: int, table: str) -> np.random.Generator:
    """The random stream of one table's resamples and permutations, from the config's ``stats.seed`` and the
    table's name: each table draws its own, so its numbers do not depend on which tables were computed before
    it, or in which job (the logistic-regression tables are written before LeNet-5's runs exist)."""
    return np.random.default_rng(mix_seed("stats", seed, table))


def logreg_tables(runs: pd.DataFrame, chance: float, seed: int, resamples: int = RESAMPLES,
                  escape_alpha: float = ESCAPE_ALPHA) -> dict[str, pd.DataFrame]:
    """The tables of logistic regression alone (``escape``, ``escape_sensitivity``, ``pairs``): rule
    aggregate_logreg writes them as soon as its runs are done; rule aggregate computes them again from the same
    rows with the same streams, for the comparisons and the facts."""
    return {
        "escape": escape_table(runs, chance=chance, alpha=escape_alpha),
        "escape_sensitivity": escape_sensitivity(runs),
        "pairs": pair_difficulty(runs, table_rng(seed, "pair_difficulty"), resamples),
    }


def aggregate_study(logreg: Sequence[dict], sweep: Sequence[dict], trainings: Sequence[dict],
                    evaluations: Sequence[dict], identities: pd.DataFrame, exploratory: Mapping[str, pd.DataFrame],
                    scale_grid: pd.DataFrame | None, pair: Sequence[int], logreg_steps: Sequence[int],
                    stats: Mapping[str, Any]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Rule aggregate's work: every run record (logistic regression's main grid ``logreg`` and ``sweep``, LeNet-5's
    ``trainings`` with their ``evaluations``), the identities table, the exploratory tables (``confusions``,
    ``ranking``, ``per_epoch``: mnistrepro.analysis.exploratory; only their facts are used) and the scale grid's (None
    where the config does not run it) -> the tables ``runs``, ``summary``, ``comparisons``, ``lenet_test_set`` and every
    fact. ``stats``: the config's ``stats`` section (margins and SDs in percentage points, as the config states
    them; the tables hold fractions)."""
    runs = runs_table(logreg=logreg, sweep=sweep, lenet=list(zip(trainings, evaluations)))
    main_pair = pair_name(pair)
    seed, resamples = stats["seed"], stats["resamples"]
    margin = stats["equivalence_margin"] / 100
    logreg_only = logreg_tables(runs, logreg[0]["chance_accuracy"], seed, resamples, stats["escape_alpha"])
    tables = {
        "runs": runs,
        "summary": summary_table(runs, table_rng(seed, "summary"), resamples),
        "comparisons": comparisons_table(runs, logreg_steps, resamples, main_pair=main_pair,
                                         equivalence_margin=margin, pairs=logreg_only["pairs"]),
    }
    tables["lenet_test_set"] = lenet_test_set(evaluations, claim_pair("c3"), table_rng(seed, "lenet_test_set"),
                                              stats["image_resamples"])
    test_set_facts = lenet_test_set_facts(tables["lenet_test_set"])
    planning_sd = stats["planning_paired_sd"]
    planned = sample_size(runs, tables["comparisons"], target_difference=stats["target_difference"] / 100,
                          planning_sd=None if planning_sd is None else planning_sd / 100, equivalence_margin=margin)
    facts = study_facts(runs, tables["summary"], tables["comparisons"], logreg_only, identities, test_set_facts,
                        main_pair, planned, paired_sd_notes=stats["paired_sd_notes"], scale_grid=scale_grid,
                        seeds_images=seeds_and_images(evaluations, claim_pair("c3"), margin),
                        power_table=tost_power_table(tables["comparisons"], planning_sd, margin))
    facts.update(glance_facts(tables["comparisons"], logreg_only["pairs"], main_pair, margin))
    facts["machine"] = machine_fact([*logreg, *sweep, *trainings])
    # Descriptions, in no confirmatory family.
    facts.update(exploratory_facts(exploratory))
    return tables, facts
