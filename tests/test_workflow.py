"""The workflow as a whole: the DAG of the default config, and the lint."""

from __future__ import annotations

import re

from conftest import REPO, job_counts, run_snakemake

# Every rule the default config runs, with its job count.
EXPECTED_JOBS = {
    "download_mnist": 1,
    "idx_to_tensors": 1,
    "extract_pair": 1,
    "data_summary": 1,
    "train_logreg": 4,  # loss x scaling, each job running all 200 seeds together
    "train_logreg_sweep": 1,  # every digit pair and seed in one job
    "train_lenet": 6,  # C3 variant x seed
    "evaluate_lenet": 2,  # C3 variant, each job evaluating all 3 seeds
    "identities": 1,
    "aggregate": 1,
    "lenet_params": 1,
    "environment": 1,
    "hardware": 1,
    "rule_benchmarks": 1,
    "figure_logreg_steps": 1,
    "figure_logreg_distribution": 1,
    "figure_pair_difficulty": 1,
    "figure_accuracy_vs_params": 1,
    "figure_lenet_epochs": 1,
    "figure_lenet_confusion": 1,
    "figure_lenet_calibration": 1,
    "figure_misclassified": 1,
    "figure_train_time": 1,
    "figure_rule_resources": 1,
    "all": 1,
}


def test_dry_run_shows_the_whole_dag(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout) == EXPECTED_JOBS


def test_dry_run_without_the_sweep_drops_its_jobs(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text().replace("  enabled: true", "  enabled: false"))
    result = run_snakemake(tmp_path / "work", "-n", "--quiet", "rules", config=config)
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert "train_logreg_sweep" not in counts and "figure_pair_difficulty" not in counts
    assert counts["train_lenet"] == 6


def test_lenet_power_config_runs_ten_or_more_seeds_per_variant(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", str(REPO / "configs" / "lenet_power.yaml"))
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["train_lenet"] == 2 * 20
    assert counts["train_logreg"] == EXPECTED_JOBS["train_logreg"]  # the rest of the study is unchanged


def test_lint_reports_only_the_missing_conda_environments(tmp_path):
    """We install with pip into one venv (pyproject.toml); every other lint is fixed."""
    result = run_snakemake(tmp_path, "--lint")
    lints = re.findall(r"^\s+\* (.+?):?$", result.stdout + result.stderr, re.M)
    assert lints, "expected the conda lints"
    assert set(lints) == {"Specify a conda environment or container for each rule."}, lints


def test_snakemake_files_are_formatted():
    """snakefmt (the Snakemake formatter) would change nothing."""
    import subprocess
    import sys
    from pathlib import Path

    snakefmt = Path(sys.executable).with_name("snakefmt")
    files = [str(REPO / "Snakefile"), *map(str, sorted((REPO / "workflow" / "rules").glob("*.smk")))]
    result = subprocess.run([str(snakefmt), "--check", "--diff", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
