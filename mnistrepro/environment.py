"""The software and hardware a study ran on, for the report's Environment table."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import pandas as pd
import torch

from mnistrepro.device import describe_device, resolve_device

PACKAGES = ("torch", "torchvision", "snakemake", "snakemake-executor-plugin-slurm", "pandas", "seaborn", "scipy")


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


def environment_table(requested_device: str) -> pd.DataFrame:
    """One row per fact: ``item``, ``value``."""
    rows = [("Python", platform.python_version())]
    for name in PACKAGES:
        try:
            rows.append((name, version(name)))
        except PackageNotFoundError:
            rows.append((name, "not installed"))
    device = resolve_device(requested_device)
    rows += [
        ("config device", requested_device),
        ("training device", describe_device(device)),
        ("CUDA build", torch.version.cuda or "none"),
        ("CPU", cpu_name()),
        ("CPU cores", str(os.cpu_count())),
        ("torch CPU threads", str(torch.get_num_threads())),
        ("platform", platform.platform()),
        ("Python executable", sys.executable),
    ]
    if torch.cuda.is_available():
        rows += [(f"GPU {i}", torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())]
    return pd.DataFrame(rows, columns=["item", "value"])
