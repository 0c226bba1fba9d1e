"""Every shell command in the README's ```bash blocks, and in those of the pages under docs/ it links to, runs in a
temporary copy of the repository.

A command whose real run would be long runs as a dry run (``snakemake ... -n``); a few are mapped to
a shorter form or are listed exceptions, each with its reason (``as_tested``). The commands run in
README order, then each page of docs/ in name order, so that one that writes a file (``printf ... > quick.yaml``)
serves the next.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from mnistrepro.study.studies import DEFAULT_STUDY, study_dir

# Whole workflow runs (or a cluster, a browser): the slow tier.
pytestmark = pytest.mark.slow

# Commands not run, and why. Everything else runs (snakemake as a dry run).
EXCEPTIONS = {
    "python3 -m venv": "creates the 5.9 GB virtual environment that this test already runs in",
    "pip install": "installs that environment again (minutes, network or wheel files)",
    "sudo ": "needs root and starts a SLURM cluster: that is tests/test_slurm.py itself",
}


def readme_commands(text: str) -> list[str]:
    """Each simple command of the README's ```bash blocks: continuation lines joined, comments removed,
    ``a && b`` split in two."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            line = _without_comment(line).strip()
            commands += [part.strip() for part in line.split(" && ") if part.strip()]
    return commands


def _without_comment(line: str) -> str:
    """``line`` up to a ``#`` that starts a shell comment (outside quotes, at the start or after a space)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def as_tested(command: str) -> tuple[str | None, str]:
    """The command this test runs for a README ``command`` (None: not run), and why it differs."""
    for start, reason in EXCEPTIONS.items():
        if start in command:
            return None, reason
    words = shlex.split(command)
    program = Path(words[0]).name
    if program == "snakemake":
        if "--report" in words:  # a dry run of the study instead (snakemake --report ignores -n)
            i = words.index("--report")
            return (shlex.join(words[:i] + words[i + 2:] + ["-n"]),
                    "dry run of the study: the report needs its results (tests/test_pipeline.py builds reports)")
        return command if "-n" in words else command + " -n", "dry run: the real run takes minutes"
    if "pytest" in (Path(word).name for word in words):  # pytest itself, or run through a launcher
        return command + " --collect-only -q", "collects the suite instead of running it (this test is in it)"
    if "benchmarks/bench_" in command:
        return command + " --help", "a benchmark runs for minutes; --help checks that it starts"
    return command, ""


def configs_of(command: str, workdir: Path) -> dict:
    """The configuration a snakemake ``command`` runs with: config.yaml, then each --configfile on top."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    words = shlex.split(command)
    for i, word in enumerate(words):
        if word == "--configfile":
            for path in words[i + 1:]:
                if path.startswith("-"):
                    break
                config.update(yaml.safe_load((workdir / path).read_text()) or {})
    return config


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """A copy of the repository, with ``.venv`` this test's environment, two studies' tables in place
    (the placeholders of ``compare_studies results results/lenet_power``) and the default study's facts."""
    workdir = tmp_path_factory.mktemp("readme") / "mnistrepro"
    shutil.copytree(REPO, workdir, ignore=shutil.ignore_patterns(
        ".git", ".venv", "results", ".snakemake", ".test-data", "__pycache__", ".pytest_cache", "*.egg-info"))
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    for study in (DEFAULT_STUDY, "lenet_power"):
        tables = workdir / study_dir(study) / "tables"
        tables.mkdir(parents=True)
        pd.DataFrame([{"experiment": "lenet", "c3": "sparse", "epochs": 10, "n": 3, "mean": 0.986}]).to_csv(
            tables / "summary.csv", index=False)
        pd.DataFrame([{"comparison": "C3 connection table", "key": "c3_sparse_vs_full", "metric": "test_accuracy",
                       "a": "sparse C3", "b": "full C3", "epochs": 10, "difference": -0.002,
                       "ci95_low": float("nan"), "ci95_high": float("nan"), "p_holm": 0.25,
                       "significant": False}]).to_csv(tables / "comparisons.csv", index=False)
    # The default study's facts, as a finished run leaves them (the README's regeneration command reads them).
    shutil.copyfile(REPO / "docs/results-facts.json", workdir / "results/tables/facts.json")
    shutil.copytree(REPO / "docs/figures", workdir / "results/figures")  # and the figures the README shows
    return workdir


def run_in(workdir: Path, command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    return subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


def documented_files() -> list[Path]:
    """The README, then every Markdown page of docs/ in name order: the files whose commands this test runs."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def documented_commands() -> dict[str, list[str]]:
    """Each documented file's commands (its path relative to the repository -> its commands, in order)."""
    return {str(path.relative_to(REPO)): readme_commands(path.read_text()) for path in documented_files()}


# Each command once, in README order, then in the order of the docs pages.
COMMANDS = list(dict.fromkeys(c for commands in documented_commands().values() for c in commands))


def test_the_readme_has_the_commands_it_should():
    assert len(COMMANDS) >= 20
    assert any("--configfile two-per-gpu.yaml" in c for c in COMMANDS)  # the several-GPUs form that works
    assert not any("--config gpu=" in c for c in COMMANDS)
    assert any("mnistrepro.outputs.compare_studies" in c for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(copy, command):
    tested, reason = as_tested(command)
    if tested is None:
        pytest.skip(f"listed exception: {reason}")
    result = run_in(copy, tested)
    assert result.returncode == 0, f"{tested}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    words = shlex.split(command)
    if "--report" in words:  # the report lands in the directory of the study it is run for
        report = words[words.index("--report") + 1]
        assert report == f"{study_dir(configs_of(command, copy)['study'])}/report.html", command


@pytest.mark.parametrize("broken", [
    # Nested keys through --config: Snakemake passes the nested 2 as the string '2', which validation refuses.
    ".venv/bin/snakemake --cores all --resources gpu=8 --config gpu='{jobs_per_gpu: 2, wait_s: 3600}'",
    ".venv/bin/snakemake --cores all --configfile configs/no_such_config.yaml",
    ".venv/bin/python -m mnistrepro.outputs.compare_studies results results/no_such_study",
])
def test_a_broken_command_fails_the_test(copy, broken):
    """The check above can fail: a README command broken on purpose does."""
    tested, _ = as_tested(broken)
    result = run_in(copy, tested)
    assert result.returncode != 0, result.stdout[-2000:]


def test_comments_and_continuations_are_handled():
    text = "```bash\nprintf 'a # b' > x  # make x\nfoo \\\n  --bar && baz\n```\n"
    assert readme_commands(text) == ["printf 'a # b' > x", "foo    --bar", "baz"]
