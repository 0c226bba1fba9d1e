"""The whole workflow end to end on the CI-sized config (.test/config.yaml): every rule runs, the
tables have their columns, the report builds and renders in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, job_counts, run_snakemake
from mnistrepro.aggregate import RUN_COLUMNS

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def study(mnist_idx_dir, tmp_path_factory) -> Path:
    """A working directory where the CI-sized study has run to completion."""
    workdir = tmp_path_factory.mktemp("study")
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    config["data"]["local_dir"] = str(mnist_idx_dir)
    config_path = workdir / "test-config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, "--cores", "2", config=config_path)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_data_log_names_the_source(study):
    log = (study / "results/logs/data/download_mnist.log").read_text()
    assert "MNIST served by source: local" in log
    assert "train 11791 (5842 + 5949), test 1991 (982 + 1009)" in (study / "results/logs/data/extract_pair_4_9.log").read_text()


def test_tables_have_the_documented_columns(study):
    tables = study / "results/tables"
    runs = pd.read_csv(tables / "runs.csv")
    assert list(runs.columns) == RUN_COLUMNS
    # 2 losses x 2 scalings x 3 seeds x 2 step counts + 3 pairs x 2 seeds + 2 C3 x 2 seeds
    assert len(runs) == 24 + 6 + 4
    assert set(runs["experiment"]) == {"logreg", "pair_sweep", "lenet"}
    assert runs["test_accuracy"].between(0, 1).all()
    summary = pd.read_csv(tables / "summary.csv")
    for column in ["n", "mean", "std", "ci95_low", "ci95_high", "mean_train_seconds", "trainable_params"]:
        assert column in summary.columns
    # No accuracy interval leaves [0, 1].
    assert summary[["ci95_low", "ci95_high"]].stack().between(0, 1).all()
    escape = pd.read_csv(tables / "escape.csv")
    assert len(escape) == 2 * 2 * 2 and (escape["n"] == 3).all()
    assert escape[["escape_rate", "escape_ci95_low", "escape_ci95_high"]].stack().between(0, 1).all()
    assert escape["threshold"].nunique() == 1 and (escape["threshold"] > escape["chance"]).all()
    comparisons = pd.read_csv(tables / "comparisons.csv")
    assert {"difference", "ci95_low", "ci95_high", "p_value", "p_holm", "test", "mdd", "verdict"} <= set(comparisons.columns)
    assert (comparisons["p_holm"] >= comparisons["p_value"]).all()
    assert comparisons["test"].str.startswith("paired permutation test").all()
    assert set(comparisons["comparison"]) == {"C3 connection table", "loss", "input scaling"}
    params = pd.read_csv(tables / "params.csv")
    totals = params[params["layer"] == "total"].set_index("c3")
    assert totals.loc["sparse", "measured"] == 60806 and totals.loc["full", "analytic"] == 61706
    identities = pd.read_csv(tables / "identities.csv")
    assert identities["as_expected"].all()
    environment = pd.read_csv(tables / "environment.csv").set_index("item")["value"]
    assert environment["config device"] == "cpu" and environment["torch"].startswith("2.")
    assert "training device" not in environment.index  # the submitting host does not resolve it
    hardware = pd.read_csv(tables / "hardware.csv", dtype=str)
    assert set(hardware["experiment"]) == {"logreg", "sweep", "lenet"}
    assert (hardware["host"] == socket.gethostname()).all() and (hardware["device"] == "cpu").all(), hardware
    assert hardware.set_index("experiment")["runs"].astype(int).to_dict() == {"logreg": 12, "sweep": 6, "lenet": 4}
    benchmarks = pd.read_csv(tables / "rule_benchmarks.csv")
    assert {"lenet", "logreg", "data"} <= set(benchmarks["rule_group"]) and (benchmarks["seconds"] > 0).all()


def test_every_run_record_is_complete(study):
    lenet = study / "results/lenet"
    records = list((study / "results/logreg").rglob("seed*.json")) + list(lenet.rglob("training.json"))
    records += list(lenet.rglob("evaluation.json"))
    assert len(records) == 12 + 6 + 4 + 4
    for path in records:
        record = json.loads(path.read_text())
        assert record["device"] == "cpu"
    assert not (study / "results/checkpoints/lenet").exists() or not any((study / "results/checkpoints/lenet").iterdir())


def test_evaluation_step_reproduces_the_training_time_evaluation(study):
    """The evaluate_lenet rule, reading model.pt, gives exactly the test numbers that training's last epoch gave."""
    runs = pd.read_csv(study / "results/tables/runs.csv")
    lenet = runs[runs["experiment"] == "lenet"]
    assert len(lenet) == 4 and lenet["ece"].between(0, 1).all()
    assert (lenet["top2_accuracy"] >= lenet["test_accuracy"]).all()
    for row in lenet.itertuples():
        last = pd.read_csv(study / f"results/lenet/{row.c3}/seed{row.seed}/history.csv").iloc[-1]
        evaluation = json.loads((study / f"results/lenet/{row.c3}/seed{row.seed}/evaluation.json").read_text())
        assert evaluation["test_accuracy"] == last["test_accuracy"] == row.test_accuracy
        assert evaluation["test_loss"] == last["test_loss"] == row.test_loss
        assert evaluation["test_images"] == 1000 and evaluation["ece_bins"] == 15


def test_forcerun_evaluation_runs_no_training(study):
    """New metrics without retraining: forcing the evaluation reruns it and what reads it, no training job."""
    result = run_snakemake(study, "-n", "--quiet", "rules", "--forcerun", "evaluate_lenet",
                           config=study / "test-config.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["evaluate_lenet"] == 2  # sparse, full: each evaluates both seeds
    assert not {"train_lenet", "train_logreg", "train_logreg_sweep", "download_mnist", "idx_to_tensors"} & set(counts)
    assert {"aggregate", "figure_lenet_calibration", "figure_lenet_confusion"} <= set(counts)


def test_rerun_has_nothing_to_do(study):
    result = run_snakemake(study, "-n", config=study / "test-config.yaml")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def report(study) -> Path:
    result = run_snakemake(study, "--report", "results/report.html", config=study / "test-config.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    return study / "results/report.html"


def test_report_contains_every_table_and_figure(report):
    html = report.read_text()
    for name in ["runs.csv", "summary.csv", "comparisons.csv", "params.csv", "environment.csv", "hardware.csv",
                 "identities.csv", "rule_benchmarks.csv", "escape.csv", "logreg_accuracy_vs_steps.png",
                 "logreg_accuracy_distribution.png", "lenet_accuracy_vs_params.png", "lenet_accuracy_per_epoch.png",
                 "lenet_confusion.png", "lenet_calibration.png", "lenet_misclassified.png",
                 "pair_difficulty.png", "train_time.png", "rule_resources.png", "identities_mnist.png",
                 "identities_rgb.png"]:
        assert name in html, name
    for category in ["Data", "Logistic regression", "LeNet-5", "Convolution identities", "Environment"]:
        assert category in html, category
    # Captions quote the measured numbers (from facts.json), not placeholders.
    facts = json.loads((report.parent / "tables/facts.json").read_text())
    assert facts["lenet_sparse_mean"] in html and facts["hardest_pair"] in html
    assert facts["lenet_sparse_ece"] in html and facts["lenet_full_top2"] in html and facts["lenet_ece_verdict"] in html
    assert "not run in this configuration" not in html


# Clicks through the report's React menu (Results -> a category) once the page has loaded, so that
# the category's result entries are rendered into the DOM.
CLICK_SCRIPT = """<script>
window.addEventListener("load", function () {
  function clickText(text) {
    var nodes = Array.from(document.querySelectorAll("#app *")).filter(function (n) {
      return n.children.length === 0 && n.textContent.trim() === text; });
    if (nodes.length) { nodes[0].click(); }
  }
  setTimeout(function () { clickText("Results"); }, 500);
  setTimeout(function () { clickText("%s"); }, 1500);
});
</script>"""

CATEGORY_ENTRIES = {
    "Data": ["MNIST source, checksums, counts", "one row per run", "mean, std, 95% CI per variant", "differences, CIs, p-values, verdicts"],
    "Logistic regression": ["accuracy vs steps", "final accuracy of every run", "escape rates from chance",
                            "digit-pair sweep", "45-pair difficulty heatmap"],
    "LeNet-5": ["accuracy vs trainable parameters", "test accuracy per epoch", "confusion matrices",
                "calibration next to accuracy",
                "misclassified test digits", "trainable parameters per layer"],
    "Convolution identities": ["all five identities", "finite differences, average pooling", "RGB to grayscale"],
    "Environment": ["software of the submitting host", "where each training run ran", "time and peak memory per job",
                    "training time per variant"],
}


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium must be installed (.ci/run installs it)"
    flags = CHROMIUM_FLAGS + [f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120)


def app_text(dom: str) -> str:
    """The visible text of the report's React app, one '|' between elements."""
    app = dom[dom.index('<div id="app"'):]
    app = app[:app.index("<script")] if "<script" in app else app
    return re.sub(r"\s*\|[\s|]*", "|", re.sub(r"<[^>]+>", "|", app))


@pytest.mark.skipif(shutil.which("chromium") is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (CI installs it)")
@pytest.mark.parametrize("category", CATEGORY_ENTRIES)
def test_report_renders_each_category_in_chromium(report, category, tmp_path):
    html = report.read_text()
    end = html.rindex("</body>")
    page = tmp_path / "report.html"
    page.write_text(html[:end] + CLICK_SCRIPT % category + html[end:])
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = app_text(dom.stdout)
    assert f"|Results|{category}|" in text, text[:500]
    for entry in CATEGORY_ENTRIES[category]:
        assert f"|{entry}|" in text, (entry, text[:2000])


@pytest.mark.skipif(shutil.which("chromium") is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (CI installs it)")
def test_report_screenshot_is_not_blank(report, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium("--window-size=1400,1000", f"--screenshot={shot}", report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    from PIL import Image

    image = Image.open(shot).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, "the screenshot is blank"
    assert len(image.getcolors(maxcolors=256)) > 20, "the screenshot has almost no detail"


@pytest.mark.parametrize("facts", [{}, {"lenet_sparse_mean": "98.60%", "lenet_sparse_ece": "0.30%"}])
def test_calibration_caption_never_renders_empty(facts):
    """A fact this configuration did not produce (no facts yet, or one C3 variant only) is named as such."""
    from types import SimpleNamespace

    from docutils.core import publish_parts
    from jinja2 import Environment

    # As Snakemake renders a caption (snakemake.report): Jinja, then reStructuredText to HTML.
    source = (REPO / "workflow/report/lenet_calibration.rst").read_text()
    snakemake = SimpleNamespace(params=SimpleNamespace(facts=facts), config={})
    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(source).render(snakemake=snakemake)
    html = publish_parts(text, writer="html")["body"]
    slots = ["lenet_sparse_mean", "lenet_sparse_top2", "lenet_sparse_ece", "lenet_sparse_ece_ci", "lenet_full_mean",
             "lenet_full_top2", "lenet_full_ece", "lenet_full_ece_ci", "lenet_verdict", "lenet_ece_verdict"]
    assert html.count("not run in this configuration") == sum(slot not in facts for slot in slots)
    for value in facts.values():
        assert value in html
