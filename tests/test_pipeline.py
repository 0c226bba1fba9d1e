"""The whole workflow end to end on the CI-sized config (.test/config.yaml): every rule runs, the
tables have their columns, the report builds and renders in headless Chromium."""

from __future__ import annotations

import copy
import hashlib
import html as html_lib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config

from conftest import REPO, job_counts, lenet_run, run_snakemake, study_root
from mnistrepro.analysis.facts import NOT_RUN, Facts, MissingFactError, left_out_parts, read_facts, study_config
from mnistrepro.outputs.aggregate import run_columns
from mnistrepro.report.captions import caption_labels
from mnistrepro.report.not_run import not_run_parts
from mnistrepro.report.findings import findings
from mnistrepro.report.glance import GLANCE_FIGURES, SEED_CLAIMS, glance_rows
from mnistrepro.study.choices import EXPERIMENTS
from mnistrepro.study.config import seed_list
from mnistrepro.study.cpu_kernels import AVX2_CPU_EMULATION, avx2_cpu_environment
from mnistrepro.study.io import file_sha256

# Whole workflow runs (or a cluster, a browser): the slow tier.
pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]


# A configuration unlike the default and the CI one in everything a caption quotes: another main pair,
# step and evaluation counts, seeds, a sweep subset without the default pair, one scaling only (so the
# unit-pixel facts do not exist), one LeNet-5 epoch on other limits, other pooling sizes, a 3-divisor scale grid.
# Small: it runs in CI on 2 cores.
OTHER_CONFIG = {
    "pair": [3, 5],
    "logreg": {"scalings": ["raw"], "seeds": 4, "steps": 500, "eval_steps": [50, 500]},
    "scale_grid": {"divisors": [1, 16, 255]},
    "pair_sweep": {"pairs": [[3, 5], [0, 1], [7, 9]], "seeds": 2, "steps": 150},
    "lenet": {"seeds": [0, 1], "epochs": 1, "train_limit": 1000, "test_limit": 200},
    "identities": {"n_images": 50, "pool_sizes": [2, 7]},
}


def ci_config(overrides: dict | None = None) -> dict:
    """.test/config.yaml, with ``overrides`` merged in key by key."""
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    update_config(config, copy.deepcopy(overrides or {}))
    return config


def run_study(workdir: Path, config: dict, mnist_idx_dir: Path) -> Path:
    """Run the whole workflow with ``config`` (reading MNIST from ``mnist_idx_dir``) in ``workdir``."""
    config["data"]["local_dir"] = str(mnist_idx_dir)
    config_path = workdir / "test-config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, "--cores", "2", config=config_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    (workdir / "console.txt").write_text(result.stderr)  # what the run printed, for the end-of-run summary
    return workdir


def run_counts(config: dict) -> dict[str, int]:
    """How many runs each experiment of ``config`` trains, and at how many step counts a logistic-regression
    run is evaluated: the numbers the tables and records must show, from the config rather than by hand."""
    logreg, sweep, lenet = config["logreg"], config["pair_sweep"], config["lenet"]
    return {
        "logreg": len(logreg["losses"]) * len(logreg["scalings"]) * len(seed_list(logreg["seeds"])),
        "pair_sweep": len(sweep["pairs"]) * len(seed_list(sweep["seeds"])) if sweep["enabled"] else 0,
        # The sweep's runs.csv rows: every seed at `steps`, the long seeds again at `long_steps`.
        "sweep_rows": (len(sweep["pairs"]) * (len(seed_list(sweep["seeds"])) + sweep.get("long_seeds", 0))
                       if sweep["enabled"] else 0),
        "lenet": len(lenet["c3"]) * len(seed_list(lenet["seeds"])),
        "scale_grid": (len(logreg["losses"]) * len(config["scale_grid"]["divisors"]) * len(seed_list(logreg["seeds"]))
                       if config["scale_grid"]["enabled"] else 0),
        "logreg_step_counts": len(set(logreg["eval_steps"]) | {logreg["steps"]}),
    }


@pytest.fixture(scope="module")
def study(mnist_idx_dir, tmp_path_factory) -> Path:
    """A working directory where the CI-sized study has run to completion."""
    return run_study(tmp_path_factory.mktemp("study"), ci_config(), mnist_idx_dir)


@pytest.fixture(scope="module")
def other_study(mnist_idx_dir, tmp_path_factory) -> Path:
    """A working directory where the study has run with OTHER_CONFIG."""
    return run_study(tmp_path_factory.mktemp("other_study"), ci_config(OTHER_CONFIG), mnist_idx_dir)


def test_data_log_names_the_source(study):
    log = (study / "results/logs/data/download_mnist.log").read_text()  # the shared data's logs
    assert "MNIST served by source: local" in log
    assert "train 11791 (5842 + 5949), test 1991 (982 + 1009)" in (study / "results/logs/data/extract_pair_4_9.log").read_text()


def test_tables_have_the_documented_columns(study):
    tables = study_root(study, ci_config()) / "tables"
    runs = pd.read_csv(tables / "runs.csv")
    assert list(runs.columns) == run_columns()
    config, n = ci_config(), run_counts(ci_config())
    # A logistic-regression run gives a row per evaluated step count; the sweep's, at one or two step counts.
    assert len(runs) == n["logreg"] * n["logreg_step_counts"] + n["sweep_rows"] + n["lenet"]
    # Every experiment but the exploratory scale grid, whose runs feed its own table only (scale_grid.csv).
    assert set(runs["experiment"]) == set(EXPERIMENTS) - {"scale_grid"}
    assert runs["test_accuracy"].between(0, 1).all()
    summary = pd.read_csv(tables / "summary.csv")
    for column in ["n", "mean", "std", "ci95_low", "ci95_high", "mean_train_seconds", "trainable_params"]:
        assert column in summary.columns
    # No accuracy interval leaves [0, 1].
    assert summary[["ci95_low", "ci95_high"]].stack().between(0, 1).all()
    escape = pd.read_csv(tables / "escape.csv")
    variants = len(config["logreg"]["losses"]) * len(config["logreg"]["scalings"])
    assert len(escape) == variants * n["logreg_step_counts"]
    assert (escape["n"] == len(seed_list(config["logreg"]["seeds"]))).all()
    assert escape[["escape_rate", "escape_ci95_low", "escape_ci95_high"]].stack().between(0, 1).all()
    assert escape["threshold"].nunique() == 1 and (escape["threshold"] > escape["chance"]).all()
    comparisons = pd.read_csv(tables / "comparisons.csv")
    assert {"difference", "ci95_low", "ci95_high", "p_value", "p_holm", "test", "mdd", "verdict"} <= set(comparisons.columns)
    tested = comparisons[comparisons["family"] != "descriptive"]
    assert (tested["p_holm"] >= tested["p_value"]).all() and set(tested["family"]) == {"loss", "hardest_pair", "c3"}
    assert comparisons.loc[comparisons["family"] == "descriptive", ["p_value", "p_holm"]].isna().all().all()
    paired = tested[tested["comparison"].isin(["C3 connection table", "loss", "input scaling"])]
    assert paired["test"].str.startswith(("paired sign-flip test", "paired t-test")).all()
    assert set(comparisons["comparison"]) == {"C3 connection table", "loss", "input scaling", "C3 equivalence",
                                              "hardest pair"}
    params = pd.read_csv(tables / "params.csv")
    totals = params[params["layer"] == "total"].set_index("c3")
    assert totals.loc["sparse", "measured"] == 60806 and totals.loc["full", "analytic"] == 61706
    identities = pd.read_csv(tables / "identities.csv")
    assert identities["as_expected"].all()
    environment = pd.read_csv(tables / "environment.csv").set_index("item")["value"]
    assert environment["config device"] == "cpu" and environment["torch"].startswith("2.")
    assert "training device" not in environment.index  # the submitting host does not resolve it
    hardware = pd.read_csv(tables / "hardware.csv", dtype=str)
    assert set(hardware["experiment"]) == set(EXPERIMENTS)
    assert (hardware["host"] == socket.gethostname()).all() and (hardware["device"] == "cpu").all(), hardware
    assert hardware.set_index("experiment")["runs"].astype(int).to_dict() == {
        experiment: n[experiment] for experiment in EXPERIMENTS}
    benchmarks = pd.read_csv(tables / "rule_benchmarks.csv")
    assert {"lenet", "logreg", "data"} <= set(benchmarks["rule_group"]) and (benchmarks["seconds"] > 0).all()


def test_every_run_record_is_complete(study):
    lenet = study / "results/lenet"  # the shared training runs (each run's own directory, not its group's)
    root = study_root(study, ci_config())
    records = [(p, json.loads(p.read_text())) for p in (root / "logreg" / "main").rglob("seed*.json")]
    # The sweep: one file per digit pair, holding its runs' records.
    records += [(p, r) for p in (root / "logreg" / "pair_sweep").glob("pair_*.json") for r in json.loads(p.read_text())]
    records += [(p, json.loads(p.read_text())) for p in lenet.rglob("training.json")
                if not any(part.startswith("group_") for part in p.parts)]
    records += [(p, json.loads(p.read_text())) for p in (root / "lenet_eval").rglob("seed*.json")]
    n = run_counts(ci_config())
    assert len(records) == n["logreg"] + n["pair_sweep"] + 2 * n["lenet"]  # LeNet-5: training.json, evaluation.json
    for path, record in records:
        # `device`: where the run trained; a LeNet-5 evaluation record has its own `eval_device`.
        is_evaluation = path.parent.parent.name == "lenet_eval"
        assert record["eval_device" if is_evaluation else "device"] == "cpu"
        assert record["experiment"] in EXPERIMENTS, path
        if "model" in record:
            # Each names the weights it describes with their SHA-256 (evaluate_lenet checked it).
            assert record["model"]["sha256"] == file_sha256(study / record["model"]["path"]), path
    assert not [p for p in (study / "results/checkpoints").rglob("*") if p.is_file()]  # every checkpoint removed


def test_evaluation_step_reproduces_the_training_time_evaluation(study):
    """The evaluate_lenet rule, reading model.pt, gives exactly the test numbers that training's last epoch gave."""
    runs = pd.read_csv(study_root(study, ci_config()) / "tables/runs.csv")
    lenet = runs[runs["experiment"] == "lenet"]
    assert len(lenet) == run_counts(ci_config())["lenet"] and lenet["ece"].between(0, 1).all()
    assert (lenet["top2_accuracy"] >= lenet["test_accuracy"]).all()
    for row in lenet.itertuples():
        last = pd.read_csv(lenet_run(study, ci_config(), row.c3, row.seed, "history.csv")).iloc[-1]
        evaluation = json.loads((study_root(study, ci_config()) / f"lenet_eval/{row.c3}/seed{row.seed}.json").read_text())
        assert evaluation["test_accuracy"] == last["test_accuracy"] == row.test_accuracy
        assert evaluation["test_loss"] == last["test_loss"] == row.test_loss
        assert evaluation["total"] == ci_config()["lenet"]["test_limit"] and evaluation["ece_bins"] == 15


def test_forcerun_evaluation_runs_no_training(study):
    """New metrics without retraining: forcing the evaluation reruns it and what reads it, no training job."""
    result = run_snakemake(study, "-n", "--quiet", "rules", "--forcerun", "evaluate_lenet",
                           config=study / "test-config.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["evaluate_lenet"] == len(ci_config()["lenet"]["c3"])  # one job per C3 variant, all its seeds
    assert not {"train_lenet", "train_logreg", "train_logreg_sweep", "download_mnist", "idx_to_tensors"} & set(counts)
    assert {"aggregate", "figure_lenet_calibration", "figure_lenet_confusion"} <= set(counts)


def test_rerun_has_nothing_to_do(study):
    result = run_snakemake(study, "-n", config=study / "test-config.yaml")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def build_report(workdir: Path) -> Path:
    report = study_root(workdir, yaml.safe_load((workdir / "test-config.yaml").read_text())) / "report.html"
    result = run_snakemake(workdir, "--report", str(report.relative_to(workdir)), config=workdir / "test-config.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    return report


@pytest.fixture(scope="module")
def report(study) -> Path:
    return build_report(study)


@pytest.fixture(scope="module")
def other_report(other_study) -> Path:
    return build_report(other_study)


def report_data(report: Path, name: str):
    """The object the built report's page assigns to ``var {name}`` (its results, its categories)."""
    page = report.read_text()
    start = page.index(f"var {name} = {{") + len(f"var {name} = ")
    return json.JSONDecoder().raw_decode(page, start)[0]


def report_entries(report: Path) -> dict[str, list[str]]:
    """Each category of the built report -> the ``shows`` label of each of its results."""
    results = report_data(report, "results")
    return {category: [results[path]["labels"]["shows"] for paths in subcategories.values() for path in paths]
            for category, subcategories in report_data(report, "categories").items()}


def test_report_contains_every_table_and_figure(report):
    """Every table and figure the study wrote is a result of the report, in one of its categories."""
    html, results = report.read_text(), report.parent
    workdir = next(p for p in report.parents if (p / "test-config.yaml").is_file())
    written = {str(path.relative_to(workdir)) for folder, pattern in [("tables", "*.csv"), ("figures", "*.png")]
               for path in (results / folder).glob(pattern)}
    assert set(report_data(report, "results")) == written
    assert set(report_entries(report)) == {"Data", "Logistic regression", "LeNet-5", "Convolution identities",
                                           "Environment"}
    # Captions quote the measured numbers (from facts.json), not placeholders.
    facts = read_facts(report.parent / "tables/facts.json")
    sweep_steps = ci_config()["pair_sweep"]["steps"]
    assert facts["lenet_sparse_mean"] in html and html_lib.escape(facts[f"pair_verdict_{sweep_steps}"]) in html
    assert facts["lenet_sparse_ece"] in html and facts["lenet_full_top2"] in html
    assert html_lib.escape(facts["c3_sparse_vs_full_ece_verdict"]) in html
    # The CI config runs every variant; only the reference's single runs are at step counts it does not run.
    assert html.count(NOT_RUN) == html.count(f"Against the reference: {NOT_RUN}") > 0


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
def test_report_renders_each_category_in_chromium(report, tmp_path):
    """Each category of the report, opened in its menu, shows every one of its results by its label."""
    html = report.read_text()
    end = html.rindex("</body>")
    for i, (category, entries) in enumerate(report_entries(report).items()):
        page = tmp_path / f"report{i}.html"
        page.write_text(html[:end] + CLICK_SCRIPT % category + html[end:])
        dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / f"profile{i}")
        assert dom.returncode == 0, dom.stderr[-2000:]
        text = app_text(dom.stdout)
        assert f"|Results|{category}|" in text, (category, text[:500])
        for entry in entries:
            assert f"|{entry}|" in text, (category, entry, text[:2000])


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


class AnyFacts(Facts):
    """Facts that hold every key: the given values, and for any other key a marker naming it. For checks of a
    text's shape, where which facts exist does not matter."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def report_config(config: dict, facts: Facts | None = None) -> dict:
    """``config`` as the report sees it: on top of config.yaml, seeds as lists, the facts in it (common.smk)."""
    full = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(full, copy.deepcopy(config))
    for section in ("logreg", "pair_sweep", "lenet"):
        full[section]["seeds"] = seed_list(full[section]["seeds"])
    full["facts"] = AnyFacts() if facts is None else facts
    full["findings"] = findings(full, full["facts"])
    full["glance"], full["glance_figures"] = glance_rows(full["facts"]), []  # figures: only a real report's
    full["labels"] = caption_labels(full)
    return full


def render_caption(name: str, config: dict, facts: Facts, source: str | None = None) -> str:
    """A caption (``workflow/report/{name}``, or the text ``source``) rendered as Snakemake's report renders it,
    Jinja then reStructuredText to HTML, but strictly: an undefined name in the Jinja, or any docutils warning or
    error (what the report would show as a ``system-message`` box), fails."""
    from docutils.core import publish_parts
    from jinja2 import Environment, StrictUndefined

    source = (REPO / "workflow/report" / name).read_text() if source is None else source
    snakemake = SimpleNamespace(params=SimpleNamespace(facts=facts), config=report_config(config, facts))
    text = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined).from_string(source).render(
        snakemake=snakemake)
    return publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]


def visible_text(fragment: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", fragment))


def stale_literals(config: dict) -> list[str]:
    """What a caption written for the default configuration would say where ``config`` differs from it."""
    default = report_config({})
    config = report_config(config)
    stale = []
    if config["pair"] != default["pair"]:
        stale.append("{} vs {}".format(*default["pair"]))
    if config["logreg"]["steps"] != default["logreg"]["steps"]:
        stale += [f"{default['logreg']['steps']:,}", str(default["logreg"]["steps"])]
    if config["lenet"]["epochs"] != default["lenet"]["epochs"]:
        stale.append(f"{default['lenet']['epochs']} epochs")
    if config["pair_sweep"]["pairs"] is not None:
        stale.append("45 digit pairs")
    return stale


def empty_substitutions(text: str) -> list[str]:
    """Traces of a substitution that rendered empty: empty brackets, a space before punctuation."""
    return re.findall(r".{0,30}(?:\(\s*\)|[ \t][,.;:)]).{0,30}", text)


CAPTIONS = sorted(p.name for p in (REPO / "workflow/report").glob("*.rst"))


FINDINGS = ["MSE loss vs logistic loss", "MSE loss on raw pixels escapes chance", "Raw pixels vs unit pixels",
            "Hardest digit pair", "Sparse C3 vs full C3", "Convolution identities"]


@pytest.mark.skipif(shutil.which("chromium") is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (CI installs it)")
def test_report_home_page_opens_with_the_findings(report, tmp_path):
    """Answers first: the page a reader lands on shows one line per claim, with its verdict from the facts,
    before the method."""
    dom = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = app_text(dom.stdout)
    facts = read_facts(report.parent / "tables/facts.json")
    found, method = text.index("|What the study found|"), text.index("|How|")
    assert found < method, text[:2000]
    findings = text[found:method]
    for claim in FINDINGS:
        assert f"|{claim}|" in findings, (claim, findings)
    for key in ["loss_ce_vs_mse_raw_final_verdict", "escape_mse_raw_final", "scaling_unit_vs_raw_final_verdict",
                f"pair_verdict_{ci_config()['pair_sweep']['steps']}", "c3_sparse_vs_full_claim",
                "c3_sparse_vs_full_ece_verdict", "identities_verdict"]:
        assert facts[key] in html_lib.unescape(findings), (key, findings)
    # It opens with the claims table (the same rows as the README's) and the figures that show the answers.
    page = html_lib.unescape(dom.stdout)
    for row in glance_rows(facts):
        assert row["claim"] in page and row["verdict"] in page and row["number"] in page, row
    assert page.count('src="data:image/png;base64,') >= len(GLANCE_FIGURES), "the home page's figures are missing"


class Placeholders(dict):
    """Facts whose every value is a marker naming its key, to match text written from real facts."""

    def __missing__(self, key: str) -> str:
        return f"\x00{key}\x00"


def findings_patterns(config: dict) -> list[re.Pattern]:
    """One pattern per findings line of ``config``: the line's words as they are, any facts in it."""
    lines = findings(report_config(config), Placeholders())
    return [re.compile("(.+?)".join(re.escape(part) for part in re.split("\x00\\w+\x00", line))) for line in lines]


def test_readme_states_the_home_pages_findings():
    """The findings in full (docs/results.md, linked from the README's results) are the report's home page's lines,
    for the configuration its results were generated from (docs/results-facts.json names it)."""
    page = (REPO / "docs/results.md").read_text()
    lines = [line[2:] for line in page.splitlines() if line.startswith("- ")]
    snapshot = json.loads((REPO / "docs/results-facts.json").read_text())
    source = yaml.safe_load((REPO / snapshot["config_file"]).read_text())
    patterns = findings_patterns(source if snapshot["config_file"] != "config.yaml" else {})
    assert len(lines) == len(patterns), lines
    for line, pattern in zip(lines, patterns):
        assert pattern.fullmatch(line), (line, pattern.pattern)
        assert NOT_RUN not in line


@pytest.mark.parametrize("config", [{}, ci_config(OTHER_CONFIG)], ids=["default", "other"])
def test_home_page_states_the_findings_lines(config):
    """The home page renders each line of mnistrepro.report.findings, facts quoted, in order."""
    steps = report_config(config)["pair_sweep"]["steps"]
    facts = AnyFacts({"loss_ce_vs_mse_raw_final_verdict": "logistic loss wins",
                      f"pair_verdict_{steps}": "7 vs 9 (88.74%, n = 10)"})
    text = visible_text(render_caption("workflow.rst", config, facts))
    at = 0
    for line in findings(report_config(config, facts), facts):
        at = text.index(line.replace("**", ""), at)
    assert "logistic loss wins" in text and "7 vs 9 (88.74%, n = 10)" in text


def test_findings_are_written_once():
    """The home page, the comparisons caption and the README block state the lines of one function,
    mnistrepro.report.findings.findings: the same lines in each, in order."""
    from mnistrepro.report.findings import results_page

    facts = AnyFacts({"loss_ce_vs_mse_raw_final_verdict": "logistic loss wins",
                      "c3_sparse_vs_full_claim": "full C3 is more accurate"})
    config = report_config({}, facts)
    lines = [line.replace("**", "") for line in findings(config, facts)]
    readme = results_page(config, facts).replace("**", "")
    texts = [visible_text(render_caption(name, {}, facts)) for name in ("workflow.rst", "comparisons.rst")]
    for text in [*texts, readme]:
        at = 0
        for line in lines:
            at = text.index(line, at)


def default_study_facts() -> Facts:
    """The facts of the full default run the README reports (docs/results-facts.json)."""
    return read_facts(REPO / "docs/results-facts.json")


@pytest.mark.parametrize("name", CAPTIONS)
def test_every_caption_renders_with_the_default_studys_facts(name):
    """Every caption renders with the facts of a real default run: no fact missing, no undefined name, no
    docutils error, no empty substitution, and nothing reads "not run" (the default runs every part)."""
    facts = default_study_facts()
    assert [part.split(" (")[0] for part in facts.not_run] == ["the reference's single run"]
    text = visible_text(render_caption(name, {}, facts))
    assert not empty_substitutions(text), (name, empty_substitutions(text))
    assert NOT_RUN not in text, name


def test_a_misspelt_fact_in_a_caption_fails_and_names_it():
    """A caption asking for a fact by a wrong name fails to render, naming the name, rather than rendering
    empty or as a plausible sentence (Jinja renders a missing key that raises a LookupError as empty)."""
    source = (REPO / "workflow/report/summary.rst").read_text()
    assert "f.lenet_variants_accuracy" in source
    broken = source.replace("f.lenet_variants_accuracy", "f.lenet_variants_acuracy")
    with pytest.raises(MissingFactError, match="has no fact 'lenet_variants_acuracy'"):
        render_caption("summary.rst", {}, default_study_facts(), source=broken)


def test_a_part_the_config_left_out_reads_not_run_and_nothing_else_does():
    """With one C3 kind, the other kind's facts and the C3 comparison read "not run in this configuration", and the
    captions' per-variant lists hold the one kind; with both kinds, a fact missing is an error naming it."""
    from mnistrepro.report.study import variant_facts

    one_kind = report_config({"lenet": {"c3": ["sparse"]}})
    claim = ("lenet_test_set", "lenet_paired_sd", "lenet_n_plan", "lenet_achieved")
    measured = {k: v for k, v in default_study_facts().items()
                if not k.startswith(("lenet_full_", "c3_", "lenet_variants_")) and k not in claim}
    # The captions' per-variant lists, as the aggregation of a study with the sparse kind alone makes them.
    logreg = one_kind["logreg"]
    runs = pd.DataFrame([{"experiment": "lenet", "c3": "sparse"}] + [
        {"experiment": "logreg", "loss": loss, "scaling": scaling, "steps": logreg["steps"]}
        for loss in logreg["losses"] for scaling in logreg["scalings"]])
    no_comparison = pd.DataFrame(columns=["comparison", "key", "metric", "a", "b"])  # one C3 kind: none of C3
    measured.update(variant_facts(measured, runs, no_comparison))
    facts = Facts(measured, not_run_parts(left_out_parts(study_config(one_kind))), config=study_config(one_kind))
    html = render_caption("lenet_calibration.rst", {"lenet": {"c3": ["sparse"]}}, facts)
    assert NOT_RUN in html and facts["lenet_sparse_mean"] in html and "full C3" not in html
    assert facts["lenet_full_mean"] == facts["c3_sparse_vs_full_claim"] == facts["c3_claims"] == NOT_RUN
    all_but_one = {k: v for k, v in default_study_facts().items() if k != "lenet_variants_calibration"}
    both = Facts(all_but_one, not_run_parts(left_out_parts(study_config(report_config({})))))
    with pytest.raises(MissingFactError, match="has no fact 'lenet_variants_calibration'"):
        render_caption("lenet_calibration.rst", {}, both)


def test_report_before_the_study_says_to_run_it_first(tmp_path):
    """``snakemake --report`` before the study has run: a non-zero exit and one sentence saying to run the study
    first, not Snakemake's "marked for report but does not exist"."""
    result = run_snakemake(tmp_path, "--report", "results/ci/report.html", config=REPO / ".test/config.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "No report yet: results/ci/tables/facts.json does not exist" in output, output[-3000:]
    assert "Run the study first (the same snakemake command without --report)" in output
    assert not (tmp_path / "results/ci/report.html").exists()


def test_a_misspelt_fact_fails_the_real_report_build(study, tmp_path):
    """The same through ``snakemake --report``: a copy of the workflow whose caption asks for a misspelt fact
    fails on the finished CI-sized study, and Snakemake's error names the fact."""
    for part in ("Snakefile", "workflow", "scripts"):
        source = REPO / part
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, tmp_path / part)
    caption = tmp_path / "workflow/report/summary.rst"
    caption.write_text(caption.read_text().replace("f.lenet_variants_accuracy", "f.lenet_variants_acuracy"))
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(tmp_path / "Snakefile"), "--directory",
                             str(study), "--configfile", str(study / "test-config.yaml"), "--report",
                             str(tmp_path / "report.html")], capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "has no fact 'lenet_variants_acuracy'" in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]
    assert not (tmp_path / "report.html").exists()


def report_texts(report: Path) -> tuple[str, list[str]]:
    """The visible text of a built report's home page and of each of its captions."""
    page = report.read_text()
    home = json.loads(re.search(r'var workflow_desc = (".*?(?<!\\)");', page, re.S).group(1))
    captions = [json.loads(m) for m in re.findall(r'"caption": ("(?:[^"\\]|\\.)*")', page)]
    return visible_text(home), [visible_text(c) for c in captions]


@pytest.mark.parametrize("which", ["report", "other_report"])
def test_report_follows_its_config(which, request):
    """The built report of the CI config and of OTHER_CONFIG: every caption rendered, no docutils error box,
    no empty substitution, nothing the default config would say where this one differs, and the facts quoted."""
    report = request.getfixturevalue(which)
    workdir = next(p for p in report.parents if (p / "test-config.yaml").is_file())
    config = yaml.safe_load((workdir / "test-config.yaml").read_text())
    page = report.read_text()
    assert "system-message" not in page and "Docutils System Messages" not in page
    home, captions = report_texts(report)
    # One caption per report item: every caption file but the home page.
    assert len(captions) == len(CAPTIONS) - 1 and all(captions), [c[:80] for c in captions]
    facts = read_facts(study_root(workdir, config) / "tables/facts.json")
    # The claims table quotes the seed's own words and evidence (about 4 vs 9, 10,000 steps, 10,000 test images):
    # the reference's, whatever the configuration.
    quotes = [c.words for c in SEED_CLAIMS] + [c.evidence for c in SEED_CLAIMS]
    assert all(q in home for q in quotes), "the home page's claims table is missing"
    for text in [home, *captions]:
        unquoted = text
        for quote in quotes:
            unquoted = unquoted.replace(quote, "")
        for literal in stale_literals(config):
            assert literal not in unquoted, (literal, unquoted[:300])
        assert not empty_substitutions(text), empty_substitutions(text)
    pair = "{} vs {}".format(*config["pair"])
    assert f"logistic regression on {pair}, raw pixels, {config['logreg']['steps']:,} steps" in home
    assert facts["loss_ce_vs_mse_raw_final_verdict"] in home
    assert facts[f"pair_verdict_{config['pair_sweep']['steps']}"] in home
    assert facts["identities_verdict"] in home and facts["c3_sparse_vs_full_ece_verdict"] in home
    if config["pair"] == OTHER_CONFIG["pair"]:
        # No unit-pixel runs, and no reference run on this pair: said so, not left empty.
        assert "Raw pixels vs unit pixels (MSE loss, 500 steps): not run in this configuration" in home
        assert "Against the reference: not run in this configuration." in "\n".join(captions)


def test_scale_grid_table_figure_and_facts_follow_a_non_default_config(other_study, other_report):
    """OTHER_CONFIG's 3-divisor grid on 3 vs 5 (4 seeds, 500 steps): the table has a row per loss and divisor, its
    divisor 1 is the main grid's raw runs, the figure is drawn, the facts are in facts.json, on the report's home
    page and in its captions; and none of it enters the comparisons or runs.csv."""
    config = ci_config(OTHER_CONFIG)
    tables = study_root(other_study, config) / "tables"
    grid = pd.read_csv(tables / "scale_grid.csv")
    divisors, losses = config["scale_grid"]["divisors"], config["logreg"]["losses"]
    assert sorted(zip(grid["loss"], grid["divisor"])) == sorted((loss, float(d)) for loss in losses for d in divisors)
    assert (grid["status"] == "EXPLORATORY").all() and (grid["n"] == 4).all() and (grid["steps"] == 500).all()
    assert (grid["pair"] == "3-5").all() and not any("p_" in column for column in grid.columns)
    # Divisor 1 is raw pixels: the same runs as the main grid's, so the same mean accuracy.
    runs = pd.read_csv(tables / "runs.csv")
    raw = runs[(runs["experiment"] == "logreg") & (runs["scaling"] == "raw") & (runs["steps"] == 500)]
    for loss in losses:
        row = grid[(grid["loss"] == loss) & (grid["divisor"] == 1)].iloc[0]
        assert row["mean_accuracy"] == pytest.approx(raw[raw["loss"] == loss]["test_accuracy"].mean(), abs=1e-12)
    assert (study_root(other_study, config) / "figures/scale_grid.png").stat().st_size > 10_000
    facts = read_facts(tables / "facts.json")
    assert facts["scale_grid_divisors"] == "1, 16 and 255"
    assert facts["scale_grid_verdict"].startswith("MSE's escape rate")
    home, captions = report_texts(other_report)
    assert "Exploratory: pixel scale (logistic regression on 3 vs 5, 500 steps, pixels divided by 1, 16, 255" in home
    assert facts["scale_grid_verdict"] in home
    # The table's caption, the figure's, and the comparisons' (which repeats the findings lines).
    assert sum(facts["scale_grid_verdict"] in caption for caption in captions) == 3
    # Exploratory: not in the comparisons (confirmatory tests only) nor in the Holm family, nor in runs.csv.
    comparisons = pd.read_csv(tables / "comparisons.csv")
    assert set(comparisons["comparison"]) <= {"C3 connection table", "loss", "input scaling", "C3 equivalence",
                                              "hardest pair"}
    assert not comparisons.astype(str).apply(lambda c: c.str.contains("divided|scale grid|EXPLORATORY")).any().any()
    assert set(comparisons["scaling"].dropna()) <= {"raw", "unit"}
    assert "scale_grid" not in set(runs["experiment"])
    hardware = pd.read_csv(tables / "hardware.csv", dtype=str).set_index("experiment")["runs"].astype(int)
    assert hardware["scale_grid"] == run_counts(config)["scale_grid"] == 2 * 3 * 4


# --------------------------------------------------------------------------- studies keep to themselves


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: its SHA-256 and modification time (ns)."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


# Another study beside the CI one: one more LeNet-5 seed (seeds 0 and 1 are the CI study's, shared) and
# other logistic-regression seeds.
SECOND_STUDY = {"study": "ci_second", "lenet": {"seeds": [0, 1, 2]}, "logreg": {"seeds": 4}}


@pytest.fixture(scope="module")
def two_studies(study, tmp_path_factory):
    """A copy of the finished CI-sized study's working directory (metadata and times kept), where a second
    study then ran."""
    workdir = tmp_path_factory.mktemp("two_studies") / "work"
    shutil.copytree(study, workdir, symlinks=True)
    first = yaml.safe_load((workdir / "test-config.yaml").read_text())
    second = ci_config(SECOND_STUDY)
    second["data"]["local_dir"] = first["data"]["local_dir"]
    second_path = workdir / "second-config.yaml"
    second_path.write_text(yaml.safe_dump(second))
    before = snapshot(workdir / "results")
    plan = run_snakemake(workdir, "-n", "--quiet", "rules", config=second_path)
    assert plan.returncode == 0, plan.stderr[-3000:]
    result = run_snakemake(workdir, "--cores", "2", config=second_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    first_again = run_snakemake(workdir, "-n", config=workdir / "test-config.yaml")
    return SimpleNamespace(workdir=workdir, first=first, second=second, before=before, plan=plan,
                           after=snapshot(workdir / "results"), first_again=first_again)


def test_another_study_leaves_every_file_of_the_first_untouched(two_studies):
    changed = [path for path, stamp in two_studies.before.items() if two_studies.after.get(path) != stamp]
    assert not changed, changed[:20]
    assert (study_root(two_studies.workdir, two_studies.first) / "tables/facts.json").is_file()
    second_root = study_root(two_studies.workdir, two_studies.second)
    assert second_root != study_root(two_studies.workdir, two_studies.first)
    runs = pd.read_csv(second_root / "tables/runs.csv")
    assert sorted(runs[runs["experiment"] == "lenet"]["seed"].unique()) == [0, 1, 2]
    assert (second_root / "figures/comparisons_forest.png").is_file()


def test_first_study_has_nothing_to_do_after_another(two_studies):
    result = two_studies.first_again
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]


def test_another_study_trains_only_the_lenet_runs_the_first_did_not(two_studies):
    counts = job_counts(two_studies.plan.stdout)
    new_seeds = set(two_studies.second["lenet"]["seeds"]) - set(two_studies.first["lenet"]["seeds"])
    assert counts["train_lenet"] == len(two_studies.second["lenet"]["c3"]) * len(new_seeds)
    assert not {"download_mnist", "idx_to_tensors", "extract_pair"} & set(counts)  # MNIST is shared


def test_a_run_ends_with_its_findings_and_the_report_command(study):
    """The console output of the CI-sized run ends with the findings lines (the function the report's home
    page uses), where the tables and figures are, and the report command for this configuration."""
    config = ci_config()
    output = (study / "console.txt").read_text()
    root = str(study_root(study, config).relative_to(study))
    summary = output[output.index(f"Study '{config['study']}' is complete"):]
    run_config = yaml.safe_load((study / "test-config.yaml").read_text())
    update_config(run_config, {"lenet": {"seeds": seed_list(run_config["lenet"]["seeds"])}})
    for line in findings(run_config, read_facts(study / root / "tables/facts.json")):
        assert f"- {line}" in summary, (line, summary[:3000])
    assert f"Tables:  {root}/tables/" in summary and f"Figures: {root}/figures/" in summary
    assert f"Report:  snakemake --report {root}/report.html" in summary


def test_compare_studies_puts_the_two_side_by_side(two_studies):
    from mnistrepro.outputs.compare_studies import compare_studies

    first = study_root(two_studies.workdir, two_studies.first)
    second = study_root(two_studies.workdir, two_studies.second)
    text = compare_studies(first, second)
    comparisons = pd.read_csv(first / "tables/comparisons.csv")
    for row in comparisons.itertuples():
        metric = "" if row.metric == "test_accuracy" else f" ({row.metric})"
        at = f", steps {int(row.steps)}" if not pd.isna(row.steps) else f", epochs {int(row.epochs)}"
        assert f"| {row.comparison}: {row.a} - {row.b}{metric}{at} | {row.difference * 100:+.2f} pp" in text, text
    second_summary = pd.read_csv(second / "tables/summary.csv")
    lenet = second_summary[second_summary["experiment"] == "lenet"].iloc[0]
    assert f"{lenet['mean'] * 100:.2f}% (n = {int(lenet['n'])})" in text


# --------------------------------------------------------------------------- the exploratory analyses


def test_exploratory_tables_figures_and_facts_follow_another_config(other_study):
    """OTHER_CONFIG (another pair, a three-pair sweep, two LeNet-5 seeds, one epoch): the exploratory tables, their
    figures and facts are written, marked exploratory, with no p-value; and nothing of theirs enters
    comparisons.csv, which holds the confirmatory families and their descriptive readings only."""
    config = ci_config(OTHER_CONFIG)
    root = study_root(other_study, config)
    tables = {name: pd.read_csv(root / f"tables/{name}.csv")
              for name in ("lenet_pair_confusions", "pair_ranking_models", "c3_per_epoch")}
    for name, table in tables.items():
        assert not table.empty and table["analysis"].str.startswith("EXPLORATORY").all(), name
        assert not [c for c in table.columns if c.startswith("p_") or c.endswith("p_value")], name
    seeds = len(seed_list(config["lenet"]["seeds"]))
    confusions = tables["lenet_pair_confusions"]
    assert sorted(confusions["c3"].unique()) == ["both", "full", "sparse"] and len(confusions) == 3 * 45
    assert (confusions["n_seeds"] == seeds).all()
    ranking = tables["pair_ranking_models"]
    sweep_pairs = {"{}-{}".format(*sorted(p)) for p in OTHER_CONFIG["pair_sweep"]["pairs"]}
    pairs = pd.read_csv(root / "tables/pair_difficulty.csv")
    sweep_steps = sorted(pairs["steps"].unique())
    assert sorted(ranking["steps"].unique()) == sweep_steps
    for steps, at in ranking.groupby("steps"):
        assert set(at["pair"]) == sweep_pairs and (at["n_shared_pairs"] == len(sweep_pairs)).all()
    per_epoch = tables["c3_per_epoch"]
    assert per_epoch["epoch"].tolist() == list(range(1, config["lenet"]["epochs"] + 1))
    assert (per_epoch["n_pairs"] == seeds).all()
    for png in ("lenet_pair_confusions.png", "c3_per_epoch.png"):
        assert (root / "figures" / png).stat().st_size > 10_000, png
    facts = read_facts(root / "tables/facts.json")
    for key in ["lenet_most_confused_pair", "lenet_sparse_most_confused", "lenet_full_most_confused",
                "c3_per_epoch_verdict", "c3_per_epoch_caveat", *[f"pair_models_{s}" for s in sweep_steps]]:
        assert facts[key] and facts[key] != NOT_RUN, key
    assert f"among the {len(sweep_pairs)} pairs the sweep ran" in facts[f"pair_models_{sweep_steps[0]}"]
    lines = findings(report_config(config, facts), facts)
    assert [line.split("**")[1] for line in lines[-3:]] == [
        "Exploratory: which pair is hardest for a ten-class CNN and for binary linear classifiers",
        "Exploratory: sparse C3 - full C3 at every epoch",
        "Exploratory: pixel scale"]
    # In no confirmatory family: comparisons.csv holds its own comparisons only, none of these results.
    comparisons = pd.read_csv(root / "tables/comparisons.csv")
    assert set(comparisons["comparison"]) <= {"C3 connection table", "loss", "input scaling", "C3 equivalence",
                                              "hardest pair"}
    assert not comparisons.astype(str).apply(lambda c: c.str.contains("xploratory|per epoch|confus|Spearman")).any().any()
    tested = comparisons[comparisons["family"] != "descriptive"]
    assert int(comparisons["p_value"].notna().sum()) == len(tested) == int(tested["family_size"].groupby(
        tested["family"]).first().sum())


# --------------------------------------------------------------------------- the same bits on an AVX2-only CPU

# Tables that describe the machine and the jobs' times, not results; and the columns and facts of other tables
# that hold a time, a host or a path.
MACHINE_TABLES = {"environment.csv", "hardware.csv", "rule_benchmarks.csv"}
MACHINE_WORDS = re.compile(r"second|time|elapsed|duration|machine|host|source|date|speed|minute")


def result_files(root: Path) -> dict[str, object]:
    """Every table of a study's ``tables/`` as comparable values: each CSV without its time and machine columns,
    ``facts.json`` without its time and machine facts."""
    out = {}
    for path in sorted((root / "tables").iterdir()):
        if path.name in MACHINE_TABLES:
            continue
        if path.suffix == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            out[path.name] = table[[c for c in table.columns if not MACHINE_WORDS.search(c)]].to_dict("list")
        elif path.name == "facts.json":
            facts = json.loads(path.read_text())["facts"]
            out[path.name] = {k: v for k, v in facts.items() if not MACHINE_WORDS.search(k)}
    return out


@pytest.fixture(scope="module")
def avx2_study(study, tmp_path_factory) -> Path:
    """A copy of the finished CI-sized study, run again from scratch (training too) as an AVX2-only CPU runs it."""
    workdir = tmp_path_factory.mktemp("avx2_study") / "work"
    shutil.copytree(study, workdir, symlinks=True)
    native = {k: v for k, v in os.environ.items() if k not in AVX2_CPU_EMULATION}
    result = run_snakemake(workdir, "--cores", "2", "--forceall", config=workdir / "test-config.yaml",
                           env=avx2_cpu_environment(native), timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_every_table_has_the_same_bits_as_an_avx2_cpu_computes_them(study, avx2_study):
    """Every table and fact of the study (times and machine descriptions aside), computed again from scratch with
    NumPy's AVX-512 kernels off, OpenBLAS on its Haswell kernels and torch capped at AVX2: the same text, digit
    for digit."""
    config = ci_config()
    here, avx2 = result_files(study_root(study, config)), result_files(study_root(avx2_study, config))
    assert set(here) == set(avx2) and {"runs.csv", "summary.csv", "comparisons.csv", "lenet_test_set.csv",
                                       "facts.json"} <= set(here)
    differ = {name: [k for k in here[name] if here[name][k] != avx2[name].get(k)] for name in here
              if here[name] != avx2[name]}
    assert not differ, differ
