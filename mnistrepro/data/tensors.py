"""MNIST as tensors: the four IDX files parsed once (``mnist.pt``), and the digit-pair subsets of the
binary problem. Getting verified IDX files in the first place is :mod:`mnistrepro.data.acquisition`'s job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from mnistrepro.data.mnist_files import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from mnistrepro.study.io import save_torch


def read_idx_dir(idx_dir: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Parse the four IDX files into ``{train,test}_{images,labels}`` tensors.

    Returns images as uint8 ``[N, 28, 28]`` and labels as int64 ``[N]``.
    """
    d = Path(idx_dir)
    return {
        "train_images": read_image_file(str(d / TRAIN_IMAGES.name)),
        "train_labels": read_label_file(str(d / TRAIN_LABELS.name)),
        "test_images": read_image_file(str(d / TEST_IMAGES.name)),
        "test_labels": read_label_file(str(d / TEST_LABELS.name)),
    }


def save_mnist(mnist: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    save_torch({k: v.contiguous() for k, v in mnist.items()}, path)


def load_mnist(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load the tensors written by :func:`save_mnist` (see :func:`read_idx_dir` for their shapes)."""
    return torch.load(path, weights_only=True)


def extract_pair(mnist: dict[str, torch.Tensor], digits: Sequence[int]) -> dict:
    """The two-digit binary problem: digit ``digits[0]`` -> label -1, ``digits[1]`` -> +1.

    Returns ``{"digits", "train_images" uint8 [N, 28, 28], "train_labels" int64 [N] in {-1, +1},
    "train_index" int64 [N] (rows of the full split), "test_images", "test_labels", "test_index"}``,
    rows in their original order.
    """
    neg, pos = (int(d) for d in digits)
    if neg == pos or not (0 <= neg <= 9 and 0 <= pos <= 9):
        raise ValueError(f"pair: expected two different digits in 0-9, got {list(digits)}")
    pair: dict = {"digits": (neg, pos)}
    for split in ("train", "test"):
        labels = mnist[f"{split}_labels"]
        index = torch.nonzero((labels == neg) | (labels == pos)).squeeze(1)
        pair[f"{split}_images"] = mnist[f"{split}_images"][index].contiguous()
        pair[f"{split}_labels"] = torch.where(labels[index] == pos, 1, -1).to(torch.int64)
        pair[f"{split}_index"] = index
    return pair


def pair_counts(pair: dict) -> dict[str, int]:
    """Images per split and class, e.g. ``{"train": 11791, "train_-1": 5842, ...}``."""
    counts = {}
    for split in ("train", "test"):
        labels = pair[f"{split}_labels"]
        counts[split] = int(labels.numel())
        counts[f"{split}_-1"] = int((labels == -1).sum())
        counts[f"{split}_+1"] = int((labels == 1).sum())
    return counts


def save_pair(pair: dict, path: str | os.PathLike) -> None:
    save_torch(pair, path)


def load_pair(path: str | os.PathLike) -> dict:
    """Load a subset written by :func:`save_pair` (see :func:`extract_pair` for its layout)."""
    return torch.load(path, weights_only=True)
