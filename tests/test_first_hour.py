"""A user's first hour, on the CI-sized study: the estimate comes before the first job, the console keeps
what a person needs, and logistic regression's tables and figures exist before the first LeNet-5 run has finished.

The study runs on one core: the order of the jobs is then the scheduler's choice alone, which the rules' priorities
decide. On more cores a LeNet-5 job may start beside the last logistic-regression job, and which of the two ends
first depends on the machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_snakemake, study_root

# Whole workflow runs (or a cluster, a browser): the slow tier.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def one_core_study(mnist_idx_dir, tmp_path_factory) -> tuple[Path, dict, str]:
    workdir = tmp_path_factory.mktemp("first_hour")
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    config["data"]["local_dir"] = str(mnist_idx_dir)
    config_path = workdir / "test-config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, "--cores", "1", config=config_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir, config, result.stderr


def test_logistic_regression_results_exist_before_the_first_lenet_run_has_finished(one_core_study):
    workdir, config, _ = one_core_study
    root = study_root(workdir, config)
    # Each training job writes its runs' records in its group's directory; the first written is the first run done.
    first_lenet = min(p.stat().st_mtime for p in (workdir / "results" / "lenet").glob("*/*/group_*/seed*/training.json"))
    early = [root / "tables" / name for name in ("escape.csv", "escape_sensitivity.csv", "pair_difficulty.csv",
                                                 "identities.csv")]
    early += [root / "figures" / name for name in ("logreg_accuracy_vs_steps.png", "logreg_accuracy_distribution.png",
                                                   "pair_difficulty.png", "pair_ranks.png", "identities_mnist.png")]
    for path in early:
        assert path.stat().st_mtime < first_lenet, f"{path.name} was written after the first LeNet-5 run"
    # The tables that span the experiments come at the end, as before.
    assert (root / "tables" / "comparisons.csv").stat().st_mtime > first_lenet


def test_the_console_says_how_long_and_keeps_routine_lines_in_the_logs(one_core_study):
    workdir, config, console = one_core_study
    assert "Estimated duration on this machine: about " in console, console[-3000:]
    assert "calibration on this machine" in console
    assert "Shell command" not in console
    assert "epoch 1/" not in console, "a job's routine lines reached the console"
    # Snakemake's per-job lines and its job-count progress.
    assert "Finished jobid" not in console and not re.search(r"\d+ of \d+ steps \(\d+%\) done", console)
    assert "Progress: 100% of the estimated work; LeNet-5 runs 4 of 4" in console, console[-3000:]
    # Snakemake's own log keeps every job, and the estimate came before the first of them.
    log = next((workdir / ".snakemake" / "log").glob("*.snakemake.log")).read_text()
    assert log.index("Estimated duration") < log.index("rule ") and "Finished jobid" in log
    # The jobs' own lines are in their logs, each epoch line naming its run.
    lenet_logs = "".join(p.read_text() for p in (workdir / "results" / "logs" / "lenet").glob("*/*_group_*.log"))
    assert "sparse C3 seed 0, epoch 1/2:" in lenet_logs and "full C3 seed 1, epoch 2/2:" in lenet_logs


def test_the_readme_says_how_long_each_command_takes():
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    durations = readme.split("## How long it takes", 1)[1].split("\n## ", 1)[0]
    table = re.search(r"^\| command \|(.*)\|\n(?:\|.*\n)+", durations, re.M)
    assert table, "the README lost its table of durations"
    # Each column names the machine it was measured on: cores, model, clock and instruction set, or the GPU.
    machines = [c.strip() for c in table.group(1).split("|")]
    assert len(machines) >= 3
    for machine in machines:
        assert re.fullmatch(r"\d+-core (?:Intel|AMD) .+, \d(?:\.\d)? GHz, (?:AVX2|AVX-512)", machine) or \
            re.fullmatch(r"one NVIDIA \w+, \d+ CPU cores", machine), machine
    assert any("AVX2" in m and "AVX-512" not in m for m in machines), "no slow AVX2-only CPU among the machines"
    rows = table.group(0).splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == ["1. the study", "2. the tests", "the small study"]
    for row in rows:  # every filled cell says whether it was measured, derived or the study's own estimate
        cells = [c.strip() for c in row.split("|")[2:-1]]
        assert len(cells) == len(machines), row
        assert all(c.endswith(("measured", "derived", "estimated")) for c in cells if c), row
    # The study's own estimate for the user's machine, before the first job, and the progress line's form.
    assert "before its first job the study prints how long it will take there" in " ".join(durations.split())
    assert "Estimated duration on this machine: about " in durations
    assert re.search(r"`Progress: \d+% of the estimated\s+work; LeNet-5 runs \d+ of \d+, ", durations)
    # The optional line runs the small study, from a fresh clone.
    assert "&& .venv/bin/snakemake --cores all --configfile .test/config.yaml\n" in quick_start
