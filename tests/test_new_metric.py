"""A new metric is data: a LeNet-5 metric registered inside this test, and carried by the evaluation records, is
found in the runs table, the summary table, the facts, the results page and a rendered caption, with no other edit
to the package.

A real new LeNet-5 metric touches the evaluation that computes it (mnistrepro.experiments.lenet_eval.evaluate, which
puts it in the record under its name), its entry in mnistrepro.study.choices.METRICS, and at most the caption that
explains it (workflow/report/lenet_calibration.rst lists every LeNet-5 metric per C3 kind without an edit). The
evaluation record's schema (mnistrepro.study.records.LenetEvaluationRecord) is made from the registry.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnistrepro.analysis.planning import sample_size
from mnistrepro.analysis.stats import ECE_BINS, expected_calibration_error, lenet_test_set
from mnistrepro.outputs.aggregate import (ID_COLUMNS, RECORD_FIELDS, TRAINING_COLUMNS, comparisons_table,
                                          logreg_tables, run_columns, runs_table, summary_table)
from mnistrepro.report.findings import results_page
from mnistrepro.report.lenet_test_set import lenet_test_set_facts
from mnistrepro.report.study import study_facts
from mnistrepro.study import choices
from mnistrepro.study.records import (LenetEvaluationFields, LenetEvaluationRecord, LogregEval, LogregEvalFields,
                                      LogregRunFields, LogregRunRecord)
from conftest import registered_metrics
from test_pipeline import REPO, AnyFacts, render_caption, report_config

METRIC = choices.Metric("throwaway_top5_accuracy", label="top-5 accuracy", short="top-5",
                        better="is more often right in its top five than", higher_is_better=True,
                        experiments=("lenet",), fact="throwaway_top5", seed_interval=True)
SEEDS = range(3)
IMAGES = 400


@pytest.fixture
def new_metric(monkeypatch):
    """The throwaway metric, in the registry for this test only (last, after ECE)."""
    monkeypatch.setitem(choices.METRICS, METRIC.name, METRIC)


def lenet_records() -> list[tuple[dict, dict]]:
    """(training record, evaluation record) of each LeNet-5 run of two C3 kinds, three seeds, on 400 made-up test
    images: the fields the aggregation reads, the evaluation's computed from its images as lenet_eval's are, and
    the throwaway metric among them, as a real evaluation would record it."""
    gen = np.random.default_rng(0)
    records = []
    for c3, error in (("sparse", 0.05), ("full", 0.04)):
        for seed in SEEDS:
            correct = gen.random(IMAGES) > error
            confidence = np.clip(np.where(correct, 0.97, 0.7) + 0.02 * gen.standard_normal(IMAGES), 0.11, 1.0)
            run = {"c3": c3, "seed": seed, "epochs": 1}
            training = {**run, "trainable_params": choices.C3_VARIANTS[c3].params + 51_690, "train_seconds": 10.0,
                        "device": "cpu"}
            accuracy = float(correct.mean())
            metrics = {"test_accuracy": accuracy, "top2_accuracy": accuracy + 0.02,
                       "ece": expected_calibration_error(confidence, correct),
                       METRIC.name: 0.99 + 0.001 * seed + (c3 == "full") * 0.005}
            evaluation = {**run, "experiment": "lenet", "test_loss": 0.1, "correct": int(correct.sum()),
                          "total": IMAGES, **registered_metrics("lenet", **metrics), "confidence": confidence.tolist(),
                          "misclassified_test_indices": np.flatnonzero(~correct).tolist()}
            records.append((training, evaluation))
    return records


CONFIG = {"lenet": {"c3": ["sparse", "full"], "seeds": list(SEEDS), "epochs": 1}}


@pytest.mark.usefixtures("new_metric")
def test_a_registered_metric_reaches_runs_summary_facts_results_page_and_caption():
    records = lenet_records()
    runs = runs_table(lenet=records)
    # The runs table: a column of the metric's name, each run's value copied from its evaluation record.
    assert METRIC.name in run_columns() and list(runs.columns) == run_columns()
    sparse1 = runs[(runs["c3"] == "sparse") & (runs["seed"] == 1)].iloc[0]
    assert sparse1[METRIC.name] == pytest.approx(0.991)
    # The summary: its mean per variant and, as it declares one, its interval over seeds (three: Student t).
    summary = summary_table(runs, np.random.default_rng(0), resamples=199).set_index("c3")
    assert summary.loc["full", f"mean_{METRIC.name}"] == pytest.approx(0.996)
    low, high = summary.loc["full", [f"{METRIC.name}_ci95_low", f"{METRIC.name}_ci95_high"]]
    assert low < 0.996 < high and summary.loc["full", f"{METRIC.name}_ci_method"].startswith("Student t")
    # The facts, as the aggregation makes them: its mean and interval per variant, and the calibration list.
    comparisons = comparisons_table(runs, [], resamples=199, equivalence_margin=0.001)
    evaluations = [e for _, e in records]
    test_set = lenet_test_set_facts(lenet_test_set(evaluations, choices.claim_pair("c3"), np.random.default_rng(1),
                                                   resamples=99))
    facts = study_facts(runs, summary.reset_index(), comparisons, logreg_tables(runs, 0.5, 0, 199),
                        pd.DataFrame(), test_set, "4-9",
                        sample_size(runs, comparisons, 0.002, planning_sd=None, equivalence_margin=0.001))
    assert facts["lenet_full_throwaway_top5"] == "99.60%"
    assert facts["lenet_full_throwaway_top5_ci"].endswith("; Student t, n = 3")
    # The calibration list: after the metrics registered before it (test accuracy first), in each C3 kind's entry.
    full = facts["lenet_variants_calibration"].split("; full C3: ")[1]
    assert facts["lenet_variants_calibration"].startswith(f"sparse C3: test accuracy {facts['lenet_sparse_mean']}, ")
    assert full.startswith(f"test accuracy {facts['lenet_full_mean']}, ")
    assert full.endswith(f", top-5 accuracy 99.60% (95% CI over seeds {facts['lenet_full_throwaway_top5_ci']})")
    # The results page's LeNet-5 table: a column headed by its short name.
    page = results_page(report_config(CONFIG), AnyFacts(facts))
    head = next(line for line in page.splitlines() if line.startswith("| C3 |"))
    row = next(line for line in page.splitlines() if line.startswith("| full C3 |"))
    assert head.endswith("| top-5 |")
    assert row.endswith(f"| 99.60% ({facts['lenet_full_throwaway_top5_ci']}) |")
    # A caption: the calibration figure's lists it per C3 kind.
    html = render_caption("lenet_calibration.rst", CONFIG, AnyFacts(facts))
    assert f"top-5 accuracy 99.60% (95% CI over seeds {facts['lenet_full_throwaway_top5_ci']})" in html


@pytest.mark.usefixtures("new_metric")
def test_a_record_without_a_registered_metric_is_refused_naming_it():
    training, evaluation = lenet_records()[0]
    del evaluation[METRIC.name]
    with pytest.raises(KeyError, match=METRIC.name):
        runs_table(lenet=[(training, evaluation)])


def test_the_runs_columns_and_the_evaluation_schema_are_the_registrys():
    """The runs table's metric columns are the registry's, in its order, and nothing else names a metric; the
    LeNet-5 evaluation record's and the logistic-regression records' metric fields are the registry's metrics of
    that experiment."""
    assert run_columns() == [*ID_COLUMNS, *choices.METRICS, *RECORD_FIELDS, *TRAINING_COLUMNS]
    assert not set(RECORD_FIELDS) & set(choices.METRICS)
    lenet = {m.name for m in choices.experiment_metrics("lenet")}
    assert set(LenetEvaluationRecord.__required_keys__) - set(LenetEvaluationFields.__annotations__) == lenet
    assert not lenet & set(LenetEvaluationFields.__annotations__)
    assert typing.get_type_hints(LenetEvaluationRecord)["ece"] is float
    # Logistic regression's records and the metrics each evaluation writes: the registry's logistic-regression metrics.
    from mnistrepro.experiments.logreg import TEST_METRICS

    logreg = [m.name for m in choices.experiment_metrics("logreg")]
    assert list(TEST_METRICS[:len(logreg)]) == logreg and not set(TEST_METRICS[len(logreg):]) & set(choices.METRICS)
    for record, fields in ((LogregEval, LogregEvalFields), (LogregRunRecord, LogregRunFields)):
        assert set(record.__required_keys__) - set(fields.__annotations__) == set(logreg), record
    # Each metric's words and experiments; its facts over test images name the binning the study uses.
    for metric in choices.METRICS.values():
        assert metric.label and metric.short and metric.better and metric.experiments
    assert all(f"{ECE_BINS} " in what for what, _ in choices.METRICS["ece"].test_set_facts)
    with pytest.raises(ValueError, match="experiments"):
        choices.Metric("m", label="m", short="m", better="b", higher_is_better=True, experiments=("logistic",))


def metric_lists(path: Path) -> list[str]:
    """Where ``path`` writes a list of metric names by hand: a list, tuple or set literal, or a dict literal's keys,
    holding two or more registry metrics' names or their summary columns (``mean_ece``)."""
    names = {m.name for m in choices.METRICS.values()}
    names |= {f"mean_{name}" for name in names}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        items = node.keys if isinstance(node, ast.Dict) else node.elts if isinstance(node, (ast.List, ast.Tuple,
                                                                                              ast.Set)) else []
        named = [i.value for i in items if isinstance(i, ast.Constant) and i.value in names]
        if len(named) > 1:
            found.append(f"{path.name}:{node.lineno}: {named}")
    return found


def test_no_list_of_metric_names_is_written_by_hand(tmp_path):
    """Outside the registry and the evaluations that compute and record the metrics (mnistrepro.experiments), no
    module of the package or script lists metric names: the tables, facts and report read the registry."""
    modules = [p for p in [*(REPO / "mnistrepro").rglob("*.py"), *(REPO / "scripts").glob("*.py")]
               if p.parent.name != "experiments" and p.name != "choices.py"]
    assert len(modules) > 40
    assert [hit for p in modules for hit in metric_lists(p)] == []
    # The check finds such lists: the runs columns, the summary's means and a row as they were once written.
    example = tmp_path / "aggregate.py"
    example.write_text('RUN_COLUMNS = ["seed", "test_accuracy", "test_loss", "top2_accuracy", "ece"]\n'
                       'means = runs.groupby(VARIANT_COLUMNS)[["top2_accuracy", "ece"]].mean()\n'
                       'row = {"c3": c3, "top2_accuracy": e["top2_accuracy"], "ece": e["ece"]}\n')
    assert sorted(hit.split(":")[1] for hit in metric_lists(example)) == ["1", "2", "3"]
