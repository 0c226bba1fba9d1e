"""Figures for experiment C: what the convolution operators of :mod:`mnistrepro.identities` do.

The figures are built on :class:`matplotlib.figure.Figure` objects (no pyplot state, rendered
with the Agg canvas), with seaborn's style applied only inside each function.
"""

from __future__ import annotations

import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure

from mnistrepro import identities as ident


def _show(fig: Figure, ax, img: np.ndarray, title: str, *, cmap: str, vmin: float, vmax: float, cbar: bool = True) -> None:
    im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    if cbar:
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


def plot_mnist_identities(image: torch.Tensor, *, pool_size: int = 4, caption: str = "MNIST test image") -> Figure:
    """One MNIST digit, its two finite-difference maps and its ``pool_size`` average-pooled version.

    ``image``: ``uint8 [28, 28]`` (any ``[H, W]`` with ``H, W >= pool_size`` works). Every map is
    computed by the convolution of :mod:`mnistrepro.identities` (float64, pixels / 255) and shown
    on its valid region: Y1 ``[H-1, W]``, Y2 ``[H, W-1]``, pooled ``[H // k, W // k]``.
    """
    x = image.to(torch.float64).reshape(1, 1, *image.shape[-2:]) / 255.0
    h, w = x.shape[-2:]
    with torch.no_grad():
        d = ident.finite_difference_conv()(x)[0]
        pooled = ident.avg_pool_conv(1, pool_size)(x)[0, 0]
    y1 = d[0, : h - 1, :].numpy()
    y2 = d[1, :, : w - 1].numpy()
    with sns.axes_style("white"), sns.plotting_context("notebook", font_scale=1.0):
        fig = Figure(figsize=(17, 4.6), layout="constrained")
        axes = fig.subplots(1, 4)
        _show(fig, axes[0], x[0, 0].numpy(), f"{caption}\nX (pixels / 255)", cmap="gray_r", vmin=0, vmax=1)
        _show(fig, axes[1], y1, "Y1[i,j] = X[i+1,j] − X[i,j]\n(conv channel 0: row differences)", cmap="RdBu_r", vmin=-1, vmax=1)
        _show(fig, axes[2], y2, "Y2[i,j] = X[i,j+1] − X[i,j]\n(conv channel 1: column differences)", cmap="RdBu_r", vmin=-1, vmax=1)
        _show(
            fig,
            axes[3],
            pooled.numpy(),
            f"{pool_size}×{pool_size} average pool, stride {pool_size}\n(depthwise conv, {pooled.shape[0]}×{pooled.shape[1]})",
            cmap="gray_r",
            vmin=0,
            vmax=1,
        )
        fig.suptitle("Finite differences and average pooling computed as convolutions", fontsize="x-large")
    return fig


def plot_rgb_identities(rgb: np.ndarray | torch.Tensor, *, name: str = "RGB photo") -> Figure:
    """An RGB photo (``uint8 [H, W, 3]``) and its grayscale version from the 1x1 convolution."""
    x = ident.rgb_hwc_to_nchw(rgb)
    with torch.no_grad():
        gray = ident.grayscale_conv()(x)[0, 0].numpy()
    err = ident.check_grayscale(x)
    with sns.axes_style("white"), sns.plotting_context("notebook", font_scale=1.0):
        fig = Figure(figsize=(11, 5.6), layout="constrained")
        axes = fig.subplots(1, 2)
        axes[0].imshow(x[0].permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[0].set_title(f"{name}: R, G, B ({x.shape[2]}×{x.shape[3]})")
        axes[0].set_xlabel("column j")
        axes[0].set_ylabel("row i")
        _show(fig, axes[1], gray, "1×1 conv, weights [0.299, 0.587, 0.114]", cmap="gray", vmin=0, vmax=1)
        fig.suptitle(
            f"RGB to grayscale as a 1×1 convolution (max |conv − formula| = {err.max_abs_error:.1e})",
            fontsize="x-large",
        )
    return fig
