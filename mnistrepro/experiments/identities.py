"""Experiment C: five facts about convolutions and backpropagation, as executable checks.

1. Finite differences are one convolution layer with two output channels.
2. Average pooling (k x k window, stride k) is a depthwise convolution with a k x k filter of 1/k^2.
3. RGB -> grayscale ``Y = 0.299 R + 0.587 G + 0.114 B`` is a 1x1 convolution.
4. A non-decreasing activation commutes with max pooling; a non-monotone one does not.
5. Hand-derived backpropagation through an MLP gives autograd's gradients.

Conventions
-----------
* Image batches are tensors ``[N, C, H, W]``: batch, channels, rows, columns.
* A 2-D image ``X`` is indexed ``X[i, j]`` with ``i`` the **row** (top to bottom, tensor dim -2) and
  ``j`` the **column** (left to right, dim -1). So ``Y1[i, j] = X[i+1, j] - X[i, j]`` is the
  difference between a pixel and the one *below* it (it lights up on horizontal edges), and
  ``Y2[i, j] = X[i, j+1] - X[i, j]`` the difference with the pixel to the *right* (vertical edges).
* ``torch.nn.Conv2d`` computes a cross-correlation, ``out[i, j] = sum_ab w[a, b] X[i+a, j+b]``
  (no kernel flip); the filters below are written for that.
* Every check converts its inputs to the ``dtype`` it is given (float64 by default: the tolerances
  below are stated for float64) on the inputs' device, and returns a :class:`CheckResult`.
  A check *holds* when ``max_abs_error <= tolerance``; the tolerance is a named relative
  constant times the scale of the values compared (their largest magnitude, at least 1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ---------------------------------------------------------------------------------------------
# Tolerances (relative to the scale of the compared values; float64, unit roundoff u = 1.1e-16).
#
# Each linear identity compares two ways of computing the same short sum. Their rounding errors
# are bounded by (number of terms) * u * scale: 4 terms for the 2x2 difference filter, 3 for the
# grayscale weights, k^2 <= 784 for a 28x28 pooling window, i.e. at most about 1e-13 * scale.
# 1e-12 leaves headroom for whatever summation order the convolution backend picks, and is still
# ten orders of magnitude below the error of any real mistake (a filter on the wrong index, a
# wrong sign, a missing 1/k^2, swapped colour weights), which on real images is of order the
# pixel values themselves.
FINITE_DIFFERENCE_RTOL = 1e-12
AVG_POOL_RTOL = 1e-12
GRAYSCALE_RTOL = 1e-12
# For a non-decreasing s, s(max(window)) is *exactly* one of the values max(s(window)) chooses
# from, so the two sides agree bit for bit when the float implementation of s is monotone; the
# allowance only covers a possible 1-ulp non-monotonicity of vectorised tanh / sigmoid. The
# non-monotone activation must produce an error far above it (on MNIST it is of order 0.1).
MAXPOOL_COMMUTE_RTOL = 1e-12
# Hand-written and autograd backprop perform the same products, but in different orders
# (matrix-product blocking, softmax vs log-softmax in the loss): the error grows like depth x
# sqrt(width) x u relative to the gradient, about 1e-14 for the networks checked here. 1e-9
# leaves room for deeper / wider networks while a real mistake (a missing activation derivative,
# a transposed weight, a forgotten 1/batch) gives a relative error of order 1.
BACKPROP_RTOL = 1e-9

# The luma weights of ITU-R BT.601, in R, G, B order.
GRAYSCALE_WEIGHTS = (0.299, 0.587, 0.114)
# The usual MNIST standardisation (mean and standard deviation of the training pixels / 255):
# it makes the background negative so that ReLU, leaky ReLU and the step are not the identity.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


@dataclass(frozen=True)
class CheckResult:
    """One comparison: ``max_abs_error`` between the two sides and the ``tolerance`` it must meet.

    ``n_values``: how many numbers were compared; ``n_exceeding``: how many of them differ by more
    than the tolerance.
    """

    identity: str
    max_abs_error: float
    tolerance: float
    n_values: int
    n_exceeding: int

    @property
    def holds(self) -> bool:
        return bool(self.max_abs_error <= self.tolerance)


def _scale(*tensors: Tensor) -> float:
    """The largest magnitude among ``tensors`` (at least 1): what relative tolerances multiply."""
    m = max((float(t.detach().abs().max()) for t in tensors if t.numel() > 0), default=0.0)
    return max(1.0, m)


def _abs_diff(a: Tensor, b: Tensor) -> tuple[float, Tensor]:
    """``(max |a - b|, |a - b|)``, NaN counted as an infinite error; 0 for empty tensors."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    diff = (a.detach() - b.detach()).abs().nan_to_num(nan=math.inf)
    return (float(diff.max()) if diff.numel() else 0.0), diff


def compare(identity: str, got: Tensor, expected: Tensor, rtol: float) -> CheckResult:
    """Compare ``got`` with ``expected`` (same shape) at tolerance ``rtol * max(1, max|values|)``."""
    tol = rtol * _scale(got, expected)
    err, diff = _abs_diff(got, expected)
    return CheckResult(identity, err, tol, int(diff.numel()), int((diff > tol).sum()))


def _frozen(conv: nn.Conv2d) -> nn.Conv2d:
    conv.weight.requires_grad_(False)
    return conv


def _as_images(x: Tensor, dtype: torch.dtype) -> Tensor:
    if x.dim() == 2:  # [H, W]
        x = x[None, None]
    elif x.dim() == 3:  # [N, H, W]
        x = x[:, None]
    if x.dim() != 4:
        raise ValueError(f"expected [H, W], [N, H, W] or [N, C, H, W], got shape {tuple(x.shape)}")
    return x.to(dtype)


# ---------------------------------------------------------------------------------------------
# 1. Finite differences


def finite_difference_conv(*, device: torch.device | str | None = None, dtype: torch.dtype = torch.float64) -> nn.Module:
    """One 2x2 convolution layer, 1 input channel -> 2 output channels, computing both differences.

    Input ``[N, 1, H, W]``; output ``[N, 2, H, W]``. The input is zero-padded by one row at the
    bottom and one column at the right before the convolution, so that

    * channel 0 (filter ``[[-1, 0], [1, 0]]``) is ``Y1[i, j] = X[i+1, j] - X[i, j]``, valid for
      ``i < H-1`` (all columns);
    * channel 1 (filter ``[[-1, 1], [0, 0]]``) is ``Y2[i, j] = X[i, j+1] - X[i, j]``, valid for
      ``j < W-1`` (all rows).

    (The last row of channel 0 and the last column of channel 1 read the zero padding and are
    not differences.) The padding lets a 1-pixel-wide image still give its vertical differences;
    without it the shared valid region is ``[H-1, W-1]``, which is empty when ``W == 1``.
    """
    conv = nn.Conv2d(1, 2, kernel_size=2, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = -1.0  # -X[i, j]
        conv.weight[0, 0, 1, 0] = 1.0  # +X[i+1, j]
        conv.weight[1, 0, 0, 0] = -1.0  # -X[i, j]
        conv.weight[1, 0, 0, 1] = 1.0  # +X[i, j+1]
    return nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), _frozen(conv))  # (left, right, top, bottom)


def finite_differences_direct(x: Tensor) -> tuple[Tensor, Tensor]:
    """The direct formulas on ``x`` of shape ``[..., H, W]``.

    Returns ``Y1 = X[1:, :] - X[:-1, :]`` of shape ``[..., H-1, W]`` (row differences) and
    ``Y2 = X[:, 1:] - X[:, :-1]`` of shape ``[..., H, W-1]`` (column differences).
    """
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def check_finite_differences(x: Tensor, *, dtype: torch.dtype = torch.float64) -> tuple[CheckResult, CheckResult]:
    """Compare :func:`finite_difference_conv` with :func:`finite_differences_direct`.

    ``x``: ``[H, W]``, ``[N, H, W]`` or ``[N, 1, H, W]``. Each channel is compared on its own
    valid region. Returns the results for Y1 (rows) and Y2 (columns).
    """
    x = _as_images(x, dtype)
    if x.shape[1] != 1:
        raise ValueError(f"finite differences take one channel, got {x.shape[1]}")
    with torch.no_grad():
        y = finite_difference_conv(device=x.device, dtype=dtype)(x)
    h, w = x.shape[-2:]
    dy, dx = finite_differences_direct(x[:, 0])
    return (
        compare("finite difference Y1[i,j] = X[i+1,j] - X[i,j]", y[:, 0, : h - 1, :], dy, FINITE_DIFFERENCE_RTOL),
        compare("finite difference Y2[i,j] = X[i,j+1] - X[i,j]", y[:, 1, :, : w - 1], dx, FINITE_DIFFERENCE_RTOL),
    )


# ---------------------------------------------------------------------------------------------
# 2. Average pooling


def avg_pool_conv(channels: int, k: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float64) -> nn.Conv2d:
    """Average pooling as a depthwise convolution: ``[N, C, H, W] -> [N, C, H // k, W // k]``.

    ``groups=C`` so that each channel is averaged on its own; each filter is ``k x k`` of
    ``1 / k^2``; stride ``k``; no padding (the last ``H % k`` rows / ``W % k`` columns are dropped,
    as ``nn.AvgPool2d(k)`` drops them).
    """
    conv = nn.Conv2d(channels, channels, kernel_size=k, stride=k, groups=channels, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        conv.weight.fill_(1.0 / (k * k))
    return _frozen(conv)


def avg_pool_direct(x: Tensor, k: int) -> Tensor:
    """The mean of each non-overlapping ``k x k`` window: ``[..., H, W] -> [..., H // k, W // k]``."""
    h, w = x.shape[-2] // k, x.shape[-1] // k
    x = x[..., : h * k, : w * k]
    return x.reshape(*x.shape[:-2], h, k, w, k).mean(dim=(-3, -1))


def check_avg_pool(x: Tensor, k: int, *, dtype: torch.dtype = torch.float64) -> tuple[CheckResult, CheckResult]:
    """Compare :func:`avg_pool_conv` with ``nn.AvgPool2d(k)`` and with :func:`avg_pool_direct`.

    ``x``: ``[H, W]``, ``[N, H, W]`` or ``[N, C, H, W]`` with ``H, W >= k``.
    """
    x = _as_images(x, dtype)
    if not 1 <= k <= min(x.shape[-2:]):
        raise ValueError(f"pool size {k} does not fit images of size {tuple(x.shape[-2:])}")
    with torch.no_grad():
        y = avg_pool_conv(x.shape[1], k, device=x.device, dtype=dtype)(x)
        pooled = nn.AvgPool2d(k)(x)
    name = f"average pool {k}x{k} stride {k} = depthwise conv with 1/{k * k}"
    return (
        compare(f"{name} (vs nn.AvgPool2d)", y, pooled, AVG_POOL_RTOL),
        compare(f"{name} (vs window mean)", y, avg_pool_direct(x, k), AVG_POOL_RTOL),
    )


# ---------------------------------------------------------------------------------------------
# 3. RGB -> grayscale


def grayscale_conv(*, device: torch.device | str | None = None, dtype: torch.dtype = torch.float64) -> nn.Conv2d:
    """A 1x1 convolution ``[N, 3, H, W] -> [N, 1, H, W]`` with weights ``[0.299, 0.587, 0.114]``."""
    conv = nn.Conv2d(3, 1, kernel_size=1, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(GRAYSCALE_WEIGHTS, dtype=dtype).reshape(1, 3, 1, 1))
    return _frozen(conv)


def grayscale_direct(rgb: Tensor) -> Tensor:
    """``0.299 R + 0.587 G + 0.114 B`` for ``rgb`` of shape ``[N, 3, H, W]``; returns ``[N, 1, H, W]``."""
    r, g, b = GRAYSCALE_WEIGHTS
    return (r * rgb[:, 0] + g * rgb[:, 1] + b * rgb[:, 2])[:, None]


def check_grayscale(rgb: Tensor, *, dtype: torch.dtype = torch.float64) -> CheckResult:
    """Compare :func:`grayscale_conv` with :func:`grayscale_direct` on ``rgb`` ``[N, 3, H, W]``."""
    rgb = rgb.to(dtype)
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected [N, 3, H, W], got {tuple(rgb.shape)}")
    with torch.no_grad():
        y = grayscale_conv(device=rgb.device, dtype=dtype)(rgb)
    return compare("grayscale 0.299R + 0.587G + 0.114B = 1x1 conv", y, grayscale_direct(rgb), GRAYSCALE_RTOL)


def rgb_hwc_to_nchw(rgb: Tensor | np.ndarray, dtype: torch.dtype = torch.float64) -> Tensor:
    """A ``uint8 [H, W, 3]`` photo (``[H, W, 4]``: alpha dropped) -> ``[1, 3, H, W]`` in [0, 1].

    A floating-point photo is taken to be in [0, 1] already.
    """
    t = torch.tensor(np.asarray(rgb)) if isinstance(rgb, np.ndarray) else rgb
    if t.dim() != 3 or t.shape[2] not in (3, 4):
        raise ValueError(f"expected an [H, W, 3] image, got {tuple(t.shape)}")
    scale = 1.0 if torch.is_floating_point(t) else 255.0
    return t[..., :3].permute(2, 0, 1)[None].to(dtype) / scale


def load_sample_rgb(name: str = "grace_hopper.jpg") -> tuple[np.ndarray, Path]:
    """A real RGB photo shipped with matplotlib's sample data: ``uint8 [H, W, 3]`` and its path."""
    import matplotlib.cbook
    import matplotlib.image

    path = Path(matplotlib.cbook.get_sample_data(name, asfileobj=False))
    img = np.asarray(matplotlib.image.imread(path))
    if img.dtype != np.uint8:  # PNGs come back as float in [0, 1]
        img = np.rint(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)
    if img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f"{path} is not an RGB image (shape {img.shape})")
    return img[..., :3], path


# ---------------------------------------------------------------------------------------------
# 4. Max pooling and activations


def step(x: Tensor) -> Tensor:
    """The Heaviside step, 1 where ``x > 0`` and 0 elsewhere (non-decreasing, not continuous)."""
    return (x > 0).to(x.dtype)


def leaky_relu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, negative_slope=0.01)


def square(x: Tensor) -> Tensor:
    """``x^2``: decreasing for ``x < 0``, increasing for ``x > 0``, so not monotone."""
    return x * x


MONOTONE_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "step": step,
    "leaky_relu": leaky_relu,
}
# On standardised MNIST a window of background (-0.42) around a faint stroke pixel (|x| < 0.42)
# has its maximum at the stroke pixel, but its largest square at the background.
NON_MONOTONE_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"square": square}


def check_maxpool_commutes(
    x: Tensor, activation: Callable[[Tensor], Tensor], k: int, *, name: str = "", dtype: torch.dtype = torch.float64
) -> CheckResult:
    """Compare ``s(maxpool_k(X))`` with ``maxpool_k(s(X))`` (``k x k`` windows, stride ``k``).

    ``x``: ``[H, W]``, ``[N, H, W]`` or ``[N, C, H, W]`` with ``H, W >= k``.
    """
    x = _as_images(x, dtype)
    pool = nn.MaxPool2d(k)
    with torch.no_grad():
        left = activation(pool(x))
        right = pool(activation(x))
    label = f"{name or getattr(activation, '__name__', 's')}(maxpool {k}x{k}) = maxpool {k}x{k}({name or 's'})"
    return compare(label, left, right, MAXPOOL_COMMUTE_RTOL)


# ---------------------------------------------------------------------------------------------
# 5. Backpropagation for an MLP

MLPParams = list[tuple[Tensor, Tensor]]

_ACT: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]] = {
    # name: (s(z), s'(z) given z and s(z)). ReLU'(0) is taken as 0, as autograd does.
    "tanh": (torch.tanh, lambda z, a: 1.0 - a * a),
    "relu": (torch.relu, lambda z, a: (z > 0).to(z.dtype)),
}
MLP_ACTIVATIONS = tuple(_ACT)


def init_mlp(
    sizes: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> MLPParams:
    """Random MLP parameters for layer widths ``sizes = [d_0, d_1, ..., d_L]`` (``L >= 1`` layers).

    Layer ``l`` has ``W_l [d_l, d_{l-1}]`` and ``b_l [d_l]``, drawn uniformly from
    ``+-1/sqrt(d_{l-1})`` (``nn.Linear``'s default) on the CPU with ``generator``, then moved.
    """
    if len(sizes) < 2:
        raise ValueError("an MLP needs at least an input and an output width")
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(d_in)
        w = (torch.rand(d_out, d_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        b = (torch.rand(d_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        params.append((w.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)))
    return params


def mlp_forward(params: MLPParams, x: Tensor, activation: str) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """Forward pass. ``x [B, d_0]`` -> logits ``[B, d_L]``.

    ``z_l = a_{l-1} W_l^T + b_l``, ``a_0 = x``, ``a_l = s(z_l)`` for hidden layers, the last layer
    linear. Returns the logits, the pre-activations ``[z_1 .. z_L]`` and the layer inputs
    ``[a_0 .. a_{L-1}]``.
    """
    s, _ = _ACT[activation]
    a, zs, inputs = x, [], []
    for l, (w, b) in enumerate(params):
        inputs.append(a)
        z = a @ w.T + b
        zs.append(z)
        a = s(z) if l < len(params) - 1 else z
    return a, zs, inputs


def mlp_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of ``logits [B, K]`` against integer ``labels [B]``."""
    return F.cross_entropy(logits, labels)


def mlp_backprop(params: MLPParams, x: Tensor, labels: Tensor, activation: str) -> tuple[Tensor, MLPParams]:
    """Hand-derived gradients of :func:`mlp_loss` with respect to every ``W_l`` and ``b_l``.

    With ``p = softmax(z_L)`` and ``Y`` the one-hot labels, ``delta_L = (p - Y) / B``; then for
    ``l = L .. 1``: ``dW_l = delta_l^T a_{l-1}``, ``db_l = sum_rows(delta_l)`` and
    ``delta_{l-1} = (delta_l W_l) * s'(z_{l-1})``. Returns the loss and ``[(dW_l, db_l)]``
    (same shapes as ``params``).
    """
    _, ds = _ACT[activation]
    logits, zs, inputs = mlp_forward(params, x, activation)
    batch = x.shape[0]
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    loss = -log_p.gather(1, labels[:, None]).mean()
    delta = log_p.exp()
    delta[torch.arange(batch, device=x.device), labels] -= 1.0
    delta = delta / batch
    grads: MLPParams = [None] * len(params)  # type: ignore[list-item]
    for l in range(len(params) - 1, -1, -1):
        w, _ = params[l]
        grads[l] = (delta.T @ inputs[l], delta.sum(dim=0))
        if l > 0:
            z = zs[l - 1]
            delta = (delta @ w) * ds(z, inputs[l])  # inputs[l] = s(z_{l-1})
    return loss, grads


def mlp_autograd(params: MLPParams, x: Tensor, labels: Tensor, activation: str) -> tuple[Tensor, MLPParams]:
    """The same loss and gradients from ``torch.autograd`` (on detached copies of ``params``)."""
    leaves = [(w.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)) for w, b in params]
    logits, _, _ = mlp_forward(leaves, x, activation)
    loss = mlp_loss(logits, labels)
    flat = [t for pair in leaves for t in pair]
    g = torch.autograd.grad(loss, flat)
    return loss.detach(), [(g[2 * i], g[2 * i + 1]) for i in range(len(params))]


def check_backprop(
    params: MLPParams, x: Tensor, labels: Tensor, activation: str, *, dtype: torch.dtype = torch.float64
) -> CheckResult:
    """Compare :func:`mlp_backprop` with :func:`mlp_autograd`: the loss, every weight and bias.

    ``params`` as from :func:`init_mlp`; ``x [B, d_0]``; ``labels`` int64 ``[B]`` in ``[0, d_L)``.
    Each gradient tensor is judged on its own scale, ``BACKPROP_RTOL * max|gradient|`` (the early
    layers' gradients can be far smaller than the last layer's; a gradient that is exactly zero,
    e.g. behind dead ReLUs, must be matched exactly), the loss on ``BACKPROP_RTOL * max(1, |loss|)``.
    The result reports the tensor with the largest error / tolerance ratio (its error and its
    tolerance), so it holds exactly when every tensor does; ``n_exceeding`` counts the entries
    over their tensor's tolerance.
    """
    params = [(w.to(dtype), b.to(dtype)) for w, b in params]
    x = x.to(dtype)
    loss_hand, hand = mlp_backprop(params, x, labels, activation)
    loss_auto, auto = mlp_autograd(params, x, labels, activation)
    pairs = [(loss_hand, loss_auto)] + [p for gh, ga in zip(hand, auto) for p in zip(gh, ga)]
    worst, worst_ratio, n, n_bad = (0.0, 0.0), -1.0, 0, 0
    for i, (gh, ga) in enumerate(pairs):
        if i == 0:
            tol = BACKPROP_RTOL * max(1.0, abs(float(ga)))
        else:
            tol = BACKPROP_RTOL * max(float(ga.abs().max()), float(gh.abs().max()))
        err, diff = _abs_diff(gh, ga)
        ratio = err / tol if tol > 0 else (0.0 if err == 0 else math.inf)
        if ratio > worst_ratio:
            worst, worst_ratio = (err, tol), ratio
        n += diff.numel()
        n_bad += int((diff > tol).sum())
    sizes = [params[0][0].shape[1]] + [w.shape[0] for w, _ in params]
    name = f"backprop = autograd, MLP {'-'.join(map(str, sizes))} ({len(params)} layers, {activation})"
    return CheckResult(name, worst[0], worst[1], n, n_bad)


# ---------------------------------------------------------------------------------------------
# All checks on real data


def standardize_mnist(images: Tensor, dtype: torch.dtype = torch.float64) -> Tensor:
    """``uint8 [N, 28, 28]`` -> ``(x / 255 - 0.1307) / 0.3081`` in ``dtype``."""
    return (images.to(dtype) / 255.0 - MNIST_MEAN) / MNIST_STD


def run_all_checks(
    test_images: Tensor,
    test_labels: Tensor,
    rgb: np.ndarray | Tensor,
    *,
    rgb_name: str = "RGB photo",
    pool_sizes: Sequence[int] = (2, 3, 7, 28),
    maxpool_sizes: Sequence[int] = (2,),
    mlp_depths: Sequence[int] = (2, 3, 5),
    mlp_hidden: int = 64,
    mlp_batch: int = 256,
    seed: int = 0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> pd.DataFrame:
    """Run every check of experiment C; one row per check.

    ``test_images``: ``uint8 [N, 28, 28]`` MNIST test images; ``test_labels``: ``int64 [N]``;
    ``rgb``: ``uint8 [H, W, 3]`` photo. Finite differences and average pooling run on pixels / 255,
    the max-pool commutation on standardised pixels (see :func:`standardize_mnist`), the MLP
    check on the first ``mlp_batch`` images (standardised, flattened) and their labels, with
    parameters drawn from ``torch.Generator().manual_seed(seed)``; ``mlp_depths`` counts the
    linear layers (``depth - 1`` hidden layers of width ``mlp_hidden``).

    Columns: ``identity``, ``input``, ``max_abs_error``, ``tolerance``, ``holds``, ``expected``
    (whether the identity should hold: false only for the non-monotone activations),
    ``as_expected``, ``n_values`` (numbers compared), ``n_exceeding`` (how many of them differ by
    more than the tolerance), ``dtype``.
    """
    n = test_images.shape[0]
    images = test_images.to(device)
    unit = images.to(dtype) / 255.0
    std = standardize_mnist(images, dtype)
    mnist_unit = f"MNIST test images [{n}, 28, 28], pixels / 255"
    mnist_std = f"MNIST test images [{n}, 28, 28], (pixels / 255 - {MNIST_MEAN}) / {MNIST_STD}"
    rows: list[dict] = []

    def add(result: CheckResult, input_desc: str, expected: bool = True) -> None:
        row = asdict(result)
        row["holds"] = result.holds
        rows.append({"input": input_desc, "expected": expected, **row})

    for r in check_finite_differences(unit, dtype=dtype):
        add(r, mnist_unit)
    for k in pool_sizes:
        for r in check_avg_pool(unit, k, dtype=dtype):
            add(r, mnist_unit)
    photo = rgb_hwc_to_nchw(rgb, dtype).to(device)
    add(check_grayscale(photo, dtype=dtype), f"{rgb_name} [{photo.shape[2]}, {photo.shape[3]}, 3], pixels / 255")
    for k in maxpool_sizes:
        for name, act in MONOTONE_ACTIVATIONS.items():
            add(check_maxpool_commutes(std, act, k, name=name, dtype=dtype), mnist_std)
        for name, act in NON_MONOTONE_ACTIVATIONS.items():
            add(check_maxpool_commutes(std, act, k, name=name, dtype=dtype), mnist_std, expected=False)
    b = min(mlp_batch, n)
    x = std[:b].reshape(b, -1)
    y = test_labels[:b].to(device)
    for depth in mlp_depths:
        for activation in MLP_ACTIVATIONS:
            gen = torch.Generator().manual_seed(seed)
            sizes = [x.shape[1]] + [mlp_hidden] * (depth - 1) + [10]
            params = init_mlp(sizes, generator=gen, device=device, dtype=dtype)
            add(check_backprop(params, x, y, activation, dtype=dtype), f"MNIST test images [{b}, 784] standardised, labels; seed {seed}")

    df = pd.DataFrame(rows)
    df["as_expected"] = df["holds"] == df["expected"]
    df["dtype"] = str(dtype).removeprefix("torch.")
    return df[["identity", "input", "max_abs_error", "tolerance", "holds", "expected", "as_expected", "n_values", "n_exceeding", "dtype"]]
