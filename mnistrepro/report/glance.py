"""The study at a glance: one row per claim of the seed (its words, its evidence, the verdict here and the one
number that carries it, with its figure), and the figures that show the three answers. The README opens with it
(:func:`glance_markdown`) and so does the report's home page (workflow.rst reads :func:`glance_rows`).

The verdict and the number are facts (``glance_<claim>_verdict``, ``glance_<claim>_number``), made by
:func:`glance_facts` when the study aggregates, from the comparisons table's confirmatory rows and the digit-pair
table (the verdicts worded by mnistrepro.report.verdicts), so that the README's table is checked against the facts
snapshot like every other number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from mnistrepro.analysis.comparisons import comparison_rule
from mnistrepro.report.numbers import epochs_label, format_p, pair_label, percent, signed_points, steps_label
from mnistrepro.report.verdicts import glance_c3_verdict, glance_hardest_verdict, glance_loss_verdict
from mnistrepro.study.choices import COMPARISONS, claim_pair, variant_label

__all__ = ["GLANCE_FIGURES", "SEED_CLAIMS", "SeedClaim", "glance_facts", "glance_markdown", "glance_rows"]


@dataclass(frozen=True)
class SeedClaim:
    """A claim of the seed: the comparison rule that decides it (mnistrepro.study.choices.COMPARISONS' ``name``), the
    seed's words and evidence (SPEC.md), and the study's figure that shows the answer (a FIGURES name)."""

    rule: str
    words: str
    evidence: str
    figure: str


SEED_CLAIMS: tuple[SeedClaim, ...] = (
    SeedClaim("loss", "Minimising the KL divergence (the logistic loss) beats minimising MSE",
              "one run each, raw pixels: MSE 78.05% after 10,000 steps, logistic loss 91.21% after 1,000",
              "comparisons_forest"),
    SeedClaim("hardest", "4 vs 9 is the hardest pair of digits to separate", "a statement; no other pair was run",
              "pair_ranks"),
    SeedClaim("c3", "The full C3 has more parameters but lower accuracy than LeNet-5's sparse C3",
              "one run each: sparse 98.63%, full 98.58% (5 of 10,000 test images apart)", "comparisons_forest"),
)

# The figures under the table, in order, with the words a reader needs to read them: they show the three answers.
GLANCE_FIGURES: tuple[tuple[str, str], ...] = (
    ("comparisons_forest", "Every comparison with its 95% interval: the loss and C3 claims' tests, by family"),
    ("scale_grid", "Exploratory: where MSE stops escaping chance as the pixels are scaled down"),
    ("pair_ranks", "The hardest digit pairs for logistic regression, with their rank intervals"),
)


def _rule(name: str, kind: str | None = None):
    return next(r for r in COMPARISONS if r.name == name and r.family and (kind is None or r.kind == kind))


def _rows(comparisons: pd.DataFrame, name: str, family: str) -> pd.DataFrame:
    """The rows of ``family`` that rule ``name`` made (told by their key, mnistrepro.analysis.comparisons.comparison_rule)."""
    made_by = pd.Series([comparison_rule(key, metric).name for key, metric in
                         zip(comparisons["key"].astype(str), comparisons["metric"])], index=comparisons.index)
    return comparisons[(comparisons["family"] == family) & (made_by == name)]


def _points_ci(row) -> str:
    return (f"{signed_points(row['difference'])} points (95% CI {signed_points(row['ci95_low'])} to "
            f"{signed_points(row['ci95_high'])})")


def _holm(row) -> str:
    return "Holm " + format_p(float(row["p_holm"]), bool(row.get("p_holm_bound", False)))


def _loss_facts(comparisons: pd.DataFrame) -> dict[str, str]:
    rule = _rule("loss")
    rows = _rows(comparisons, rule.name, rule.family)
    primary = rows[rows["role"] == "primary"]
    if primary.empty:
        return {}
    p = primary.iloc[0]
    verdict = glance_loss_verdict(p, rows[(rows["role"] == "secondary") & (rows["scaling"] != p["scaling"])])
    number = (f"{p['a']} - {p['b']}, {steps_label(int(p['steps']))}: {_points_ci(p)}, n = {int(p['n_a'])} "
              f"paired seeds, {_holm(p)}")
    return {"glance_loss_verdict": verdict, "glance_loss_number": number}


def _hardest_facts(comparisons: pd.DataFrame, pairs: pd.DataFrame | None, main_pair: str) -> dict[str, str]:
    rule = _rule("hardest")
    rows = comparisons[(comparisons["family"] == rule.family) & (comparisons["role"] == "primary")]
    if rows.empty or pairs is None or pairs.empty:
        return {}
    row = rows.iloc[0]
    steps = int(row["steps"])
    at = pairs[pairs["steps"] == steps].sort_values("rank")
    main = at[at["pair"] == main_pair].iloc[0]
    # The pair the main pair is held against: the hardest by mean, or where that is the main pair itself, the
    # closest other.
    against = at[at["pair"] != main_pair].iloc[0]
    hardest = pair_label(against["pair"])
    label = pair_label(main_pair)
    in_set = main["in_hardest_set"]
    verdict = glance_hardest_verdict(label, hardest, bool(row["significant"]),
                                     None if in_set is None or pd.isna(in_set) else bool(in_set),
                                     lowest_mean=at.iloc[0]["pair"] == main_pair)
    if math.isnan(float(main["rank_low"])):
        rank = f"{label} ranks {int(main['rank'])} of {len(at)}"
    else:
        rank = (f"{label} ranks {int(main['rank'])} of {len(at)} (95% interval {int(main['rank_low'])} to "
                f"{int(main['rank_high'])})")
    number = (f"after {steps_label(steps)}, {rank}, {percent(main['mean'])} vs {hardest}'s "
              f"{percent(against['mean'])}; n = {int(main['n'])} seeds per pair, {_holm(row)}")
    return {"glance_hardest_verdict": verdict, "glance_hardest_number": number}


def _c3_facts(comparisons: pd.DataFrame, margin: float) -> dict[str, str]:
    equivalence, difference = _rule("c3", "equivalence"), _rule("c3", "difference")
    rows = _rows(comparisons, "c3", equivalence.family)
    tost = rows[rows["role"] == "primary"]
    diff = rows[rows["role"] == "secondary"]
    if tost.empty or diff.empty:
        return {}
    t, d = tost.iloc[0], diff.iloc[0]
    a, b = claim_pair(difference.name)
    verdict = glance_c3_verdict(variant_label("c3", a), variant_label("c3", b), t, d, margin)
    number = (f"{d['a']} - {d['b']}, {epochs_label(int(d['epochs']))}: {_points_ci(d)}, n = {int(d['n_a'])} "
              f"paired seeds; equivalence (TOST) {_holm(t)}")
    return {"glance_c3_verdict": verdict, "glance_c3_number": number}


def glance_facts(comparisons: pd.DataFrame, pairs: pd.DataFrame | None, main_pair: str, margin: float
                 ) -> dict[str, str]:
    """Each seed claim's verdict and number (``glance_<claim>_verdict`` / ``_number``), from ``comparisons``
    (:func:`mnistrepro.outputs.aggregate.comparisons_table`), ``pairs``
    (:func:`mnistrepro.outputs.aggregate.pair_difficulty`), the config's ``main_pair`` (``"4_9"``) and the equivalence
    ``margin`` (a fraction). A claim the study did not test gets no facts (mnistrepro.analysis.facts reads them as not
    run)."""
    return {**_loss_facts(comparisons), **_hardest_facts(comparisons, pairs, main_pair),
            **_c3_facts(comparisons, margin)}


def glance_rows(facts: Mapping[str, str]) -> list[dict[str, str]]:
    """One row per seed claim: ``claim``, ``evidence``, ``verdict``, ``number``, ``figure`` (a FIGURES name)."""
    return [{"claim": c.words, "evidence": c.evidence, "verdict": facts[f"glance_{c.rule}_verdict"],
             "number": facts[f"glance_{c.rule}_number"], "figure": c.figure} for c in SEED_CLAIMS]


def glance_markdown(facts: Mapping[str, str], figure_dir: str) -> str:
    """The README's first results: the claims table, then :data:`GLANCE_FIGURES` (PNG files in ``figure_dir``,
    a path relative to the README)."""
    lines = ["| the seed's claim | the seed's evidence | verdict here | the number that carries it | figure |",
             "| --- | --- | --- | --- | --- |"]
    for row in glance_rows(facts):
        lines.append(f"| {row['claim']} | {row['evidence']} | **{row['verdict']}** | {row['number']} | "
                     f"[{row['figure']}]({figure_dir}/{row['figure']}.png) |")
    for name, words in GLANCE_FIGURES:
        lines += ["", f"**{words}**", "", f"![{words}]({figure_dir}/{name}.png)"]
    return "\n".join(lines)
