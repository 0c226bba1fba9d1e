"""Choosing the torch device for a training job (torch is imported lazily: the Snakefile uses this)."""

from __future__ import annotations

import glob
import os


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
        raise RuntimeError(
            "device: 'cuda' was requested but torch sees no GPU "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
        )
    return torch.device("cpu")


def _check(requested: str) -> None:
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {requested!r}")


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


def describe_device(device: "torch.device") -> str:
    """A human-readable device name, e.g. ``cuda:0 (NVIDIA H100)`` or ``cpu``."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return "cpu"
