"""Choosing the torch device for a training job (torch is imported lazily: the Snakefile uses this)."""

from __future__ import annotations

import glob
import logging
import os
from typing import Any, Mapping

from mnistrepro.study.choices import DEVICES
from mnistrepro.study.gpu_slots import GpuSlot, claim_gpu_slot
from mnistrepro.study.logs import ConfigError, DeviceUnavailableError

log = logging.getLogger(__name__)


def resolve_device(requested: str) -> "torch.device":
    """Map the config's ``device`` (``auto``, ``cpu`` or ``cuda``) to a torch device.

    ``auto`` takes CUDA when torch sees a GPU (under SLURM, the one in ``CUDA_VISIBLE_DEVICES``),
    else the CPU. ``cuda`` without a visible GPU is an error rather than a silent CPU run.
    """
    import torch

    _check(requested)
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if requested == "cuda":
        raise DeviceUnavailableError(
            "device: 'cuda' was requested but torch sees no GPU on this machine "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
        )
    return torch.device("cpu")


def gpu_uuids() -> list[str]:
    """The UUID of every GPU torch sees, in torch's index order (``CUDA_VISIBLE_DEVICES`` applied)."""
    import torch

    return [str(torch.cuda.get_device_properties(i).uuid) for i in range(torch.cuda.device_count())]


def claim_training_device(requested: str, jobs_per_gpu: int = 1, wait_s: float = 3600.0,
                          lock_dir: str | os.PathLike | None = None) -> tuple["torch.device", GpuSlot | None]:
    """The device a training job runs on, and the GPU slot it holds (``None`` on the CPU).

    On a GPU, the job claims a free slot (see :mod:`mnistrepro.study.gpu_slots`), so that concurrent jobs
    on a machine with several GPUs spread over them, and makes that GPU the current CUDA device.
    Keep the returned slot alive for the whole job: it is released when the process exits.
    """
    import torch

    device = resolve_device(requested)
    if device.type != "cuda":
        return device, None
    slot = claim_gpu_slot(gpu_uuids(), jobs_per_gpu, lock_dir=lock_dir, wait_s=wait_s)
    device = torch.device("cuda", slot.index)
    torch.cuda.set_device(device)
    log.info("claimed GPU slot %d of GPU %d (%s, %s)", slot.slot, slot.index, torch.cuda.get_device_name(slot.index),
             slot.uuid)
    return device, slot


def _check(requested: str) -> None:
    if requested not in DEVICES:
        raise ConfigError(f"device: expected one of {', '.join(map(repr, DEVICES))}, got {requested!r}")


def will_use_gpu(requested: str) -> bool:
    """Whether a training job with this ``device`` setting will run on a GPU, decided cheaply.

    For the Snakefile, at DAG-build time: ``cpu`` no, ``cuda`` yes, ``auto`` yes when this machine
    shows a GPU. torch (seconds to import) is imported only when an NVIDIA device node or driver
    exists and ``CUDA_VISIBLE_DEVICES`` does not hide every GPU, so a CPU-only machine pays nothing.
    """
    _check(requested)
    if requested != "auto":
        return requested == "cuda"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if not (glob.glob("/dev/nvidia[0-9]*") or os.path.isdir("/proc/driver/nvidia/gpus")):
        return False
    import torch

    return torch.cuda.is_available()


def resources_request_gpu(resources: Mapping[str, Any] | None) -> bool:
    """Whether resources set on a rule from outside the workflow (a profile's ``set-resources``, or
    ``--set-resources``) ask for a GPU: ``gpu`` or ``gpus`` above 0, or a ``gres`` or ``slurm_extra`` naming one.
    Values may be Snakemake ``Resource`` objects: their ``raw`` value is what the profile wrote."""
    for name, value in (resources or {}).items():
        value = getattr(value, "raw", value)
        if value is None or callable(value):
            continue
        if name in ("gpu", "gpus"):
            text = str(value).strip()
            count = text.rpartition(":")[2]  # "2", or "a100:2"
            if text and (not count.isdigit() or int(count) > 0):
                return True
        elif name in ("gres", "slurm_extra") and "gpu" in str(value):
            return True
    return False


def training_on_gpu(requested: str, training_resources: Mapping[str, Any] | None = None, probe: bool = True) -> bool:
    """Whether LeNet-5 training jobs will run on a GPU, decided where the workflow is parsed.

    ``cpu`` no, ``cuda`` yes. ``auto``: yes when the training jobs are sent to GPUs from outside the workflow
    (``training_resources``: the profile's ``set-resources: train_lenet``, as the SLURM profile does for its GPU
    partition; the submitting host cannot see those GPUs), else, where ``probe``, when this machine shows one
    (:func:`will_use_gpu`). A job that Snakemake runs on a cluster node parses the workflow again: it passes
    ``probe=False``, so that it decides as the submitting host did whatever its node has.
    """
    _check(requested)
    if requested != "auto":
        return requested == "cuda"
    if resources_request_gpu(training_resources):
        return True
    return probe and will_use_gpu(requested)


def describe_device(device: "torch.device") -> str:
    """A human-readable device name, e.g. ``cuda:0 (NVIDIA H100)`` or ``cpu``."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return "cpu"
