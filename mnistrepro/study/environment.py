"""Where the study ran: the submitting host's software (Environment table) and each training job's
hardware (recorded by the job itself, aggregated into the Hardware table).

Neither resolves the training device on the submitting host: on a cluster that host (a login node)
usually has no GPU, and it is not where training runs.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Iterable, Mapping

import pandas as pd
import torch

from mnistrepro.study.device import describe_device
from mnistrepro.study.records import HardwareRecord

PACKAGES = ("torch", "torchvision", "snakemake", "snakemake-executor-plugin-slurm", "pandas", "seaborn", "scipy")
# The columns of the Hardware table, in order: the keys of a job's hardware record.
HARDWARE_FIELDS = tuple(HardwareRecord.__annotations__)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where it exists, else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nvidia_driver_version() -> str | None:
    """The NVIDIA kernel driver's version (e.g. ``550.54.15``), or ``None`` where there is none."""
    try:
        with open("/proc/driver/nvidia/version") as f:
            match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", f.read())
    except OSError:
        return None
    return match.group(1) if match else None


def environment_table(config_device: str) -> pd.DataFrame:
    """The submitting host's software stack, one row per fact: ``item``, ``value``.

    ``config_device`` is only recorded: the hardware each job trained on is in its own record.
    """
    rows = [("submitting host", socket.gethostname()), ("Python", platform.python_version())]
    for name in PACKAGES:
        try:
            rows.append((name, version(name)))
        except PackageNotFoundError:
            rows.append((name, "not installed"))
    rows += [
        ("config device", config_device),
        ("torch CUDA build", torch.version.cuda or "none"),
        ("CPU", cpu_name()),
        ("CPU cores", str(os.cpu_count())),
        ("platform", platform.platform()),
        ("Python executable", sys.executable),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def job_hardware(device: torch.device) -> HardwareRecord:
    """What a training job ran on (:class:`mnistrepro.study.records.HardwareRecord`): host, SLURM job, device, and on
    a GPU its model and CUDA stack."""
    hardware: HardwareRecord = {
        "host": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": describe_device(device),
        "gpu_model": None,
        "cuda": None,
        "cudnn": None,
        "driver": None,
        "cpu": cpu_name(),
        # The instruction set torch's CPU kernels use (config cpu_kernels, mnistrepro.study.cpu_kernels).
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        hardware.update(
            gpu_model=torch.cuda.get_device_name(index),
            cuda=torch.version.cuda,
            cudnn=str(torch.backends.cudnn.version()),
            driver=nvidia_driver_version(),
        )
    return hardware


def hardware_table(records_by_experiment: Mapping[str, Iterable[Mapping[str, Any]]]) -> pd.DataFrame:
    """Where the runs trained: one row per (experiment, hardware) combination, with the number of
    ``runs`` and the SLURM job ids (``slurm_jobs``, '-' outside SLURM). A record without
    ``hardware`` (written before jobs recorded it) counts under '-'."""
    columns = ["experiment", *HARDWARE_FIELDS]
    rows = [
        {"experiment": experiment, **{k: (record.get("hardware") or {}).get(k) for k in HARDWARE_FIELDS}}
        for experiment, records in records_by_experiment.items()
        for record in records
    ]
    if not rows:
        return pd.DataFrame(columns=[*columns[:1], *columns[2:], "runs", "slurm_jobs"])
    frame = pd.DataFrame(rows, columns=columns).fillna("-").astype(str)
    keys = [c for c in columns if c != "slurm_job_id"]
    table = frame.groupby(keys, sort=False).agg(
        runs=("host", "size"),
        slurm_jobs=("slurm_job_id", lambda ids: ",".join(sorted(set(ids), key=lambda i: (len(i), i)))),
    )
    return table.reset_index()
