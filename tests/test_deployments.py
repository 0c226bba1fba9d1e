"""Deployments off the default path, run through the real workflow on real MNIST:

- ``device: cuda`` on a machine without a GPU, with ``--keep-going``: only the training jobs fail,
  and their logs say why and what to do;
- an IDX file corrupted after acquisition: the next run fails before any training, naming the file,
  and following the log's advice (delete it, rerun) recovers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml

from conftest import REPO, lenet_run, lenet_run_log, run_snakemake, study_root
from mnistrepro.data.mnist_files import TRAIN_LABELS
from mnistrepro.study.choices import C3_KINDS

# Whole workflow runs (or a cluster, a browser): the slow tier.
pytestmark = pytest.mark.slow


def small_config(idx_dir: Path, **overrides) -> dict:
    """The CI config cut down to one run per variant (no sweep), reading MNIST from ``idx_dir``."""
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    config["data"] = {"sources": ["local"], "local_dir": str(idx_dir), "timeout_s": 5}
    config["logreg"].update(losses=["ce"], scalings=["raw"], seeds=[0])
    config["pair_sweep"]["enabled"] = False
    config["lenet"].update(c3=list(C3_KINDS), seeds=[0], epochs=1, train_limit=500, test_limit=200)
    config["identities"].update(n_images=50)
    config.update(overrides)
    return config


def write_config(workdir: Path, config: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "test-config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def failed_rules(output: str) -> set[str]:
    return set(re.findall(r"Error in rule (\w+):", output))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where torch sees no GPU")
def test_device_cuda_without_gpu_fails_only_the_training_jobs(mnist_idx_dir, tmp_path):
    config = small_config(mnist_idx_dir, device="cuda")
    result = run_snakemake(tmp_path, "--cores", "2", "--keep-going", config=write_config(tmp_path, config))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert failed_rules(output) == {"train_lenet"}, output[-4000:]
    # Every job that does not need the LeNet runs succeeded, the submit-host ones included.
    for table in ("environment.csv", "data.csv", "identities.csv", "params.csv"):
        assert (study_root(tmp_path, config) / "tables" / table).is_file(), table
    assert list((study_root(tmp_path, config) / "logreg/main/ce_raw").glob("seed*.json"))
    environment = (study_root(tmp_path, config) / "tables/environment.csv").read_text()
    assert "config device,cuda" in environment
    for c3 in config["lenet"]["c3"]:
        log = lenet_run_log(tmp_path, config, c3, 0).read_text()
        assert "failed with DeviceUnavailableError: device: 'cuda' was requested but torch sees no GPU" in log, log
        assert "Traceback (most recent call last)" in log
        assert "What to do: Set `device: auto`" in log
        assert not lenet_run(tmp_path, config, c3, 0).exists() or not any(lenet_run(tmp_path, config, c3, 0).iterdir())
    # Snakemake's console points to those logs.
    assert str(lenet_run_log(tmp_path, config, "sparse", 0).relative_to(tmp_path)) in output


def test_corrupted_idx_file_fails_before_training_and_rerun_recovers(mnist_idx_dir, tmp_path):
    config = small_config(mnist_idx_dir)
    config_path = write_config(tmp_path, config)
    lenet_target = str(lenet_run(tmp_path, config, "sparse", 0, "model.pt").relative_to(tmp_path))
    first = run_snakemake(tmp_path, "--cores", "2", "results/data/mnist.pt", config=config_path)
    assert first.returncode == 0, first.stderr[-3000:]

    relative = f"results/data/idx/{TRAIN_LABELS.name}"
    corrupted = tmp_path / relative
    data = bytearray(corrupted.read_bytes())
    data[1000] ^= 0x01  # one label changes: the file still parses
    corrupted.write_bytes(bytes(data))

    second = run_snakemake(tmp_path, "--cores", "2", lenet_target, config=config_path)
    output = second.stdout + second.stderr
    assert second.returncode != 0
    assert failed_rules(output) == {"idx_to_tensors"}, output[-4000:]
    log = (tmp_path / "results/logs/data/idx_to_tensors.log").read_text()
    assert f"{relative} changed after it was acquired" in log, log
    assert f"What to do: Delete {relative} and rerun" in log, log
    assert not (tmp_path / "results/data/mnist.pt").exists()
    assert not lenet_run_log(tmp_path, config, "sparse", 0).exists(), "training started on corrupted data"

    # Doing what the log says recovers: the download rule acquires and verifies the file again.
    corrupted.unlink()
    third = run_snakemake(tmp_path, "--cores", "2", "results/data/mnist.pt", config=config_path)
    assert third.returncode == 0, third.stderr[-3000:]
    assert corrupted.read_bytes() == (mnist_idx_dir / TRAIN_LABELS.name).read_bytes()
