"""From per-run evaluation records to the study's tables: runs, summary, comparisons, facts.

``runs`` has one row per evaluated model: a LeNet-5 run after its last epoch, and a logistic
regression run at each step count it was evaluated at (``logreg.eval_steps`` and ``logreg.steps``).

The facts (``facts.json``) are the report's words: every key is named so that a caption reads the
same key whatever the configuration (the last step count is ``final``, the main pair ``main_pair``).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mnistrepro.choices import (COMPARISONS, FACTOR_VARIANTS, FAMILIES, ComparisonSpec, comparison_specs,
                               step_key, variant_label)
from mnistrepro.facts import REFERENCE_ACCURACY
from mnistrepro.stats import (ALPHA, BOOTSTRAP_MIN_N, CONFIDENCE, ESCAPE_ALPHA, ESCAPE_THRESHOLDS, P_PRINT_FLOOR, POWER,
                              RESAMPLES, Comparison, adjust_family, compare, equivalence_power, equivalence_required_n,
                              equivalence_test, escape_accuracy, hardest_set, hardest_test, mean_interval,
                              lenet_test_set, minimum_detectable_difference, rank_bootstrap, required_n, summarize,
                              wilson_interval)
from mnistrepro.report.exploratory import exploratory_facts
from mnistrepro.report.lenet_test_set import lenet_test_set_facts
from mnistrepro.report.numbers import format_p
from mnistrepro.report.scale_grid import scale_grid_facts
from mnistrepro.report.verdicts import verdict
from mnistrepro.seeds import mix_seed
from mnistrepro.stats import escaped as stats_escaped

RUN_COLUMNS = [
    "experiment", "loss", "scaling", "c3", "pair", "seed", "steps", "epochs",
    "test_accuracy", "test_loss", "correct", "total", "trainable_params", "train_seconds", "device",
    "top2_accuracy", "ece",  # LeNet-5 only (mnistrepro.lenet_eval)
]
VARIANT_COLUMNS = ["experiment", "loss", "scaling", "c3", "pair", "steps", "epochs"]
# The test metrics every run record carries under these names (logistic regression: the record and each of
# its evals, mnistrepro.logreg.run_metrics; LeNet-5: the evaluation record lenet_eval/{c3}/seed{seed}.json, mnistrepro.lenet_eval.evaluate), copied
# into the runs columns of the same names. Training time and device are `train_seconds` and `device` in both
# experiments' training records.
RECORD_METRICS = ("test_accuracy", "test_loss", "correct", "total")
LOGREG_PARAMS = 28 * 28 + 1


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


def escape_category(k: int, n: int, confidence: float = CONFIDENCE) -> str:
    """How a verdict words ``k`` escaped of ``n`` runs, from the Wilson interval of the rate alone, so that no
    single run at one threshold decides it: "almost no run" (the interval below 5%), "almost every run" (above
    95%), "a minority" / "a majority" of runs (the interval below / above one half), else "no clear majority
    either way"."""
    if n == 0:
        return "no runs"
    low, high = wilson_interval(k, n, confidence)
    if high < 0.05:
        return "almost no run (under 5%)"
    if low > 0.95:
        return "almost every run (over 95%)"
    if high < 0.5:
        return "a minority of runs"
    if low > 0.5:
        return "a majority of runs"
    return "no clear majority either way"


def escape_table(runs: pd.DataFrame, chance: float, alpha: float = ESCAPE_ALPHA) -> pd.DataFrame:
    """Per logistic-regression variant and step count: how many runs escaped chance, and how well.

    A run has escaped when its correct count beats the majority-class rate ``chance`` by a one-sided
    exact binomial test at level ``alpha`` (:func:`mnistrepro.stats.escaped`), a definition fixed in
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
    ``escape_rate`` with its Wilson 95% interval, and ``category`` (:func:`escape_category`)."""
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
                         "escape_ci95_high": high, "category": escape_category(k, acc.size)})
    return pd.DataFrame(rows, columns=columns)


def study_comparisons(runs: pd.DataFrame, logreg_steps: Sequence[int]) -> list[ComparisonSpec]:
    """The comparisons this study's runs support (mnistrepro.choices.comparison_specs of the variants in ``runs``),
    in the order ``comparisons.csv`` lists them. Every table row, fact and verdict iterates over this list."""
    lenet = runs[runs["experiment"] == "lenet"]
    logreg = runs[runs["experiment"] == "logreg"]
    variants = {"c3": _in_registry_order("c3", lenet["c3"]), "loss": _in_registry_order("loss", logreg["loss"]),
                "scaling": _in_registry_order("scaling", logreg["scaling"])}
    specs = comparison_specs(variants, logreg_steps, int(lenet["epochs"].max()) if not lenet.empty else None)
    # A grid with holes (a loss run on one scaling only) supports fewer comparisons than its variants would.
    return [spec for spec in specs if not (_select(runs, spec, spec.a).empty or _select(runs, spec, spec.b).empty)]


def _in_registry_order(factor: str, values: pd.Series) -> list[str]:
    present = set(values.dropna())
    return [name for name in FACTOR_VARIANTS[factor] if name in present]


def _select(runs: pd.DataFrame, spec: ComparisonSpec, value: str) -> pd.DataFrame:
    rows = runs[(runs["experiment"] == spec.rule.experiment) & (runs[spec.rule.factor] == value)]
    for column, fixed in spec.where:
        rows = rows[rows[column] == fixed]
    return rows


COMPARISON_COLUMNS = ["comparison", "key", "family", "role", "metric", "a", "b", "scaling", "loss", "steps", "epochs",
                      "n_a", "n_b", "mean_a", "mean_b", "difference", "ci95_low", "ci95_high", "ci_method", "p_value",
                      "p_bound", "p_holm", "p_holm_bound", "family_size", "test", "mdd", "significant", "verdict"]


def _role(family: str, primary: bool) -> str:
    return "descriptive" if not family else "primary" if primary else "secondary"


def comparisons_table(runs: pd.DataFrame, logreg_steps: Sequence[int], rng: np.random.Generator | None = None,
                      resamples: int = RESAMPLES, main_pair: str | None = None,
                      equivalence_margin: float | None = None) -> pd.DataFrame:
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
      pair's difference from the closest other pair (descriptive).

    ``p_bound`` / ``p_holm_bound``: the value is an upper bound on the p-value ("p ≤"), not the p-value.
    """
    pending: list[tuple[dict, Comparison, str, bool]] = []
    for spec in study_comparisons(runs, logreg_steps):
        rule = spec.rule
        if rule.kind == "equivalence" and equivalence_margin is None:
            continue
        a, b = _select(runs, spec, spec.a), _select(runs, spec, spec.b)
        a, b = a.set_index("seed")[rule.metric], b.set_index("seed")[rule.metric]
        c = compare(a, b, rng, resamples)
        row = {"comparison": rule.title, "key": spec.key, "metric": rule.metric, "a": spec.label_a,
               "b": spec.label_b, **dict(spec.where), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
               "spec": spec}
        if rule.kind == "equivalence":
            # Paired by seed: a TOST of unpaired runs is not what the n was planned for, so none is made.
            diff = (a.sort_index() - b.sort_index()).to_numpy() if c.paired else np.array([])
            e = equivalence_test(diff, equivalence_margin, resamples)
            c = Comparison(c.n_a, c.n_b, True, c.difference, math.nan, math.nan, e.p_value,
                           f"{e.test}, margin ±{100 * equivalence_margin:.2f} points", c.sd_difference)
            row["margin"] = equivalence_margin
        pending.append((row, c, spec.family, spec.primary))
    pending += _hardest_pair_rows(runs, main_pair)
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
            text = hardest_verdict(row["a"], row.pop("runner_up"), c)
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
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    for column in ("steps", "epochs"):
        table[column] = table[column].astype("Int64")
    return table


def _hardest_pair_rows(runs: pd.DataFrame, main_pair: str | None) -> list[tuple[dict, Comparison, str, bool]]:
    """Per step count of the sweep, the main pair against its closest challenger: at the last step count the
    intersection-union test that it is the hardest (:func:`mnistrepro.stats.hardest_test`, the hardest-pair
    family), at the others the difference from the pair with the next lowest mean, descriptive."""
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
                           c.sd_difference, p_bound=p < P_PRINT_FLOOR, ci_method=c.ci_method)
        rows.append(({"comparison": rule.title, "key": f"{rule.name}_{int(steps)}", "metric": rule.metric,
                      "a": _pair_label(main_pair), "b": "every other pair", "steps": int(steps),
                      "mean_a": float(main.mean()), "mean_b": float(groups[runner].mean()), "spec": None,
                      "runner_up": _pair_label(runner)}, c, family, bool(family)))
    return rows


def equivalence_verdict(c: Comparison, margin: float) -> str:
    """The TOST row's sentence: equivalent within ``±margin`` (Holm-adjusted in its family), or not shown to be."""
    p = (f"TOST {format_p(c.p_value, c.p_bound)}, Holm {format_p(c.p_holm, c.p_holm_bound)} (family of "
         f"{c.family_size}), n = {c.n_a} pairs")
    if c.significant:
        return f"equivalent within ±{100 * margin:.2f} percentage points ({p})"
    return f"equivalence within ±{100 * margin:.2f} percentage points not shown ({p})"


def hardest_verdict(main: str, runner_up: str, c: Comparison) -> str:
    """The hardest-pair row's sentence: the main pair is shown to be the hardest of all, or it is not; at a step
    count outside the family, its difference from the closest other pair, descriptive."""
    if not c.family:
        return (f"{main} - {runner_up} (the closest other pair): {100 * c.difference:+.2f} percentage points "
                f"(95% CI {100 * c.ci95_low:+.2f} to {100 * c.ci95_high:+.2f}; descriptive)")
    p = f"intersection-union test {format_p(c.p_value, c.p_bound)}, Holm {format_p(c.p_holm, c.p_holm_bound)}"
    if c.significant:
        return f"{main} is the hardest pair: every other pair is shown easier (closest: {runner_up}; {p})"
    return f"{main} is not shown to be the hardest pair (closest: {runner_up}; {p})"


def _pair_label(pair: str) -> str:
    return pair.replace("-", " vs ")


def pair_difficulty(runs: pd.DataFrame, rng: np.random.Generator | None = None, resamples: int = RESAMPLES
                    ) -> pd.DataFrame:
    """Per step count of the sweep, per digit pair, hardest first: ``steps``, ``pair``, ``a``, ``b``, ``n``,
    ``mean``, ``std``, the mean's 95% interval (``ci95_low``, ``ci95_high``, ``ci_method``), ``rank`` (1 =
    lowest mean) with its 95% bootstrap interval (``rank_low``, ``rank_high``), ``share_rank1`` (the share of
    bootstrap resamples in which the pair ranks first) and ``in_hardest_set`` (the pair is in the 95% confidence
    set of the hardest pair, :func:`mnistrepro.stats.hardest_set`). The bootstrap columns need ``rng`` and at
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


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def _points(low: float, high: float) -> str:
    return f"{100 * low:+.2f} to {100 * high:+.2f} percentage points"


def _interval_text(low: float, high: float, method: str, n: int) -> str:
    """``98.20% to 99.00%``, labelled with its method and n where it is not a percentile bootstrap."""
    text = f"{_pct(low)} to {_pct(high)}"
    return text if method.startswith("percentile bootstrap") else f"{text}; {method.split(' (')[0]}, n = {n}"


def escape_facts(escape: pd.DataFrame, sensitivity: pd.DataFrame | None, final: int | None) -> dict[str, str]:
    """The escape rates as the report quotes them, and per variant a verdict that holds across the fixed
    thresholds of ``sensitivity`` or says that it does not."""
    facts: dict[str, str] = {}
    if escape.empty:
        return facts
    facts["escape_alpha"] = f"{escape['escape_alpha'].iloc[0]:g}"
    facts["escape_threshold"] = _pct(escape["threshold"].iloc[0])
    facts["chance"] = _pct(escape["chance"].iloc[0])
    for row in escape.itertuples(index=False):
        key = f"{row.loss}_{row.scaling}_{step_key(row.steps, final)}"
        facts[f"escape_{key}"] = (f"{row.escaped} of {row.n} runs ({_pct(row.escape_rate)}, Wilson 95% CI "
                                  f"{_pct(row.escape_ci95_low)} to {_pct(row.escape_ci95_high)})")
        facts[f"escaped_{key}_median"] = "none escaped" if row.escaped == 0 else _pct(row.escaped_median)
        facts[f"escaped_{key}_range"] = ("none escaped" if row.escaped == 0 else
                                         f"{_pct(row.escaped_min)} to {_pct(row.escaped_max)}")
        if not math.isnan(row.reference_percentile):
            facts[f"reference_{key}"] = (f"the reference's single run ({_pct(row.reference_accuracy)}) is above "
                                         f"{100 * row.reference_percentile:.0f}% of the escaped runs")
        elif not math.isnan(row.reference_accuracy):
            facts[f"reference_{key}"] = (f"the reference's single run ({_pct(row.reference_accuracy)}) has no "
                                         f"escaped run to be placed among")
        category = escape_category(row.escaped, row.n)
        verdict_text = category
        if sensitivity is not None and not sensitivity.empty:
            table = sensitivity[(sensitivity["loss"] == row.loss) & (sensitivity["scaling"] == row.scaling)
                                & (sensitivity["steps"] == row.steps)]
            if not table.empty:
                facts[f"escape_{key}_sensitivity"] = ", ".join(
                    f"{100 * t.threshold:.0f}%: {t.escaped}" for t in table.itertuples(index=False)) + f" of {row.n}"
                span = (f"{100 * table['threshold'].min():.0f}% to {100 * table['threshold'].max():.0f}% "
                        f"(rates {_pct(table['escape_rate'].min())} to {_pct(table['escape_rate'].max())})")
                differ = table[table["category"] != category]
                if differ.empty:
                    verdict_text = f"{category}, as at every fixed threshold from {span}"
                else:
                    verdict_text = (f"{category}, but not at every fixed threshold from {span}: "
                                    + "; ".join(f"{t.category} above {100 * t.threshold:.0f}%"
                                                for t in differ.itertuples(index=False))
                                    + ", so this verdict depends on the threshold")
        facts[f"escape_{key}_verdict"] = verdict_text
    for (loss, scaling), variant in escape.groupby(["loss", "scaling"], sort=True):
        steps = variant["steps"].tolist()
        moves = [f"{before:,} → {after:,}: {n}" for before, after, n in zip(steps, steps[1:], variant["fell_back"][1:])
                 if n]
        total = int(variant["fell_back"].sum())
        facts[f"escape_{loss}_{scaling}_fell_back"] = (
            f"{total} run{'s' if total != 1 else ''} that had escaped at one step count no longer did at the next "
            f"({'; '.join(moves)}): escape is not permanent" if total else
            "no run that had escaped at one step count fell back at the next" if len(steps) > 1 else
            "one step count evaluated, so no run can be seen to fall back")
    return facts


def pair_facts(pairs: pd.DataFrame, comparisons: pd.DataFrame, main_pair: str | None) -> dict[str, str]:
    """Per step count of the sweep (keys carry the number, ``pair_verdict_1000``): the hardest and easiest
    pair, the main pair's rank with its bootstrap interval and bootstrap share ranked first, and a verdict: at
    the last step count the hardest-pair family's test (``comparisons``) with, where it does not show the main
    pair hardest, the 95% confidence set of the hardest; at the other step counts the confidence set, described."""
    facts: dict[str, str] = {}
    if pairs.empty:
        return facts
    for steps, table in pairs.groupby("steps", sort=True):
        table = table.sort_values(["mean", "pair"], ignore_index=True)
        hardest, easiest = table.iloc[0], table.iloc[-1]
        s = int(steps)
        facts[f"hardest_pair_{s}"] = f"{_pair_label(hardest['pair'])} ({_pct(hardest['mean'])}, n = {hardest['n']})"
        facts[f"easiest_pair_{s}"] = f"{_pair_label(easiest['pair'])} ({_pct(easiest['mean'])}, n = {easiest['n']})"
        facts[f"sweep_n_{s}"] = f"{int(table['n'].min())}" + ("" if table["n"].nunique() == 1 else
                                                              f" to {int(table['n'].max())}")
        bootstrapped = not table["share_rank1"].isna().all()
        top = table.sort_values("share_rank1", ascending=False).head(3) if bootstrapped else table.head(0)
        facts[f"share_rank1_{s}"] = ", ".join(f"{_pair_label(r.pair)} {r.share_rank1:.2f}"
                                              for r in top.itertuples(index=False) if r.share_rank1 > 0) or "n/a"
        main = table[table["pair"] == main_pair]
        rank_text = ""
        if not main.empty:
            m = main.iloc[0]
            rank_text = f"{_pair_label(main_pair)} ranks {int(m['rank'])} of {len(table)}"
            if bootstrapped:
                rank_text += (f" (95% bootstrap interval {int(m['rank_low'])} to {int(m['rank_high'])}; bootstrap "
                              f"share ranked first {m['share_rank1']:.2f})")
            facts[f"main_pair_rank_{s}"] = rank_text
        test = comparisons[(comparisons["comparison"] == "hardest pair") & (comparisons["steps"] == s)]
        tested = not test.empty and test.iloc[0]["family"] != "descriptive"
        if tested and bool(test.iloc[0]["significant"]):
            verdict_text = f"{test.iloc[0]['verdict']}; {rank_text}"
        elif bootstrapped:
            candidates = table[table["in_hardest_set"].astype(bool)]
            names = ", ".join(f"{_pair_label(p)} ({_pct(v)})" for p, v in zip(candidates["pair"], candidates["mean"]))
            if len(candidates) == 1:
                lead = f"{names} is the hardest pair (the 95% confidence set of the hardest holds it alone)"
            else:
                lead = (f"the hardest pair cannot be told apart among {len(candidates)}: {names} (95% confidence "
                        f"set, max-T bootstrap)")
            main_test = f"; {test.iloc[0]['verdict']}" if tested else "; descriptive: no test at this step count"
            verdict_text = (f"{lead}; {rank_text}{main_test}; bootstrap share ranked first: "
                            f"{facts[f'share_rank1_{s}']}")
        else:
            main_test = f"; {test.iloc[0]['verdict']}" if tested else ""
            verdict_text = (f"lowest mean {facts[f'hardest_pair_{s}']}; {rank_text}{main_test}; with fewer than "
                            f"{BOOTSTRAP_MIN_N} seeds per pair no rank interval or confidence set is made")
        facts[f"pair_verdict_{s}"] = verdict_text
    return facts


def headline_facts(summary: pd.DataFrame, comparisons: pd.DataFrame, pairs: pd.DataFrame,
                   escape: pd.DataFrame | None = None, identities: pd.DataFrame | None = None,
                   sensitivity: pd.DataFrame | None = None, main_pair: str | None = None) -> dict[str, str]:
    """Short formatted numbers for the report captions, keyed by name (strings, ready to quote).

    Logistic-regression keys carry the step count, the last one as ``final`` (``logreg_mse_raw_final_mean``);
    a comparison's ``*_verdict`` includes its 95% interval where its n can bound one; ``families`` names each
    confirmatory family and its members (:func:`family_facts`)."""
    facts: dict[str, str] = {}
    logreg = summary[summary["experiment"] == "logreg"] if "experiment" in summary else summary.head(0)
    steps = [*logreg.get("steps", []), *([] if escape is None else escape["steps"])]
    final = int(max(steps)) if steps else None
    if escape is not None:
        facts.update(escape_facts(escape, sensitivity, final))
    for row in summary.itertuples(index=False):
        if row.experiment == "lenet":
            key = f"lenet_{row.c3}"
        elif row.experiment == "logreg":
            key = f"logreg_{row.loss}_{row.scaling}_{step_key(row.steps, final)}"
        else:
            continue
        facts[f"{key}_mean"] = _pct(row.mean)
        facts[f"{key}_ci"] = _interval_text(row.ci95_low, row.ci95_high, row.ci_method, row.n)
        facts[f"{key}_range"] = f"{_pct(row.min)} to {_pct(row.max)}"
        facts[f"{key}_n"] = str(row.n)
        facts[f"{key}_seconds"] = f"{row.mean_train_seconds:.3g} s"
        if row.experiment == "lenet":
            facts[f"{key}_params"] = f"{int(row.trainable_params):,}"
    kinds = {rule.title: rule.kind for rule in COMPARISONS}
    for row in comparisons.itertuples(index=False):
        if kinds[row.comparison] != "difference" or row.family == "descriptive":
            facts[f"{row.key}_verdict"] = row.verdict
            continue
        # Every verdict with its interval: a "no significant difference" verdict states its own (or why none
        # can bound it); a significant one gets it here, signed as the verdict reads (the better one's lead).
        low, high = ((row.ci95_low, row.ci95_high) if row.difference > 0 else (-row.ci95_high, -row.ci95_low))
        label = "" if str(row.ci_method).startswith(("exact", "constant", "paired t")) else f" ({row.ci_method})"
        interval = f"; 95% CI {_points(low, high)}{label}" if row.significant else ""
        facts[f"{row.key}_verdict"] = row.verdict + interval
    facts.update(family_facts(comparisons))
    if main_pair is None and not logreg.empty:
        main_pair = logreg["pair"].iloc[0]
    facts.update(pair_facts(pairs, comparisons, main_pair))
    if identities is not None and not identities.empty:
        facts.update(identity_facts(identities))
    return facts


def _member(row: Any) -> str:
    if row.comparison == "C3 equivalence":
        return f"TOST equivalence of {row.a} and {row.b} within the margin"
    if row.comparison == "hardest pair":
        return f"{row.a} is the hardest pair, after {int(row.steps):,} steps"
    at = f", {int(row.steps):,} steps" if not pd.isna(row.steps) else f", {int(row.epochs)} epochs"
    what = "" if row.metric == "test_accuracy" else f" in {row.metric}"
    return f"{row.a} vs {row.b}{what}{at}"


def family_facts(comparisons: pd.DataFrame) -> dict[str, str]:
    """``families``: each confirmatory family of the comparisons with its members (primary first) and its
    size; ``descriptive``: what is described rather than tested."""
    parts = []
    for key, claim in FAMILIES.items():
        members = comparisons[comparisons["family"] == key]
        if members.empty:
            continue
        members = members.sort_values("role", key=lambda r: r != "primary", kind="stable")
        listed = "; ".join(f"{_member(r)}{' (primary)' if r.role == 'primary' else ''}"
                           for r in members.itertuples(index=False))
        parts.append(f"{claim}: Holm over {len(members)} test{'s' if len(members) > 1 else ''}, {listed}")
    descriptive = comparisons[comparisons["family"] == "descriptive"]
    return {
        "families": (". ".join(parts) if parts else "no confirmatory family (this configuration tests no claim)"),
        "descriptive": (f"{len(descriptive)} comparisons at other step counts, epochs or metrics are descriptive: a "
                        f"95% interval, no p-value" if len(descriptive) else "no descriptive comparison"),
    }


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


def _n_needed(solve, *args) -> str:
    try:
        return f"n = {solve(*args)} pairs"
    except ValueError:  # a spread so wide (a 1-epoch test config, say) that no practical n suffices
        return "over ten thousand pairs"


def lenet_facts(runs: pd.DataFrame, comparisons: pd.DataFrame, target_difference: float,
                planning_sd: float | None = None, power: float = POWER,
                equivalence_margin: float | None = None) -> dict[str, str]:
    """The LeNet-5 verdict as one sentence (the C3 family: the TOST equivalence verdict, primary, and the paired
    difference), per variant the top-2 accuracy and ECE, and the sample size:

    - ``lenet_n_plan``, the plan stated before the runs: from ``planning_sd`` (a fraction, the paired pilot SD of
      the config; None: no plan), the pairs whose TOST shows equivalence within ``equivalence_margin`` with
      ``power`` when the two C3 kinds are equally accurate, at the C3 family's strictest Holm level (and the
      pairs that detect ``target_difference`` at that level);
    - ``lenet_achieved``: the same two quantities from this study's own paired SD, labelled as achieved."""
    facts: dict[str, str] = {}
    lenet = runs[runs["experiment"] == "lenet"]
    lenet = lenet[lenet["epochs"] == lenet["epochs"].max()]
    for c3, group in lenet.groupby("c3"):
        facts[f"lenet_{c3}_top2"] = _pct(float(group["top2_accuracy"].mean()))
        mean, low, high, method = mean_interval(group["ece"], np.random.default_rng(0), bounds=(0.0, 1.0))
        facts[f"lenet_{c3}_ece"] = _pct(mean)
        facts[f"lenet_{c3}_ece_ci"] = _interval_text(low, high, method, len(group))
    specs = [spec for spec in study_comparisons(runs, []) if spec.rule.name == "c3"]
    for spec in specs:
        if spec.rule.kind != "difference" or spec.rule.metric != "test_accuracy":
            continue
        row = comparisons[comparisons["key"] == spec.key].iloc[0]
        text = row.verdict
        if row.significant:
            low, high = (row.ci95_low, row.ci95_high) if row.difference > 0 else (-row.ci95_high, -row.ci95_low)
            text += f"; 95% CI {_points(low, high)}"
        equivalence = comparisons[comparisons["key"] == f"{spec.key}_equivalence"]
        facts[f"{spec.key}_claim"] = f"{equivalence.iloc[0]['verdict']}; {text}" if not equivalence.empty else text
    primary = comparisons[(comparisons["family"] == "c3") & (comparisons["role"] == "primary")]
    if primary.empty:
        return facts
    row = primary.iloc[0]
    spec = next(spec for spec in specs if spec.key == row.key)
    a = lenet[lenet["c3"] == spec.a].set_index("seed")["test_accuracy"]
    b = lenet[lenet["c3"] == spec.b].set_index("seed")["test_accuracy"]
    shared = sorted(set(a.index) & set(b.index))
    measured = float((a[shared] - b[shared]).std(ddof=1)) if len(shared) > 1 else math.nan
    facts["lenet_paired_sd"] = (f"{100 * measured:.3f} points (n = {len(shared)} pairs)" if not math.isnan(measured)
                                else "n/a")
    m = int(row.family_size) or 1
    alpha = ALPHA / m
    level = f"the C3 family's strictest Holm level, α = 0.05 / {m} = {alpha:.3g}"
    margin_text = "" if equivalence_margin is None else f"within ±{100 * equivalence_margin:.2f} points "

    def needs(sd: float) -> str:
        text = f"detecting {100 * target_difference:.2f} points needs {_n_needed(required_n, sd, target_difference, alpha, power)}"
        if equivalence_margin is not None:
            text = (f"showing equivalence {margin_text}(TOST) if the two are equally accurate needs "
                    f"{_n_needed(equivalence_required_n, sd, equivalence_margin, alpha, power)}, and {text}")
        return text

    facts["lenet_n_plan"] = (
        f"planned before the runs from the paired pilot SD of {100 * planning_sd:.3f} points "
        f"(stats.planning_paired_sd), with {100 * power:.0f}% power at {level}: {needs(planning_sd)}; this study "
        f"has {len(shared)} pairs" if planning_sd is not None else
        f"no plan: stats.planning_paired_sd is not set, so this study's {len(shared)} pairs were not planned")
    if not math.isnan(measured) and measured > 0:
        achieved = f"the difference test detects {100 * minimum_detectable_difference(measured, len(shared), alpha, power):.2f} points with {100 * power:.0f}% power"
        if equivalence_margin is not None:
            achieved = (f"the TOST's power {margin_text}is "
                        f"{100 * equivalence_power(measured, len(shared), equivalence_margin, alpha):.0f}% if the two "
                        f"are equally accurate, and {achieved}")
        facts["lenet_achieved"] = (f"achieved (from this study's own paired SD of {100 * measured:.3f} points over "
                                   f"{len(shared)} pairs, after the runs, not a plan), at {level}: {achieved}")
    else:
        facts["lenet_achieved"] = f"not computed: it needs a paired SD of at least 2 pairs (this study has {len(shared)})"
    return facts


def machine_fact(records: Iterable[Mapping[str, Any]]) -> str:
    """Where the training runs ran, as the README's results block names it: each CPU model with the instruction
    set of torch's CPU kernels (config cpu_kernels), and each GPU, from the runs' hardware records."""
    cpus, gpus = set(), set()
    for record in records:
        hardware = record["hardware"]
        cpus.add(f"{hardware['cpu']} (torch CPU kernels: {hardware['cpu_capability']})")
        if hardware.get("gpu_model"):
            gpus.add(hardware["gpu_model"])
    return "; ".join(sorted(cpus) + [f"GPU: {gpu}" for gpu in sorted(gpus)])


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


# ---------------------------------------------------------------------------------------------------
# The study's tables, in the two jobs that write them (rules aggregate_logreg and aggregate, results.smk)


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


def variant_facts(facts: Mapping[str, str], runs: pd.DataFrame, logreg_steps: Sequence[int]) -> dict[str, str]:
    """The captions' lists, one entry per variant the study ran (in the registry's order, named by its label), so
    that no caption names a variant: LeNet-5's accuracy, parameters, time and calibration per C3 kind, logistic
    regression's accuracy and time per loss and scaling at the last step count, and each C3 comparison's claim and
    calibration verdict."""
    lenet = runs[runs["experiment"] == "lenet"]
    logreg = runs[runs["experiment"] == "logreg"]
    kinds = _in_registry_order("c3", lenet["c3"])
    logreg_variants = [(loss, scaling) for loss in _in_registry_order("loss", logreg["loss"])
                       for scaling in _in_registry_order("scaling", logreg["scaling"])]
    label = {c3: variant_label("c3", c3) for c3 in kinds}
    out = {}
    if kinds:
        out["lenet_variants_accuracy"] = "; ".join(
            f"{label[c]} ({facts[f'lenet_{c}_params']} parameters): {facts[f'lenet_{c}_mean']} (95% CI "
            f"{facts[f'lenet_{c}_ci']})" for c in kinds)
        out["lenet_variants_params"] = "; ".join(f"{label[c]} {facts[f'lenet_{c}_params']}" for c in kinds)
        out["lenet_variants_seconds"] = "; ".join(f"{label[c]} {facts[f'lenet_{c}_seconds']} per run" for c in kinds)
        out["lenet_variants_calibration"] = "; ".join(
            f"{label[c]}: test accuracy {facts[f'lenet_{c}_mean']}, top-2 accuracy {facts[f'lenet_{c}_top2']}, ECE "
            f"{facts[f'lenet_{c}_ece']} (95% CI over seeds {facts[f'lenet_{c}_ece_ci']}; over test images "
            f"{facts[f'lenet_{c}_ece_images']})" for c in kinds)
        out["lenet_variants_ece_images"] = "; ".join(
            f"{label[c]}: {facts[f'lenet_{c}_ece_images']} (equal-width), {facts[f'lenet_{c}_ece_equal_mass_images']} "
            f"(equal-mass)" for c in kinds)
    if logreg_variants:
        names = {v: f"{variant_label('loss', v[0])}, {variant_label('scaling', v[1])}" for v in logreg_variants}
        out["logreg_variants_final"] = "; ".join(
            f"{names[v]}: {facts[f'logreg_{v[0]}_{v[1]}_final_mean']} (range {facts[f'logreg_{v[0]}_{v[1]}_final_range']})"
            for v in logreg_variants)
        out["logreg_variants_final_seconds"] = "; ".join(
            f"{names[v]} {facts[f'logreg_{v[0]}_{v[1]}_final_seconds']}" for v in logreg_variants)
    c3_specs = [spec for spec in study_comparisons(runs, logreg_steps) if spec.rule.name == "c3"
                and spec.rule.kind == "difference"]
    claims = [f"{s.label_a} vs {s.label_b}: {facts[f'{s.key}_claim']}" for s in c3_specs
              if s.rule.metric == "test_accuracy"]
    ece = [f"{s.label_a} vs {s.label_b}: {facts[f'{s.key}_verdict']}" for s in c3_specs if s.rule.metric == "ece"]
    if claims:
        out["c3_claims"], out["c3_ece_verdicts"] = "; ".join(claims), "; ".join(ece)
    return out


def study_facts(runs: pd.DataFrame, summary: pd.DataFrame, comparisons: pd.DataFrame,
                logreg: Mapping[str, pd.DataFrame], identities: pd.DataFrame, test_set_facts: Mapping[str, str],
                main_pair: str, target_difference: float, planning_sd: float | None, equivalence_margin: float,
                paired_sd_notes: Mapping[str, str] | None = None,
                scale_grid: pd.DataFrame | None = None) -> dict[str, str]:
    """Every fact of the study (``facts.json``'s flat mapping), from its tables; fractions, not percentage points.
    ``scale_grid``: the exploratory scale grid's table (mnistrepro.scale_grid), None where the config does not run
    it."""
    facts = {
        **headline_facts(summary, comparisons, logreg["pairs"], logreg["escape"], identities,
                         logreg["escape_sensitivity"], main_pair),
        **lenet_facts(runs, comparisons, target_difference, planning_sd, equivalence_margin=equivalence_margin),
        **test_set_facts,
        # Measured elsewhere and passed in through the config (stats.paired_sd_notes): quoted as given.
        **{f"lenet_paired_sd_{k}": v for k, v in (paired_sd_notes or {}).items()},
        **({} if scale_grid is None else scale_grid_facts(scale_grid)),
    }
    steps = sorted(int(x) for x in runs.loc[runs["experiment"] == "logreg", "steps"].dropna().unique())
    return {**facts, **variant_facts(facts, runs, steps)}


def aggregate_study(logreg: Sequence[dict], sweep: Sequence[dict], trainings: Sequence[dict],
                    evaluations: Sequence[dict], identities: pd.DataFrame, exploratory: Mapping[str, pd.DataFrame],
                    scale_grid: pd.DataFrame | None, pair: Sequence[int], logreg_steps: Sequence[int],
                    stats: Mapping[str, Any]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Rule aggregate's work: every run record (logistic regression's main grid ``logreg`` and ``sweep``, LeNet-5's
    ``trainings`` with their ``evaluations``), the identities table, the exploratory tables (``confusions``,
    ``ranking``, ``per_epoch``: mnistrepro.exploratory; only their facts are used) and the scale grid's (None where
    the config does not run it) -> the tables ``runs``, ``summary``, ``comparisons``, ``lenet_test_set`` and every
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
        "comparisons": comparisons_table(runs, logreg_steps, table_rng(seed, "comparisons"), resamples,
                                         main_pair=main_pair, equivalence_margin=margin),
    }
    tables["lenet_test_set"] = lenet_test_set(evaluations, table_rng(seed, "lenet_test_set"), stats["image_resamples"])
    test_set_facts = lenet_test_set_facts(tables["lenet_test_set"])
    planning_sd = stats["planning_paired_sd"]
    facts = study_facts(runs, tables["summary"], tables["comparisons"], logreg_only, identities, test_set_facts,
                        main_pair, target_difference=stats["target_difference"] / 100,
                        planning_sd=None if planning_sd is None else planning_sd / 100, equivalence_margin=margin,
                        paired_sd_notes=stats["paired_sd_notes"], scale_grid=scale_grid)
    facts["machine"] = machine_fact([*logreg, *sweep, *trainings])
    # Descriptions, in no confirmatory family.
    facts.update(exploratory_facts(exploratory))
    return tables, facts
