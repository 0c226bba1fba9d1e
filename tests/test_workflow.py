"""The workflow as a whole: the DAG of the default config, and the lint."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml
from snakemake.utils import update_config

from conftest import REPO, job_counts, run_snakemake
from mnistrepro.study.config import seed_list
from mnistrepro.study.seeds import seed_groups

def workflow_rules(workdir, config=None) -> list[str]:
    """Every rule the workflow defines with ``config`` (``snakemake --list-rules``)."""
    result = run_snakemake(workdir, "--list-rules", config=config)
    assert result.returncode == 0, result.stderr
    return re.findall(r"^(\w+)$", result.stdout, re.M)


def expected_jobs(rules: list[str], config: dict) -> dict[str, int]:
    """Jobs per rule that ``config`` implies: each of its ``rules`` once, except those that fan out over the
    config's variants and seeds. A new rule needs no change here."""
    counts = dict.fromkeys(rules, 1)
    logreg, lenet = config["logreg"], config["lenet"]
    counts["train_logreg"] = len(logreg["losses"]) * len(logreg["scalings"])  # each job runs all its seeds together
    if "train_scale_grid" in counts:  # one job per loss and divisor, all seeds together
        counts["train_scale_grid"] = len(logreg["losses"]) * len(config["scale_grid"]["divisors"])
    seeds = seed_list(lenet["seeds"])
    # This machine has no GPU, so `seeds_per_job: auto` trains one seed per job.
    per_job = 1 if lenet.get("seeds_per_job", "auto") == "auto" else lenet["seeds_per_job"]
    counts["train_lenet"] = len(lenet["c3"]) * len(seed_groups(seeds, per_job))
    counts["collect_lenet_run"] = len(lenet["c3"]) * len(seeds)  # each run copied out of its group's directory
    counts["evaluate_lenet"] = len(lenet["c3"])  # each job evaluates all seeds of its C3 variant
    return counts


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_dry_run_shows_the_whole_dag(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts == expected_jobs(workflow_rules(tmp_path), default_config())
    # The default: 2 losses x 2 scalings, 2 C3 variants x 26 seeds (one per job on this GPU-less machine).
    assert (counts["train_logreg"], counts["train_lenet"], counts["evaluate_lenet"]) == (4, 52, 2)


# A dry run in this interpreter (Snakemake's own command line, in-process), then which heavy modules it
# imported: parsing the workflow (Snakefile, rule files, the modules common.smk imports) must not import torch.
PARSE_ONLY = """
import sys
from snakemake.cli import main
try:
    main(["-s", {snakefile!r}, "--directory", {workdir!r}, "-n", "--quiet", "--cores", "1"])
except SystemExit as exit:
    assert not exit.code, f"dry run failed: {{exit.code}}"
print("imported:", sorted(m for m in ("torch", "torchvision", "matplotlib") if m in sys.modules))
"""


def test_parsing_the_workflow_does_not_import_torch(tmp_path):
    """A dry run (on a laptop, or a SLURM login node) pays for Snakemake and the config, not for torch."""
    shutil.copyfile(REPO / "config.yaml", tmp_path / "config.yaml")
    code = PARSE_ONLY.format(snakefile=str(REPO / "Snakefile"), workdir=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "imported: []" in result.stdout, result.stdout


def dry_run_without(tmp_path: Path, section: str) -> tuple[dict[str, int], dict[str, int]]:
    """A dry run of the default config with ``section`` disabled: its job counts, and the counts the rules that
    then exist predict for it."""
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text().replace(f"{section}:\n  enabled: true",
                                                                 f"{section}:\n  enabled: false"))
    result = run_snakemake(tmp_path / "work", "-n", "--quiet", "rules", config=config)
    assert result.returncode == 0, result.stderr
    config_ = default_config()
    config_[section]["enabled"] = False
    return job_counts(result.stdout), expected_jobs(workflow_rules(tmp_path / "work", config=config), config_)


def test_dry_run_without_the_sweep_drops_its_jobs(tmp_path):
    counts, expected = dry_run_without(tmp_path, "pair_sweep")
    assert "train_logreg_sweep" not in counts and "figure_pair_difficulty" not in counts
    assert counts["train_scale_grid"] == 10  # the other optional part stays
    # Without the sweep, its rules do not exist.
    assert counts == expected


@pytest.mark.slow  # a dry run of several seconds
def test_dry_run_without_the_scale_grid_drops_its_jobs(tmp_path):
    counts, expected = dry_run_without(tmp_path, "scale_grid")
    assert not {"train_scale_grid", "scale_grid", "figure_scale_grid"} & set(counts)
    assert counts["train_logreg_sweep"] == 1 and counts["aggregate"] == 1  # aggregate runs without the grid's table
    assert counts == expected


@pytest.mark.slow  # a dry run or a study run of several seconds
def test_lenet_power_config_runs_ten_or_more_seeds_per_variant(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", str(REPO / "configs" / "lenet_power.yaml"))
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["train_lenet"] == 2 * 89
    config = default_config()
    update_config(config, yaml.safe_load((REPO / "configs" / "lenet_power.yaml").read_text()))
    assert counts == expected_jobs(workflow_rules(tmp_path), config)  # the rest of the study is unchanged


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


@pytest.mark.slow  # a dry run of several seconds
def test_seeds_per_job_groups_the_training_jobs(tmp_path):
    """Four seeds in groups of three: two training jobs per C3 variant, every run still collected on its own."""
    config = default_config()
    config["lenet"].update(seeds=[0, 1, 2, 5], seeds_per_job=3)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path / "work", "-n", "--quiet", "rules", config=tmp_path / "cfg.yaml")
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert (counts["train_lenet"], counts["collect_lenet_run"]) == (2 * 2, 2 * 4)
    listing = run_snakemake(tmp_path / "work", "-n", config=tmp_path / "cfg.yaml")
    for group in ("group_0-2", "group_5"):
        assert re.search(rf"results/lenet/\S+_grouped/sparse/{group}\b", listing.stdout), group


def readme_slurm_command() -> list[str]:
    """The arguments of the README's command that submits the study to SLURM (section "SLURM cluster with GPU
    nodes"), the profile's path made absolute."""
    section = (REPO / "README.md").read_text().split("### SLURM cluster with GPU nodes", 1)[1]
    command = re.search(r"^\.venv/bin/snakemake (--workflow-profile workflow/profiles/slurm)\s*$", section, re.M)
    assert command, "the README's SLURM section lost its submit command"
    return [word.replace("workflow/profiles/slurm", str(REPO / "workflow/profiles/slurm"))
            for word in command.group(1).split()]


def test_the_readme_slurm_command_groups_seeds_on_the_gpu_nodes(tmp_path):
    """The login node has no GPU, but the profile sends training to GPU nodes: `seeds_per_job: auto` groups there
    as on a local GPU (10 seeds a job), so 26 seeds per C3 kind make 3 jobs each, and every run is still collected."""
    result = run_snakemake(tmp_path, *readme_slurm_command(), "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    seeds = seed_list(default_config()["lenet"]["seeds"])
    assert counts["train_lenet"] == 2 * len(seed_groups(seeds, 10)) == 6
    assert counts["collect_lenet_run"] == 2 * len(seeds)
    listing = run_snakemake(tmp_path, *readme_slurm_command(), "-n")
    assert re.search(r"results/lenet/\S+_grouped/sparse/group_53-58\b", listing.stdout), listing.stdout[-2000:]


@pytest.mark.parametrize("device, resources, probe, on_gpu", [
    ("cpu", {"gpu": 1}, True, False),  # the config's device wins
    ("cuda", {}, False, True),
    ("auto", {"gpu": 1, "slurm_partition": "gpu"}, False, True),  # the SLURM profile's set-resources
    ("auto", {"gres": "gpu:a100:1"}, False, True),
    ("auto", {"gpus": "a100:2"}, False, True),
    ("auto", {"gpu": 0, "mem_mb": 8000}, False, False),
    ("auto", None, False, False),  # a job on a cluster node: its node's GPU is not looked at
])
def test_where_training_runs_is_decided_from_the_config_and_the_profile(device, resources, probe, on_gpu):
    from mnistrepro.study.device import training_on_gpu

    assert training_on_gpu(device, resources, probe=probe) is on_gpu
