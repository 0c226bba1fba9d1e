"""Choosing the torch device for a training job."""

from __future__ import annotations

import os

import torch


def resolve_device(requested: str) -> torch.device:
    """Map the config's ``device`` (``auto``, ``cpu`` or ``cuda``) to a torch device.

    ``auto`` takes CUDA when torch sees a GPU (under SLURM, the one in ``CUDA_VISIBLE_DEVICES``),
    else the CPU. ``cuda`` without a visible GPU is an error rather than a silent CPU run.
    """
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {requested!r}")
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


def describe_device(device: torch.device) -> str:
    """A human-readable device name, e.g. ``cuda:0 (NVIDIA H100)`` or ``cpu``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return "cpu"
