"""The study's facts (``facts.json``): every number of the tables that a caption, a finding or the README quotes,
as a sentence or a formatted number, and the verdict of each comparison row.

The aggregation (mnistrepro.outputs.aggregate) makes the tables; this module words them. Every key is named so that a
caption reads the same key whatever the configuration (the last step count is ``final``, a comparison's key is
mnistrepro.analysis.comparisons.comparison_key's), and per-variant lists loop over the variants the study ran.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import pandas as pd

from mnistrepro.analysis.comparisons import comparison_rule, hardest_key, in_registry_order, step_key, study_comparisons
from mnistrepro.analysis.definitions import SampleSize, SeedsAndImages
from mnistrepro.report.numbers import (epochs_label, interval_text, pair_label, percent, points, points_interval,
                                      steps_label)
from mnistrepro.report.scale_grid import scale_grid_facts
from mnistrepro.report.verdicts import (TEST_SET_POPULATION, escape_category, escape_verdict, pair_verdict,
                                       test_images_verdict)
from mnistrepro.study.choices import (COMPARISONS, EXPERIMENTS, FAMILIES, FAMILIES_FIXED_IN_ADVANCE, claim_pair,
                                      experiment_metrics, variant_label, variant_metrics)


def escape_facts(escape: pd.DataFrame, sensitivity: pd.DataFrame | None, final: int | None) -> dict[str, str]:
    """The escape rates as the report quotes them, and per variant a verdict that holds across the fixed
    thresholds of ``sensitivity`` or says that it does not."""
    facts: dict[str, str] = {}
    if escape.empty:
        return facts
    facts["escape_alpha"] = f"{escape['escape_alpha'].iloc[0]:g}"
    facts["escape_threshold"] = percent(escape["threshold"].iloc[0])
    facts["chance"] = percent(escape["chance"].iloc[0])
    for row in escape.itertuples(index=False):
        key = f"{row.loss}_{row.scaling}_{step_key(row.steps, final)}"
        facts[f"escape_{key}"] = (f"{row.escaped} of {row.n} runs ({percent(row.escape_rate)}, Wilson 95% CI "
                                  f"{percent(row.escape_ci95_low)} to {percent(row.escape_ci95_high)})")
        facts[f"escaped_{key}_median"] = "none escaped" if row.escaped == 0 else percent(row.escaped_median)
        facts[f"escaped_{key}_range"] = ("none escaped" if row.escaped == 0 else
                                         f"{percent(row.escaped_min)} to {percent(row.escaped_max)}")
        if not math.isnan(row.reference_percentile):
            facts[f"reference_{key}"] = (f"the reference's single run ({percent(row.reference_accuracy)}) is above "
                                         f"{100 * row.reference_percentile:.0f}% of the escaped runs")
        elif not math.isnan(row.reference_accuracy):
            facts[f"reference_{key}"] = (f"the reference's single run ({percent(row.reference_accuracy)}) has no "
                                         f"escaped run to be placed among")
        table = (None if sensitivity is None or sensitivity.empty else
                 sensitivity[(sensitivity["loss"] == row.loss) & (sensitivity["scaling"] == row.scaling)
                             & (sensitivity["steps"] == row.steps)])
        if table is not None and not table.empty:
            facts[f"escape_{key}_sensitivity"] = ", ".join(
                f"{100 * t.threshold:.0f}%: {t.escaped}" for t in table.itertuples(index=False)) + f" of {row.n}"
        facts[f"escape_{key}_verdict"] = escape_verdict(
            escape_category(row.n, row.escape_ci95_low, row.escape_ci95_high), table)
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
    hardest_rule = next(rule for rule in COMPARISONS if rule.kind == "hardest")
    for steps, table in pairs.groupby("steps", sort=True):
        table = table.sort_values(["mean", "pair"], ignore_index=True)
        hardest, easiest = table.iloc[0], table.iloc[-1]
        s = int(steps)
        facts[f"hardest_pair_{s}"] = f"{pair_label(hardest['pair'])} ({percent(hardest['mean'])}, n = {hardest['n']})"
        facts[f"easiest_pair_{s}"] = f"{pair_label(easiest['pair'])} ({percent(easiest['mean'])}, n = {easiest['n']})"
        facts[f"sweep_n_{s}"] = f"{int(table['n'].min())}" + ("" if table["n"].nunique() == 1 else
                                                              f" to {int(table['n'].max())}")
        bootstrapped = not table["share_rank1"].isna().all()
        top = table.sort_values("share_rank1", ascending=False).head(3) if bootstrapped else table.head(0)
        facts[f"share_rank1_{s}"] = ", ".join(f"{pair_label(r.pair)} {r.share_rank1:.2f}"
                                              for r in top.itertuples(index=False) if r.share_rank1 > 0) or "n/a"
        main = table[table["pair"] == main_pair]
        rank_text = ""
        if not main.empty:
            m = main.iloc[0]
            rank_text = f"{pair_label(main_pair)} ranks {int(m['rank'])} of {len(table)}"
            if bootstrapped:
                rank_text += (f" (95% bootstrap interval {int(m['rank_low'])} to {int(m['rank_high'])}; bootstrap "
                              f"share ranked first {m['share_rank1']:.2f})")
            facts[f"main_pair_rank_{s}"] = rank_text
        test = comparisons[comparisons["key"] == hardest_key(hardest_rule, s)]
        tested = not test.empty and test.iloc[0]["family"] != "descriptive"
        verdict_text = pair_verdict(table, test.iloc[0] if tested else None, rank_text, facts[f"hardest_pair_{s}"],
                                    facts[f"share_rank1_{s}"], bootstrapped)
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
        facts[f"{key}_mean"] = percent(row.mean)
        facts[f"{key}_ci"] = interval_text(row.ci95_low, row.ci95_high, row.ci_method, row.n)
        facts[f"{key}_range"] = f"{percent(row.min)} to {percent(row.max)}"
        facts[f"{key}_n"] = str(row.n)
        facts[f"{key}_seconds"] = f"{row.mean_train_seconds:.3g} s"
        if row.experiment == "lenet":
            facts[f"{key}_params"] = f"{int(row.trainable_params):,}"
        facts.update(metric_facts(row, key))
    for row in comparisons.itertuples(index=False):
        if comparison_rule(row.key, row.metric).kind != "difference" or row.family == "descriptive":
            facts[f"{row.key}_verdict"] = row.verdict
            continue
        # Every verdict with its interval: a "no significant difference" verdict states its own (or why none
        # can bound it); a significant one gets it here, signed as the verdict reads (the better one's lead).
        low, high = ((row.ci95_low, row.ci95_high) if row.difference > 0 else (-row.ci95_high, -row.ci95_low))
        label = "" if str(row.ci_method).startswith(("exact", "constant", "paired t")) else f" ({row.ci_method})"
        interval = f"; 95% CI {points_interval(low, high)}{label}" if row.significant else ""
        facts[f"{row.key}_verdict"] = row.verdict + interval
    facts.update(family_facts(comparisons))
    if main_pair is None and not logreg.empty:
        main_pair = logreg["pair"].iloc[0]
    facts.update(pair_facts(pairs, comparisons, main_pair))
    if identities is not None and not identities.empty:
        facts.update(identity_facts(identities))
    return facts


def metric_facts(row: Any, key: str) -> dict[str, str]:
    """A variant's facts of each metric summarised per variant that its experiment records (the summary's ``row``;
    mnistrepro.study.choices.variant_metrics): ``{key}_{fact}``, its mean (``lenet_sparse_top2``), and where the
    metric has one ``{key}_{fact}_ci``, its interval over seeds."""
    facts = {}
    for metric in variant_metrics():
        if row.experiment not in metric.experiments:
            continue
        facts[f"{key}_{metric.fact}"] = percent(getattr(row, f"mean_{metric.name}"))
        if metric.seed_interval:
            facts[f"{key}_{metric.fact}_ci"] = interval_text(getattr(row, f"{metric.name}_ci95_low"),
                                                             getattr(row, f"{metric.name}_ci95_high"),
                                                             getattr(row, f"{metric.name}_ci_method"), row.n)
    return facts


def _member(row: Any) -> str:
    kind = comparison_rule(row.key, row.metric).kind
    if kind == "equivalence":
        return f"TOST equivalence of {row.a} and {row.b} within the margin"
    if kind == "hardest":
        return f"{row.a} is the hardest pair, after {steps_label(int(row.steps))}"
    at = f", {steps_label(int(row.steps))}" if not pd.isna(row.steps) else f", {epochs_label(int(row.epochs))}"
    what = "" if row.metric == "test_accuracy" else f" in {row.metric}"
    return f"{row.a} vs {row.b}{what}{at}"


def family_facts(comparisons: pd.DataFrame) -> dict[str, str]:
    """``families``: each confirmatory family of the comparisons with its members (primary first) and its size,
    whether it was fixed before its runs were analysed (mnistrepro.study.choices.FAMILIES_FIXED_IN_ADVANCE) or chosen
    after earlier looks at the same runs, and whether any verdict of a family chosen after depends on that choice (the
    table's ``same_verdict_any_family``); ``descriptive``: what is described rather than tested."""
    parts, fixed, chosen_after = [], [], []
    for key, claim in FAMILIES.items():
        members = comparisons[comparisons["family"] == key]
        if members.empty:
            continue
        members = members.sort_values("role", key=lambda r: r != "primary", kind="stable")
        listed = "; ".join(f"{_member(r)}{' (primary)' if r.role == 'primary' else ''}"
                           for r in members.itertuples(index=False))
        when = ("fixed before its runs were analysed" if key in FAMILIES_FIXED_IN_ADVANCE else
                "chosen after earlier looks at the same deterministic runs")
        parts.append(f"{claim}: Holm over {len(members)} test{'s' if len(members) > 1 else ''} ({when}), {listed}")
        (fixed if key in FAMILIES_FIXED_IN_ADVANCE else chosen_after).append((claim.split(" (")[0], members))
    if chosen_after:
        names = " and ".join(name for name, _ in chosen_after)
        history = (f"{' and '.join(name for name, _ in fixed) + ' was fixed before its runs were analysed; ' if fixed else ''}"
                   f"{names} {'was' if len(chosen_after) == 1 else 'were'} first analysed under one Holm family of "
                   f"every claim, and {'its family was' if len(chosen_after) == 1 else 'their families were'} chosen "
                   f"after those looks at the same deterministic runs")
        tests = len(comparisons)
        differ = [r for _, members in chosen_after for r in members.itertuples(index=False)
                  if not bool(r.same_verdict_any_family)]
        if differ:
            history += (f"; these verdicts could differ in another family of at most the {tests} comparisons: "
                        + "; ".join(_member(r) for r in differ))
        else:
            history += (f"; no verdict depends on it: each of {'its' if len(chosen_after) == 1 else 'their'} "
                        f"verdicts is the same in any family of at most the "
                        f"{tests} comparisons (significant even under Bonferroni over all {tests}, or not significant "
                        f"even alone)")
        parts.append(capitalized_first(history))
    descriptive = comparisons[comparisons["family"] == "descriptive"]
    return {
        "families": (". ".join(parts) if parts else "no confirmatory family (this configuration tests no claim)"),
        "descriptive": (f"{len(descriptive)} comparisons at other step counts, epochs or metrics are descriptive: a "
                        f"95% interval, no p-value" if len(descriptive) else "no descriptive comparison"),
    }


def capitalized_first(text: str) -> str:
    """``text`` with its first letter upper case (a sentence that opens after a full stop)."""
    return text[:1].upper() + text[1:]


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


def _pairs_needed(n: int | None) -> str:
    """A planned number of pairs; None: the solver found none up to its ``n_max`` of ten thousand."""
    return "over ten thousand pairs" if n is None else f"n = {n} pairs"


def lenet_facts(runs: pd.DataFrame, comparisons: pd.DataFrame, sample_size: SampleSize | None = None,
                seeds_images: SeedsAndImages | None = None, power_table: pd.DataFrame | None = None) -> dict[str, str]:
    """The LeNet-5 verdict as one sentence (the C3 family: the TOST equivalence verdict, primary, and the paired
    difference), and the sample size (``sample_size``, mnistrepro.analysis.planning.sample_size; None where the
    comparisons have no C3 family):

    - ``lenet_n_plan``, the plan stated before the runs: from the config's paired pilot SD (None: no plan), the
      pairs whose TOST shows equivalence within the margin with the planned power when the two C3 kinds are equally
      accurate, at the C3 family's strictest Holm level (and the pairs that detect the target difference there);
    - ``lenet_achieved``: the same two quantities from this study's own paired SD, labelled as achieved."""
    facts: dict[str, str] = {}
    specs = [spec for spec in study_comparisons(runs, []) if spec.rule.name == "c3"]
    for spec in specs:
        if spec.rule.kind != "difference" or spec.rule.metric != "test_accuracy":
            continue
        row = comparisons[comparisons["key"] == spec.key].iloc[0]
        text = row.verdict
        if row.significant:
            low, high = (row.ci95_low, row.ci95_high) if row.difference > 0 else (-row.ci95_high, -row.ci95_low)
            text += f"; 95% CI {points_interval(low, high)}"
        equivalence = comparisons[comparisons["key"] == f"{spec.key}_equivalence"]
        if equivalence.empty:
            facts[f"{spec.key}_claim"] = text
            continue
        claim = f"{equivalence.iloc[0]['verdict']} {TEST_SET_POPULATION}"
        if seeds_images is not None and (spec.a, spec.b) == claim_pair("c3"):
            claim += f"; {test_images_verdict(seeds_images)}"
        facts[f"{spec.key}_claim"] = f"{claim}; {text}"
    if sample_size is None:
        return facts
    n, m, power = sample_size.n_pairs, sample_size.family_size, sample_size.power
    measured, margin = sample_size.paired_sd, sample_size.equivalence_margin
    facts["lenet_paired_sd"] = (f"{100 * measured:.3f} points (n = {n} pairs)" if not math.isnan(measured)
                                else "n/a")
    level = f"the C3 family's strictest Holm level, α = 0.05 / {m} = {sample_size.alpha:.3g}"
    margin_text = "" if margin is None else f"within ±{100 * margin:.2f} points "

    def needs() -> str:
        text = (f"detecting {100 * sample_size.target_difference:.2f} points needs "
                f"{_pairs_needed(sample_size.planned_difference_n)}")
        if margin is not None:
            text = (f"showing equivalence {margin_text}(TOST) if the two are equally accurate needs "
                    f"{_pairs_needed(sample_size.planned_equivalence_n)}, and {text}")
        return text

    planning_sd = sample_size.planning_sd
    facts["lenet_n_plan"] = (
        f"planned before the runs from the paired pilot SD of {100 * planning_sd:.3f} points "
        f"(stats.planning_paired_sd), with {100 * power:.0f}% power at {level}: {needs()}; this study "
        f"has {n} pairs" if planning_sd is not None else
        f"no plan: stats.planning_paired_sd is not set, so this study's {n} pairs were not planned")
    if sample_size.achieved_mdd is not None:
        achieved = (f"the difference test detects {100 * sample_size.achieved_mdd:.2f} points with "
                    f"{100 * power:.0f}% power")
        if margin is not None:
            achieved = (f"the TOST's power {margin_text}is {100 * sample_size.achieved_equivalence_power:.0f}% if the "
                        f"two are equally accurate, and {achieved}")
        facts["lenet_achieved"] = (f"achieved, post hoc (from this study's own paired SD of {100 * measured:.3f} "
                                   f"points over {n} pairs, after the runs, not a plan), at {level}: {achieved}")
    else:
        facts["lenet_achieved"] = f"not computed: it needs a paired SD of at least 2 pairs (this study has {n})"
    if power_table is not None and not power_table.empty:
        facts["lenet_tost_power"] = tost_power_words(power_table)
    if margin is not None:
        facts["c3_family_holm"] = (
            f"the C3 family keeps Holm over its {m} tests although their nulls (a difference of at least the margin; "
            f"no difference) cannot both hold, so at most one can be falsely rejected and each could be tested at "
            f"0.05 with the family-wise error still at 0.05: the number of seeds was planned at Holm's level, and "
            f"relaxing it after the runs would be a choice made after seeing them; Holm only makes the verdicts "
            f"stricter, and they hold at either level")
    return facts


def tost_power_words(table: pd.DataFrame) -> str:
    """The TOST's power table (mnistrepro.analysis.stats.equivalence_power_table) in words: per true difference, the
    power at the pilot SD's 95% lower end, the pilot SD and its upper end."""
    first = table.iloc[0]
    sds = {role: float(table.loc[table["sd_role"] == role, "sd"].iloc[0]) for role in ("low", "pilot", "high")}
    rows = []
    for d, at in table.groupby("true_difference", sort=True):
        power = {r.sd_role: r.power for r in at.itertuples(index=False)}
        rows.append(f"true difference {points(d, 3)} points: " + ", ".join(
            f"{100 * power[role]:.0f}%" for role in ("low", "pilot", "high")))
    return (f"the TOST's power for this study's {int(first['n'])} pairs within ±{points(first['margin'])} points at "
            f"α = {first['alpha']:.3g}, by true difference (0 to the margin) and paired SD (the pilot's "
            f"{points(sds['pilot'], 3)} points and its 95% interval, {points(sds['low'], 3)} to "
            f"{points(sds['high'], 3)} points: power at the low end, the pilot SD, the high end): " + "; ".join(rows)
            + "; the planned 80% holds only if the two kinds are about equally accurate and the SD is no larger than "
              "the pilot's")


def machine_fact(records: Iterable[Mapping[str, Any]]) -> str:
    """Where the training runs ran, as the README's results block names it: each CPU model with the instruction
    set of torch's CPU kernels (config cpu_kernels), and each GPU, from the runs' own hardware records (not the
    machine that aggregates them); per experiment (in the registry's order, named by its label) where they differ."""
    where: dict[str, set[str]] = {}
    for record in records:
        hardware = record["hardware"]
        machine = f"{hardware['cpu']} (torch CPU kernels: {hardware['cpu_capability']})"
        if hardware.get("gpu_model"):
            machine += f", GPU: {hardware['gpu_model']}"
        where.setdefault(record["experiment"], set()).add(machine)
    machines = {" and ".join(sorted(m)) for m in where.values()}
    if len(machines) == 1:
        return f"every run trained on {machines.pop()}"
    return "; ".join(f"{EXPERIMENTS[experiment]} trained on {' and '.join(sorted(m))}"
                     for experiment, m in sorted(where.items(), key=lambda e: list(EXPERIMENTS).index(e[0])))


def metric_values(facts: Mapping[str, str], key: str, experiment: str) -> list[str]:
    """The variant ``key``'s value of each metric its ``experiment`` records, labelled, as a list of them reads:
    ``test accuracy 99.00%``, ``top-2 accuracy 99.60%``, ``ECE 2.00% (95% CI over seeds ...; over test images
    ...)`` (the registry's metrics: mnistrepro.study.choices.METRICS)."""
    values = []
    for metric in experiment_metrics(experiment):
        if not metric.fact:  # test accuracy: the summary's own mean
            values.append(f"{metric.label} {facts[f'{key}_mean']}")
            continue
        intervals = ([f"95% CI over seeds {facts[f'{key}_{metric.fact}_ci']}"] if metric.seed_interval else []) + [
            f"over test images {facts[f'{key}_{fact}']}" for _, fact in metric.test_set_facts[:1]]
        values.append(f"{metric.label} {facts[f'{key}_{metric.fact}']}"
                      + (f" ({'; '.join(intervals)})" if intervals else ""))
    return values


def variant_facts(facts: Mapping[str, str], runs: pd.DataFrame, comparisons: pd.DataFrame) -> dict[str, str]:
    """The captions' lists, one entry per variant the study ran (in the registry's order, named by its label), so
    that no caption names a variant: LeNet-5's accuracy, parameters, time and calibration per C3 kind, logistic
    regression's accuracy and time per loss and scaling at the last step count, and each C3 comparison's claim and
    calibration verdict (the C3 difference rows of ``comparisons``)."""
    lenet = runs[runs["experiment"] == "lenet"]
    logreg = runs[runs["experiment"] == "logreg"]
    kinds = in_registry_order("c3", lenet["c3"])
    logreg_variants = [(loss, scaling) for loss in in_registry_order("loss", logreg["loss"])
                       for scaling in in_registry_order("scaling", logreg["scaling"])]
    label = {c3: variant_label("c3", c3) for c3 in kinds}
    out = {}
    if kinds:
        out["lenet_variants_accuracy"] = "; ".join(
            f"{label[c]} ({facts[f'lenet_{c}_params']} parameters): {facts[f'lenet_{c}_mean']} (95% CI "
            f"{facts[f'lenet_{c}_ci']})" for c in kinds)
        out["lenet_variants_params"] = "; ".join(f"{label[c]} {facts[f'lenet_{c}_params']}" for c in kinds)
        out["lenet_variants_seconds"] = "; ".join(f"{label[c]} {facts[f'lenet_{c}_seconds']} per run" for c in kinds)
        out["lenet_variants_calibration"] = "; ".join(
            f"{label[c]}: {', '.join(metric_values(facts, f'lenet_{c}', 'lenet'))}" for c in kinds)
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
    c3_differences = pd.Series([(rule := comparison_rule(key, metric)).name == "c3" and rule.kind == "difference"
                                for key, metric in zip(comparisons["key"], comparisons["metric"])],
                               index=comparisons.index, dtype=bool)
    rows = comparisons[c3_differences]
    claims = [f"{r.a} vs {r.b}: {facts[f'{r.key}_claim']}" for r in rows.itertuples(index=False)
              if r.metric == "test_accuracy"]
    ece = [f"{r.a} vs {r.b}: {facts[f'{r.key}_verdict']}" for r in rows.itertuples(index=False) if r.metric == "ece"]
    if claims:
        out["c3_claims"], out["c3_ece_verdicts"] = "; ".join(claims), "; ".join(ece)
    return out


def study_facts(runs: pd.DataFrame, summary: pd.DataFrame, comparisons: pd.DataFrame,
                logreg: Mapping[str, pd.DataFrame], identities: pd.DataFrame, test_set_facts: Mapping[str, str],
                main_pair: str, sample_size: SampleSize | None, paired_sd_notes: Mapping[str, str] | None = None,
                scale_grid: pd.DataFrame | None = None, seeds_images: SeedsAndImages | None = None,
                power_table: pd.DataFrame | None = None) -> dict[str, str]:
    """Every fact of the study (``facts.json``'s flat mapping), from its tables; fractions, not percentage points.
    ``sample_size``: the C3 claim's plan and achieved power (mnistrepro.analysis.planning.sample_size);
    ``scale_grid``: the exploratory scale grid's table (mnistrepro.analysis.scale_grid), None where the config does not
    run it; ``seeds_images``: the C3 claim's difference with the test images' uncertainty added
    (mnistrepro.analysis.stats.seeds_and_images); ``power_table``: the TOST's power over true differences and SDs
    (mnistrepro.analysis.stats.equivalence_power_table)."""
    facts = {
        **headline_facts(summary, comparisons, logreg["pairs"], logreg["escape"], identities,
                         logreg["escape_sensitivity"], main_pair),
        **lenet_facts(runs, comparisons, sample_size, seeds_images=seeds_images, power_table=power_table),
        **test_set_facts,
        # Measured elsewhere and passed in through the config (stats.paired_sd_notes): quoted as given.
        **{f"lenet_paired_sd_{k}": v for k, v in (paired_sd_notes or {}).items()},
        **({} if scale_grid is None else scale_grid_facts(scale_grid)),
    }
    return {**facts, **variant_facts(facts, runs, comparisons)}
