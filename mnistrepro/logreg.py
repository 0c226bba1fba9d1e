"""Experiment A: logistic regression on a digit pair, MSE-on-sigmoid loss vs logistic loss.

The model is ``nn.Linear(784, 1)`` (logit ``z = w . x + b``) trained by single-sample SGD with
replacement; a prediction is correct when ``z * y >= 0`` (labels ``y`` in {-1, +1}).

Both losses depend on the logit only through the margin ``m = y * z``, ``s`` the sigmoid:

- ``mse``: ``(1-y) ((1 - s(-z))^2 + s(z)^2) + (1+y) ((1 - s(z))^2 + s(-z)^2)`` (SPEC.md), which for
  ``y`` in {-1, +1} equals ``4 (s(z) - t)^2`` with ``t = (1+y)/2``, i.e. ``4 s(-m)^2``;
  ``dl/dz = -8 y s(-m)^2 s(m)``.
- ``ce``: ``log(1 + exp(-m)) = softplus(-m)``; ``dl/dz = -y s(-m)``.

Why the MSE loss is erratic with raw pixels: at initialisation ``|z|`` is already tens (pixels are
0-255), so the sigmoid saturates. A confidently *wrong* sample (``m`` very negative) has MSE
gradient ``~8 exp(m)``, effectively zero, so it never gets corrected; the logistic loss's
gradient tends to ``-y`` there instead. Whether an MSE run escapes depends on its initial weights
and sample order. The records count these "stuck" steps (misclassified, ``|dl/dz| < 1e-6``).

Three training loops, same maths:

- :func:`train_reference`: the straightforward loop, ``nn.Linear`` + autograd +
  ``torch.optim.SGD``, one sample per step (for tests and the benchmark).
- :func:`train_fast`: the closed-form gradient on NumPy views of the tensors, sample indices drawn
  up front; one ``dot`` and one ``axpy`` per step. Same results up to float rounding for the
  same initial weights and sample sequence.
- :func:`train_batched`: :func:`train_fast` for many seeds at once (``[S, 784]`` weights; one
  gather, row-wise dot and update per step), what :func:`run_seeds` and the pipeline use. Note that with raw pixels and lr 1e-4 one step moves
  that sample's own logit by ``lr |x|^2 dl/dz`` (``lr |x|^2`` is ~300), so the dynamics are
  chaotic: rounding-level differences between any two implementations grow over thousands of steps.
  With ``unit`` scaling (``lr |x|^2`` ~ 0.005) they stay at rounding level.

Randomness: one ``torch.Generator`` seeded with the run's seed draws, in this order, the weight
(784 values) and the bias, both ``U(-1/sqrt(784), 1/sqrt(784))`` in float32 like ``nn.Linear``'s
default init, then the ``steps`` sample indices (``torch.randint``). Same seed, same numbers,
whatever the dtype or device of the run.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mnistrepro.choices import LOSSES, SCALINGS
from mnistrepro.device import describe_device

N_FEATURES = 784
# A run's test metrics, in its record and in each of its ``evals`` (:func:`run_metrics`). The first four are
# the keys every run record of the study shares (LeNet-5's: mnistrepro.lenet_eval.evaluate).
TEST_METRICS = ("test_accuracy", "test_loss", "correct", "total", "saturated_errors", "median_abs_logit")
# |dl/dz| below this counts as a vanished gradient (a step that barely moves the weights).
VANISHING_GRAD = 1e-6

log = logging.getLogger(__name__)


def _check(loss: str | None = None, scaling: str | None = None) -> None:
    if loss is not None and loss not in LOSSES:
        raise ValueError(f"loss: expected one of {LOSSES}, got {loss!r}")
    if scaling is not None and scaling not in SCALINGS:
        raise ValueError(f"scaling: expected one of {SCALINGS}, got {scaling!r}")


# ----------------------------------------------------------------------------------------------
# Inputs and randomness
# ----------------------------------------------------------------------------------------------


def scale_inputs(
    images: Tensor, scaling: str, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> Tensor:
    """Flatten uint8 images ``[N, 28, 28]`` (or ``[N, 784]``) to ``[N, 784]`` of ``dtype``.

    ``raw``: the 0-255 pixel values cast to float (the reference); ``unit``: divided by 255.
    """
    _check(scaling=scaling)
    if images.dtype != torch.uint8:
        raise TypeError(f"images: expected uint8, got {images.dtype}")
    x = images.reshape(images.shape[0], -1).to(device=device, dtype=dtype)
    if scaling == "unit":
        x = x / 255.0
    return x.contiguous()


def labels_pm1(labels: Tensor, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> Tensor:
    """Labels ``[N]`` in {-1, +1} (any integer or float dtype) as ``dtype``; anything else is an error."""
    if not bool(((labels == -1) | (labels == 1)).all()):
        raise ValueError("labels: expected values in {-1, +1}")
    return labels.to(device=device, dtype=dtype)


def init_run(
    seed: int,
    n_train: int,
    steps: int,
    n_features: int = N_FEATURES,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor, Tensor]:
    """Initial weight ``[n_features]``, bias ``[]`` and sample indices ``int64 [steps]`` for ``seed``.

    A CPU ``torch.Generator`` seeded with ``seed`` draws the weight, then the bias, each
    ``U(-1/sqrt(n_features), 1/sqrt(n_features))`` in float32 as ``nn.Linear`` does (so float32
    and float64 runs start from the same point), then ``steps`` indices uniform in
    ``[0, n_train)`` (sampling with replacement).
    """
    if seed < 0:
        raise ValueError(f"seed: expected >= 0, got {seed}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    bound = 1.0 / math.sqrt(n_features)
    weight = torch.empty(n_features, dtype=torch.float32).uniform_(-bound, bound, generator=gen)
    bias = torch.empty((), dtype=torch.float32).uniform_(-bound, bound, generator=gen)
    indices = torch.randint(n_train, (steps,), generator=gen, dtype=torch.int64)
    return weight.to(device=device, dtype=dtype), bias.to(device=device, dtype=dtype), indices.to(device)


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------


def loss_spec(loss: str, z: Tensor, y: Tensor) -> Tensor:
    """The losses as SPEC.md writes them (elementwise; ``z``, ``y`` broadcastable).

    ``mse`` is the literal two-class squared error; ``ce`` is ``softplus(-y z)`` (torch's, which
    is the stable form of ``log(1 + exp(-y z))``). Used by :func:`train_reference` under autograd.
    """
    _check(loss=loss)
    if loss == "mse":
        s_pos, s_neg = torch.sigmoid(z), torch.sigmoid(-z)
        return (1 - y) * ((1 - s_neg) ** 2 + s_pos**2) + (1 + y) * ((1 - s_pos) ** 2 + s_neg**2)
    return nn.functional.softplus(-y * z)


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` without overflow (``logaddexp(0, x)``; exact gradient ``s(x)``)."""
    return torch.logaddexp(torch.zeros_like(x), x)


def loss_value(loss: str, z: Tensor, y: Tensor) -> Tensor:
    """Loss per sample, finite for every finite logit. ``z``, ``y``: ``[...]`` -> ``[...]``.

    ``mse``: ``4 s(-y z)^2``; ``ce``: ``softplus(-y z)``.
    """
    _check(loss=loss)
    m = y * z
    if loss == "mse":
        return 4.0 * torch.sigmoid(-m) ** 2
    return _softplus(-m)


def loss_grad(loss: str, z: Tensor, y: Tensor) -> Tensor:
    """Derivative of :func:`loss_value` with respect to the logit ``z``. ``[...]`` -> ``[...]``.

    ``mse``: ``-8 y s(-m)^2 s(m)``; ``ce``: ``-y s(-m)``, with ``m = y z``.
    """
    _check(loss=loss)
    m = y * z
    s_neg = torch.sigmoid(-m)
    if loss == "mse":
        return -8.0 * y * s_neg**2 * torch.sigmoid(m)
    return -y * s_neg


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


# ----------------------------------------------------------------------------------------------
# Training loops
# ----------------------------------------------------------------------------------------------


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
    those among them with ``|dl/dz| < VANISHING_GRAD``.
    """
    dmargin = _DMARGIN[loss]
    wrong = stuck = 0
    dot = np.dot
    for i in indices:
        xi = x[i]
        yi = y[i]
        m = yi * (float(dot(xi, w)) + b)
        g = dmargin(m)  # dl/dz = yi * g
        if m < 0.0:
            wrong += 1
            if -g < VANISHING_GRAD:
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
    _check(loss=loss)
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


def init_runs(
    seeds: Sequence[int],
    n_train: int,
    steps: int,
    n_features: int = N_FEATURES,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`init_run` for every seed, stacked: weights ``[S, n_features]``, biases ``[S]``, indices
    ``int64 [S, steps]``. Row ``s`` is exactly what ``init_run(seeds[s], ...)`` draws."""
    runs = [init_run(int(seed), n_train, steps, n_features, dtype, device) for seed in seeds]
    if not runs:
        raise ValueError("seeds: expected at least one seed")
    weights, biases, indices = (torch.stack(parts) for parts in zip(*runs))
    return weights, biases, indices


def _dmargin_array(loss: str, m: np.ndarray) -> np.ndarray:
    """``d/dm`` of the loss at margins ``m`` (any shape), the array form of ``_DMARGIN``.

    ``1 / (1 + exp(-m))`` is accurate to rounding for every ``m`` (an overflowing ``exp`` gives
    the exact limit 0), so no branch on the sign is needed.
    """
    with np.errstate(over="ignore"):
        s_neg = 1.0 / (1.0 + np.exp(m))
        if loss == "mse":
            return -8.0 * s_neg * s_neg / (1.0 + np.exp(-m))
        return -s_neg


def train_batched(
    x: Tensor,
    y: Tensor,
    loss: str,
    lr: float,
    weights: Tensor,
    biases: Tensor,
    indices: Tensor,
    eval_steps: Sequence[int] = (),
    on_eval: Callable[[int, Tensor, Tensor, dict], None] | None = None,
) -> tuple[Tensor, Tensor, dict]:
    """:func:`train_fast` for ``S`` independent runs at once (CPU, NumPy views): every step is
    one gather, one row-wise dot and one update over all runs.

    ``x``: CPU ``[N, 784]`` float64, ``y``: ``[N]`` in {-1, +1}, ``weights``: ``[S, 784]``,
    ``biases``: ``[S]`` (initial values, not modified), ``indices``: ``int64 [S, steps]`` (row
    ``s``: run ``s``'s samples). Run ``s`` makes the updates of ``train_fast`` on ``(weights[s],
    biases[s], indices[s])`` up to float rounding (the dot product is summed in another order).
    Why: one step of one run is a 784-long dot product, so a per-run loop is mostly interpreter
    overhead; stepping all runs together pays it once per step instead of once per run and step.

    After each step count in ``eval_steps`` calls ``on_eval(step, weights [S, 784], biases [S],
    stats)`` with copies; ``stats``: ``train_seconds`` (all ``S`` runs together), ``wrong_steps``
    and ``stuck_steps`` (``int64 [S]``, as in :func:`train_fast`) so far. Returns ``(weights,
    biases, stats)`` after all steps.
    """
    _check(loss=loss)
    if x.device.type != "cpu" or x.dtype != torch.float64:
        raise ValueError(f"x: expected a CPU float64 tensor, got {x.dtype} on {x.device}")
    if indices.dim() != 2 or weights.shape != (indices.shape[0], x.shape[1]) or biases.shape != (indices.shape[0],):
        raise ValueError(f"expected weights [S, {x.shape[1]}], biases [S], indices [S, steps]; got "
                         f"{tuple(weights.shape)}, {tuple(biases.shape)}, {tuple(indices.shape)}")
    steps = int(indices.shape[1])
    bad = [s for s in eval_steps if not 1 <= s <= steps]
    if bad:
        raise ValueError(f"eval_steps: {bad} outside 1..{steps}")
    xn = x.contiguous().numpy()
    w = weights.detach().to(dtype=torch.float64).numpy().copy()
    b = biases.detach().to(dtype=torch.float64).numpy().copy()
    # Row t: every run's sample (and its label) at step t, contiguous for the per-step gather.
    idx_t = indices.t().contiguous().numpy()
    y_t = y.to(torch.float64).numpy()[idx_t]
    # Each step's margins are kept so that wrong and stuck steps are counted per segment, outside
    # the loop (they are functions of the margin).
    margins = np.empty(idx_t.shape)
    coef = 8.0 * lr if loss == "mse" else lr
    stats = {"train_seconds": 0.0, "wrong_steps": np.zeros(w.shape[0], np.int64),
             "stuck_steps": np.zeros(w.shape[0], np.int64)}
    bounds = sorted(set(int(s) for s in eval_steps) | {steps})
    start = 0
    with np.errstate(over="ignore"):
        for stop in bounds:
            t0 = time.perf_counter()
            for t in range(start, stop):
                xi = xn.take(idx_t[t], axis=0)  # [S, 784], a copy
                m = margins[t]
                np.einsum("ij,ij->i", xi, w, out=m)
                m += b
                m *= y_t[t]
                # c = -lr dl/dz = -lr y g: mse g = -8 s(-m)^2 s(m); ce g = -s(-m).
                s_neg = 1.0 / (1.0 + np.exp(m))
                c = coef * y_t[t] * s_neg
                if loss == "mse":
                    c *= s_neg / (1.0 + np.exp(-m))
                xi *= c[:, None]
                w += xi
                b += c
            stats["train_seconds"] += time.perf_counter() - t0
            segment = margins[start:stop]
            is_wrong = segment < 0.0
            stats["wrong_steps"] += is_wrong.sum(axis=0)
            stats["stuck_steps"] += (is_wrong & (-_dmargin_array(loss, segment) < VANISHING_GRAD)).sum(axis=0)
            start = stop
            if on_eval is not None and stop in eval_steps:
                so_far = {**stats, "wrong_steps": stats["wrong_steps"].copy(), "stuck_steps": stats["stuck_steps"].copy()}
                on_eval(stop, torch.from_numpy(w.copy()), torch.from_numpy(b.copy()), so_far)
    return torch.from_numpy(w), torch.from_numpy(b), stats

# ----------------------------------------------------------------------------------------------
# Evaluation and runs
# ----------------------------------------------------------------------------------------------


def evaluate_batch(weights: Tensor, biases: Tensor, x: Tensor, y: Tensor, loss: str) -> dict:
    """Test metrics of ``S`` linear models ``z = x @ weights[s] + biases[s]`` at once.

    ``weights``: ``[S, 784]``, ``biases``: ``[S]``, ``x``: ``[M, 784]``, ``y``: ``[M]`` in
    {-1, +1}. Computed in ``x``'s dtype and on its device. Returns ``test_loss`` (mean
    :func:`loss_value`), ``correct`` (``int64``; correct when ``z * y >= 0``), ``saturated_errors``
    (misclassified with ``|dl/dz| < VANISHING_GRAD``), ``median_abs_logit`` (each ``[S]``, on the CPU),
    ``total`` (``M``) and ``wrong`` (bool ``[M, S]``); :func:`run_metrics` reads one run's out of it.
    """
    weights = weights.to(device=x.device, dtype=x.dtype)
    biases = biases.to(device=x.device, dtype=x.dtype)
    y = y.to(device=x.device, dtype=x.dtype).unsqueeze(1)
    z = x @ weights.t() + biases  # [M, S]
    wrong = z * y < 0
    correct = (~wrong).sum(0)
    grad = loss_grad(loss, z, y).abs()
    return {
        "test_loss": loss_value(loss, z, y).mean(0).cpu(),
        "correct": correct.cpu(),
        "total": int(y.shape[0]),
        "saturated_errors": (wrong & (grad < VANISHING_GRAD)).sum(0).cpu(),
        "median_abs_logit": z.abs().median(0).values.cpu(),
        "wrong": wrong.cpu(),
    }


def run_metrics(batch: dict, k: int) -> dict:
    """Run ``k``'s test metrics out of :func:`evaluate_batch`'s ``batch``, as Python numbers: the keys of
    :data:`TEST_METRICS` (``test_accuracy`` is ``correct / total``)."""
    correct = int(batch["correct"][k])
    return {
        "test_accuracy": correct / batch["total"],
        "test_loss": float(batch["test_loss"][k]),
        "correct": correct,
        "total": batch["total"],
        "saturated_errors": int(batch["saturated_errors"][k]),
        "median_abs_logit": float(batch["median_abs_logit"][k]),
    }


def evaluate(weight: Tensor, bias: Tensor, x: Tensor, y: Tensor, index: Tensor, loss: str) -> dict:
    """Test metrics of the linear model ``z = x @ weight + bias`` (:func:`evaluate_batch`, one run).

    ``weight``: ``[784]``, ``bias``: ``[]``, ``x``: ``[M, 784]``, ``y``: ``[M]`` in {-1, +1},
    ``index``: ``int64 [M]``, each test sample's row in the full MNIST test split. Returns the
    :data:`TEST_METRICS` (:func:`run_metrics`) and ``misclassified`` (sorted original test rows).
    """
    m = evaluate_batch(weight.reshape(1, -1), bias.reshape(1), x, y, loss)
    return {**run_metrics(m, 0), "misclassified": sorted(int(i) for i in index.cpu()[m["wrong"][:, 0]].tolist())}


def run_seeds(
    pair: dict,
    loss: str,
    scaling: str,
    seeds: Iterable[int],
    steps: int,
    lr: float,
    eval_steps: Sequence[int],
    device: torch.device | str = "cpu",
    on_record: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train one run per seed on a digit pair, all seeds together (:func:`train_batched`, float64,
    CPU); one record per run.

    ``pair``: the dict of ``mnistrepro.data.extract_pair`` (``digits``, ``{train,test}_images``
    uint8 ``[N, 28, 28]``, ``{train,test}_labels`` in {-1, +1}, ``test_index``). Evaluation runs
    on ``device``. Each record has the run's settings (``model``, ``loss``, ``scaling``,
    ``digits``, ``seed``, ``lr``, ``steps``, ``dtype``, ``device``, ``n_train``), the metrics at
    ``steps`` at top level (those of :func:`evaluate`), ``chance_accuracy`` (the majority class's
    share of the test set: what predicting one class scores), ``train_seconds`` (the batch's
    training time divided equally among its runs), ``steps_per_s``, ``wrong_steps``,
    ``stuck_steps``, and ``evals``: ``step``, the :data:`TEST_METRICS`, ``train_seconds``,
    ``wrong_steps``, ``stuck_steps`` at every step count in ``sorted(set(eval_steps) | {steps})``.
    ``device`` is where the runs trained (always the CPU), ``eval_device`` where they were evaluated
    (both as :func:`mnistrepro.device.describe_device` names them). ``on_record`` is called with each
    record.
    """
    _check(loss=loss, scaling=scaling)
    seeds = [int(s) for s in seeds]
    device = torch.device(device)
    dtype = torch.float64
    x_train = scale_inputs(pair["train_images"], scaling, dtype, "cpu")
    y_train = labels_pm1(pair["train_labels"], dtype, "cpu")
    x_test = scale_inputs(pair["test_images"], scaling, dtype, device)
    y_test = labels_pm1(pair["test_labels"], dtype, device)
    test_index = pair["test_index"]
    n_pos = int((y_test > 0).sum())
    chance = max(n_pos, y_test.numel() - n_pos) / y_test.numel()
    checkpoints = sorted(set(int(s) for s in eval_steps) | {int(steps)})
    digits = [int(d) for d in pair["digits"]]
    weights, biases, indices = init_runs(seeds, x_train.shape[0], int(steps), x_train.shape[1], dtype, "cpu")
    evals: list[list[dict]] = [[] for _ in seeds]
    wrong_final: list[Tensor] = []

    def record_eval(step: int, w: Tensor, b: Tensor, stats: dict) -> None:
        m = evaluate_batch(w, b, x_test, y_test, loss)
        for k in range(len(seeds)):
            evals[k].append({
                "step": step,
                **run_metrics(m, k),
                "train_seconds": stats["train_seconds"] / len(seeds),
                "wrong_steps": int(stats["wrong_steps"][k]),
                "stuck_steps": int(stats["stuck_steps"][k]),
            })
        if step == checkpoints[-1]:
            wrong_final.append(m["wrong"])

    train_batched(x_train, y_train, loss, lr, weights, biases, indices, checkpoints, record_eval)
    records = []
    for k, seed in enumerate(seeds):
        final = evals[k][-1]
        record = {
            "model": "logreg",
            "loss": loss,
            "scaling": scaling,
            "digits": digits,
            "seed": seed,
            "lr": float(lr),
            "steps": int(steps),
            "dtype": str(dtype).removeprefix("torch."),
            "device": describe_device(x_train.device),
            "eval_device": describe_device(device),
            "n_train": int(x_train.shape[0]),
            **{key: final[key] for key in TEST_METRICS},
            "misclassified": sorted(int(i) for i in test_index.cpu()[wrong_final[0][:, k]].tolist()),
            "chance_accuracy": chance,
            "train_seconds": final["train_seconds"],
            "steps_per_s": steps / final["train_seconds"] if final["train_seconds"] > 0 else None,
            "wrong_steps": final["wrong_steps"],
            "stuck_steps": final["stuck_steps"],
            "evals": evals[k],
        }
        if on_record is not None:
            on_record(record)
        records.append(record)
    accuracies = torch.tensor([r["test_accuracy"] for r in records])
    log.info(
        "%s/%s digits %s, %d seeds: final accuracy median %.2f%% (min %.2f%%, max %.2f%%) | %.0f run-steps/s",
        loss, scaling, digits, len(seeds), 100 * float(accuracies.median()), 100 * float(accuracies.min()),
        100 * float(accuracies.max()), len(seeds) * steps / max(evals[0][-1]["train_seconds"] * len(seeds), 1e-12),
    )
    return records
