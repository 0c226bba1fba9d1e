"""Studies keep to themselves: one configuration never overwrites or reruns another's files; the MNIST
files and identical LeNet-5 runs are shared; a run ends by saying what it found, or what failed."""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from conftest import REPO, job_counts, lenet_run, lenet_run_log, run_snakemake
from mnistrepro.study.config import ConfigError, check_config, seed_list
from mnistrepro.study.studies import RESERVED_STUDY_NAMES, lenet_run_key, study_dir


def small_config(idx_dir: Path, study: str, **sections) -> dict:
    """The CI config cut down to a minute's work on 2 cores, as study ``study``, reading MNIST from ``idx_dir``."""
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    config["study"] = study
    config["data"] = {"sources": ["local"], "local_dir": str(idx_dir), "timeout_s": 5}
    config["logreg"].update(seeds=2, steps=200, eval_steps=[100, 200])
    config["pair_sweep"].update(pairs=[[4, 9], [0, 1]], seeds=1, steps=100)
    config["lenet"].update(seeds=[0], epochs=1, train_limit=1000, test_limit=500)
    config["identities"].update(n_images=50, pool_sizes=[2], mlp_depths=[2])
    update_config(config, copy.deepcopy(sections))
    return config


def write_config(workdir: Path, name: str, config: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / name
    path.write_text(yaml.safe_dump(config))
    return path


# --------------------------------------------------------------------------- the names and keys


def test_default_study_keeps_results_and_others_get_their_own_directory():
    assert study_dir("default") == "results"
    assert study_dir("ci") == "results/ci"


@pytest.mark.parametrize("name", sorted(RESERVED_STUDY_NAMES))
def test_a_study_may_not_take_a_shared_directory(name):
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    config["study"] = name
    with pytest.raises(ConfigError, match="study: "):
        check_config(config)


LENET = {"c3": ["sparse", "full"], "seeds": [0, 1, 2], "epochs": 10, "batch_size": 100, "lr": 0.1, "threads": 1,
         "train_limit": None, "test_limit": None}


@pytest.mark.parametrize("key, value", [("epochs", 3), ("batch_size", 50), ("lr", 0.05), ("train_limit", 1000),
                                        ("test_limit", 1000)])
def test_every_defining_parameter_changes_the_run_key(key, value):
    assert lenet_run_key({**LENET, key: value}, "avx2") != lenet_run_key(LENET, "avx2")


def test_cpu_kernels_change_the_run_key():
    assert lenet_run_key(LENET, "native") != lenet_run_key(LENET, "avx2")


@pytest.mark.parametrize("key, value", [("seeds", [0, 1, 2, 3]), ("threads", 4), ("c3", ["full"])])
def test_what_does_not_define_a_run_keeps_its_key(key, value):
    """The seed list, the threads and the variants list do not change a run (the C3 variant and the seed
    name the directories below the key)."""
    assert lenet_run_key({**LENET, key: value}, "avx2") == lenet_run_key(LENET, "avx2")


@pytest.mark.slow  # a dry run or a study run of several seconds
def test_power_config_after_the_default_study_trains_only_the_new_seeds(tmp_path):
    """configs/lenet_power.yaml shares the default study's LeNet-5 runs: with the default study's outputs
    present (here touched into place, oldest first, as a finished run leaves them), its dry run schedules
    training only for the seeds the default study did not run."""
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    # The default study's data and training outputs, as a dry run of its train_lenet jobs names them.
    dry = run_snakemake(tmp_path, "-n", "--forceall", "--until", "collect_lenet_run")
    assert dry.returncode == 0, dry.stderr
    # A benchmark file counts as an output: a missing one would make Snakemake rerun its job.
    outputs = [p.strip() for line in re.findall(r"^\s+(?:output|benchmark): (.+)$", dry.stdout, re.M)
               for p in line.split(",")]
    default_seeds = seed_list(default["lenet"]["seeds"])
    assert len([p for p in outputs if p.endswith("model.pt")]) == 2 * len(default_seeds)
    # Oldest first, as a run leaves them: the IDX files, then the tensors, then the runs; all newer than the
    # code (Snakemake, without metadata, takes an output older than its script for changed code).
    now = time.time()
    for path in outputs:
        stage = 0 if "/idx/" in path or "download_mnist" in path or path.endswith("acquisition.json") else \
            1 if "/data/" in path else 2
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        if "/group_" in path:  # a training job's output directory (its group of seeds)
            (tmp_path / path).mkdir(exist_ok=True)
        else:
            (tmp_path / path).touch()
        os.utime(tmp_path / path, (now + stage, now + stage))
    result = run_snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", str(REPO / "configs/lenet_power.yaml"))
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    power = yaml.safe_load((REPO / "configs/lenet_power.yaml").read_text())["lenet"]["seeds"]
    shared = set(range(power)) & set(default_seeds)
    assert counts["train_lenet"] == 2 * (power - len(shared))  # 126: 178 runs, 52 shared
    assert "download_mnist" not in counts and "idx_to_tensors" not in counts


# The two-studies test (another study leaves the first's files untouched) and the end-of-run summary of a
# real run are in tests/test_pipeline.py, on the CI-sized study that module runs anyway.


@pytest.mark.slow  # a dry run or a study run of several seconds
def test_report_command_repeats_the_configfile(mnist_idx_dir, tmp_path):
    """Given with --configfile, the printed report command has it too (here on a run that only acquires MNIST)."""
    config = small_config(mnist_idx_dir, "only_data")
    write_config(tmp_path, "my.yaml", config)
    result = run_snakemake(tmp_path, "--cores", "1", "results/data/acquisition.json", "--configfile", str(tmp_path / "my.yaml"),
                           config=tmp_path / "my.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Report:  snakemake --report results/only_data/report.html --configfile my.yaml" in result.stderr
    assert "No findings yet" in result.stderr


@pytest.mark.slow
def test_a_failed_run_names_the_rule_and_its_log(mnist_idx_dir, tmp_path):
    """A training job that fails (device: cuda where torch sees no GPU, or a bad data file elsewhere):
    the run ends by naming the rule, its log and the log's last line."""
    config = small_config(mnist_idx_dir, "fails", device="cuda")
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine where torch sees no GPU")
    target = str(lenet_run(tmp_path, config, "sparse", 0, "model.pt").relative_to(tmp_path))
    result = run_snakemake(tmp_path, "--cores", "1", target, config=write_config(tmp_path, "c.yaml", config))
    assert result.returncode != 0
    summary = result.stderr[result.stderr.index("The run failed."):]
    log = lenet_run_log(tmp_path, config, "sparse", 0).relative_to(tmp_path)
    assert f"- rule train_lenet: log {log}" in summary, summary
    assert "What to do: Set `device: auto`" in summary, summary
