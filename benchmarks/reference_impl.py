"""Reference implementations the tests and benchmarks check the pipeline's fast code against; not used by
the pipeline.

Logistic regression (mnistrepro.experiments.logreg), three loops with the same maths:

- :func:`train_reference`: the straightforward loop, ``nn.Linear`` + autograd + ``torch.optim.SGD`` on
  :func:`loss_spec` (SPEC.md's formulas), one sample per step;
- :func:`train_fast`: the closed-form gradient on NumPy views of the tensors, one seed; one ``dot`` and
  one ``axpy`` per step. Same results up to float rounding for the same initial weights and samples;
- mnistrepro.experiments.logreg.train_batched, the pipeline's: :func:`train_fast` for many seeds at once.

LeNet-5 (mnistrepro.experiments.lenet): :class:`SixteenConvC3`, the literal sparse C3 (16 convolutions on
index-sliced inputs), and :func:`lenet5_sixteen`, LeNet-5 with it; :func:`layer_by_layer`, the CPU forward
before the fused activation-pooling blocks; :class:`SingleSeedStepBefore`, the single-seed training step
before one trainer served a seed alone and a group of seeds alike.

Importable as ``reference_impl`` from the benchmarks (their own directory) and the tests (pytest's
``pythonpath``, pyproject.toml).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mnistrepro.experiments import lenet, logreg
from mnistrepro.experiments.lenet_training import DeviceData, build_model
from mnistrepro.study.choices import C3_KERNEL

# ----------------------------------------------------------------------------------------------
# Logistic regression
# ----------------------------------------------------------------------------------------------


def loss_spec(loss: str, z: Tensor, y: Tensor) -> Tensor:
    """The losses as SPEC.md writes them (elementwise; ``z``, ``y`` broadcastable).

    ``mse`` is the literal two-class squared error; ``ce`` is ``softplus(-y z)`` (torch's, which
    is the stable form of ``log(1 + exp(-y z))``); any other registered loss, mnistrepro.experiments.logreg's
    form. Used by :func:`train_reference` under autograd.
    """
    if loss == "mse":
        s_pos, s_neg = torch.sigmoid(z), torch.sigmoid(-z)
        return (1 - y) * ((1 - s_neg) ** 2 + s_pos**2) + (1 + y) * ((1 - s_pos) ** 2 + s_neg**2)
    if loss == "ce":
        return nn.functional.softplus(-y * z)
    return logreg.loss_value(loss, z, y)  # a loss SPEC.md does not write: its registered form


def _dmargin_mse(m: float) -> float:
    """``d/dm`` of ``4 s(-m)^2``: ``-8 s(-m)^2 s(m)`` (Python floats, no overflow)."""
    if m >= 0.0:
        e = math.exp(-m)
        d = 1.0 + e
        return -8.0 * e * e / (d * d * d)
    e = math.exp(m)
    d = 1.0 + e
    return -8.0 * e / (d * d * d)


def _dmargin_ce(m: float) -> float:
    """``d/dm`` of ``softplus(-m)``: ``-s(-m)`` (Python floats, no overflow)."""
    if m >= 0.0:
        e = math.exp(-m)
        return -e / (1.0 + e)
    return -1.0 / (1.0 + math.exp(m))


_DMARGIN: dict[str, Callable[[float], float]] = {"mse": _dmargin_mse, "ce": _dmargin_ce}


def dmargin(loss: str) -> Callable[[float], float]:
    """``d/dm`` of ``loss`` on Python floats: the fast forms above for the study's two losses, else the
    registered NumPy form (mnistrepro.experiments.logreg.LossForms.dmargin), slower but the same maths."""
    if loss in _DMARGIN:
        return _DMARGIN[loss]
    forms = logreg.loss_forms(loss)
    return lambda m: float(forms.dmargin(np.float64(m)))


def train_reference(
    x: Tensor, y: Tensor, loss: str, lr: float, weight: Tensor, bias: Tensor, indices: Tensor
) -> tuple[Tensor, Tensor]:
    """The straightforward loop: ``nn.Linear`` + :func:`loss_spec` + ``backward`` + ``SGD.step``.

    ``x``: ``[N, 784]`` float, ``y``: ``[N]`` in {-1, +1}, ``weight``: ``[784]``, ``bias``: ``[]``
    (initial values, not modified), ``indices``: ``int64 [steps]``. Runs in ``x``'s dtype and on
    its device. Returns the final ``(weight [784], bias [])``.
    """
    linear = nn.Linear(x.shape[1], 1, dtype=x.dtype, device=x.device)
    with torch.no_grad():
        linear.weight.copy_(weight.reshape(1, -1))
        linear.bias.copy_(bias.reshape(1))
    optimizer = torch.optim.SGD(linear.parameters(), lr=lr)
    y = y.to(x.dtype)
    for i in indices.tolist():
        z = linear(x[i]).squeeze(0)
        value = loss_spec(loss, z, y[i])
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return linear.weight.detach().reshape(-1).clone(), linear.bias.detach().reshape(()).clone()


def _sgd_segment(
    x: np.ndarray, y: list[float], w: np.ndarray, b: float, indices: list[int], lr: float, loss: str
) -> tuple[float, int, int]:
    """Run SGD over ``indices`` updating ``w`` in place; return ``(b, wrong, stuck)``.

    ``wrong``: steps whose sample was misclassified (``y z < 0``) before its update; ``stuck``:
    those among them with ``|dl/dz| < logreg.VANISHING_GRAD``.
    """
    dmargin_of = dmargin(loss)
    wrong = stuck = 0
    dot = np.dot
    for i in indices:
        xi = x[i]
        yi = y[i]
        m = yi * (float(dot(xi, w)) + b)
        g = dmargin_of(m)  # dl/dz = yi * g
        if m < 0.0:
            wrong += 1
            if -g < logreg.VANISHING_GRAD:
                stuck += 1
        if g != 0.0:
            c = -lr * yi * g
            w += c * xi
            b += c
    return b, wrong, stuck


def train_fast(
    x: Tensor,
    y: Tensor,
    loss: str,
    lr: float,
    weight: Tensor,
    bias: Tensor,
    indices: Tensor,
    eval_steps: Sequence[int] = (),
    on_eval: Callable[[int, Tensor, Tensor, dict], None] | None = None,
) -> tuple[Tensor, Tensor, dict]:
    """Same updates as :func:`train_reference`, closed-form gradient on NumPy views (CPU only).

    ``x``: CPU ``[N, 784]`` float32/float64, ``y``: ``[N]`` in {-1, +1}, ``weight``: ``[784]``,
    ``bias``: ``[]`` (initial values, not modified), ``indices``: ``int64 [steps]``.
    After each step count in ``eval_steps`` (each in ``1..steps``), calls
    ``on_eval(step, weight [784], bias [], stats)`` with copies of the parameters; the time it
    takes is not counted as training time. ``stats``: ``train_seconds``, ``wrong_steps``,
    ``stuck_steps`` so far. Returns ``(weight, bias, stats)`` after all ``steps``.
    """
    logreg.loss_forms(loss)
    if x.device.type != "cpu":
        raise ValueError("train_fast runs on the CPU (per-step work is one 784-long dot product)")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"x: expected float32 or float64, got {x.dtype}")
    steps = int(indices.numel())
    bad = [s for s in eval_steps if not 1 <= s <= steps]
    if bad:
        raise ValueError(f"eval_steps: {bad} outside 1..{steps}")
    dtype = x.dtype
    xn = x.contiguous().numpy()
    yl = [float(v) for v in y.tolist()]
    w = weight.detach().to(device="cpu", dtype=dtype).clone().numpy()
    # float64: the bias as a Python float (fast scalar maths); float32: a NumPy float32 scalar,
    # so that it is rounded to float32 at every step as in the reference loop.
    b = float(bias) if dtype == torch.float64 else np.float32(float(bias))
    idx = indices.tolist()
    stats = {"train_seconds": 0.0, "wrong_steps": 0, "stuck_steps": 0}
    bounds = sorted(set(eval_steps) | {steps})
    start = 0
    for stop in bounds:
        t0 = time.perf_counter()
        b, wrong, stuck = _sgd_segment(xn, yl, w, b, idx[start:stop], lr, loss)
        stats["train_seconds"] += time.perf_counter() - t0
        stats["wrong_steps"] += wrong
        stats["stuck_steps"] += stuck
        start = stop
        if on_eval is not None and stop in eval_steps:
            on_eval(stop, torch.from_numpy(w.copy()), torch.tensor(float(b), dtype=dtype), dict(stats))
    return torch.from_numpy(w.copy()), torch.tensor(float(b), dtype=dtype), stats


# ----------------------------------------------------------------------------------------------
# LeNet-5
# ----------------------------------------------------------------------------------------------


class SixteenConvC3(nn.Module):
    """The literal sparse C3: one ``Conv2d(len(inputs), 1, 5)`` per output map on ``x[:, inputs]``.

    ``[N, 6, H, W] -> [N, 16, H-4, W-4]``. The reference construction (slow: 16 small convolutions
    and 16 index copies); :meth:`load_sparse` / :meth:`to_sparse` convert weights to and from
    :class:`mnistrepro.experiments.lenet.SparseC3`. A :class:`mnistrepro.experiments.lenet.C3Layer`.
    """

    def __init__(self, table: Sequence[Sequence[int]] = lenet.C3_TABLE, kernel_size: int = C3_KERNEL) -> None:
        super().__init__()
        self.table = tuple(tuple(int(i) for i in inputs) for inputs in table)
        self.kernel_size = kernel_size
        self.convs = nn.ModuleList(nn.Conv2d(len(inputs), 1, kernel_size) for inputs in self.table)
        for o, inputs in enumerate(self.table):
            self.register_buffer(f"inputs{o}", torch.tensor(inputs, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x[:, getattr(self, f"inputs{o}")]) for o, conv in enumerate(self.convs)], dim=1)

    def forward_nchw(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Each map's kernels, then its bias, within ``1/sqrt(25 * its inputs)``: the draws of SparseC3's."""
        for conv in self.convs:
            bound = 1.0 / math.sqrt(conv.weight[0].numel())
            conv.weight.uniform_(-bound, bound, generator=generator)
            conv.bias.uniform_(-bound, bound, generator=generator)

    @torch.no_grad()
    def load_sparse(self, sparse: lenet.SparseC3) -> "SixteenConvC3":
        """Copy a :class:`mnistrepro.experiments.lenet.SparseC3`'s kernels and biases into the 16 convolutions (same
        table)."""
        if sparse.table != self.table:
            raise ValueError("load_sparse: the two modules have different connection tables")
        start = 0
        for o, (inputs, conv) in enumerate(zip(self.table, self.convs)):
            conv.weight.copy_(sparse.weight[start:start + len(inputs)].unsqueeze(0))
            conv.bias.copy_(sparse.bias[o:o + 1])
            start += len(inputs)
        return self

    @torch.no_grad()
    def to_sparse(self) -> lenet.SparseC3:
        """A :class:`mnistrepro.experiments.lenet.SparseC3` holding these 16 convolutions' kernels and biases."""
        ref = self.convs[0].weight
        sparse = lenet.SparseC3(self.table, kernel_size=self.kernel_size).to(device=ref.device, dtype=ref.dtype)
        sparse.weight.copy_(torch.cat([conv.weight[0] for conv in self.convs]))
        sparse.bias.copy_(torch.cat([conv.bias for conv in self.convs]))
        return sparse


def lenet5_sixteen() -> lenet.LeNet5:
    """LeNet-5 with the sparse C3 built from 16 separate convolutions, initialised as ``LeNet5("sparse")``
    from the same RNG state (same function and parameter count; slow)."""
    model = lenet.LeNet5("sparse")
    model.c3 = SixteenConvC3().load_sparse(model.c3)
    return model


def layer_by_layer(model: lenet.LeNet5) -> lenet.LeNet5:
    """``model`` running its layer-by-layer forward (:meth:`mnistrepro.experiments.lenet.LeNet5.forward_layers`) on
    every device, the CPU included, where the pipeline runs the fused forward. Returns ``model``."""
    model.forward = model.forward_layers
    return model


class SingleSeedStepBefore:
    """A frozen copy of the pipeline's single-seed training step (eager, as on the CPU) from before one trainer
    served a seed alone and a group of seeds alike; benchmarks/bench_lenet.py times it beside today's step.

    Set up as a fresh run was: the weights of ``seed`` (:func:`mnistrepro.experiments.lenet_training.build_model`),
    channels-last on the CPU, ``torch.optim.SGD(foreach=True)``. ``step(idx)``: one SGD step on the batch
    ``data.train_x[idx]`` (``idx`` int64 ``[B]``), accumulating the summed loss (``loss_sum``, float64 ``[]``) and
    the correct predictions (``correct``, int64 ``[]``) on the device.
    """

    def __init__(self, data: DeviceData, c3: str, seed: int, lr: float = 0.1) -> None:
        device = data.device
        model = build_model(c3, seed, device)
        if device.type == "cpu":
            model = model.to(memory_format=torch.channels_last)
        self.model, self.data = model, data
        self.optimizer = torch.optim.SGD(model.parameters(), lr=lr, foreach=True)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.long, device=device)

    def __call__(self, idx: Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        x = self.data.train_x.index_select(0, idx)
        y = self.data.train_y.index_select(0, idx)
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        self.loss_sum.add_(loss.detach().double() * idx.shape[0])
        self.correct.add_((logits.detach().argmax(1) == y).sum())
