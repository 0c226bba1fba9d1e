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

Training: :func:`train_batched` steps every seed of a run together, the closed-form gradient on
NumPy views of the tensors (``[S, 784]`` weights; one gather, row-wise dot and update per step); what
:func:`run_seeds` and the pipeline use. The straightforward ``nn.Linear`` + autograd loop and a
one-seed NumPy loop it is tested against are in benchmarks/reference_impl.py. Note that with raw pixels and lr 1e-4 one
step moves that sample's own logit by ``lr |x|^2 dl/dz`` (``lr |x|^2`` is ~300), so the dynamics are
chaotic: rounding-level differences between any two implementations grow over thousands of steps.
With ``unit`` scaling (``lr |x|^2`` ~ 0.005) they stay at rounding level.

Each loss is registered (mnistrepro.study.choices) in the forms the loops use, :class:`LossForms`; a loss
the registry does not name is an error, never computed as another.

Randomness: one ``torch.Generator`` seeded with the run's seed draws, in this order, the weight
(784 values) and the bias, both ``U(-1/sqrt(784), 1/sqrt(784))`` in float32 like ``nn.Linear``'s
default init, then the ``steps`` sample indices (``torch.randint``). Same seed, same numbers,
whatever the dtype or device of the run.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mnistrepro.study.choices import EXPERIMENTS, experiment_metrics, implementation, pixel_divisor, register, scaling_name
from mnistrepro.study.config import evaluated_steps
from mnistrepro.study.device import describe_device
from mnistrepro.study.records import HardwareRecord, LogregRunRecord

N_FEATURES = 784
# A run's test metrics, in its record and in each of its ``evals`` (:func:`run_metrics`): the registry's
# logistic-regression metrics (mnistrepro.study.choices.METRICS), then the counts every run record of the study shares
# (mnistrepro.outputs.aggregate.RECORD_FIELDS; LeNet-5's: mnistrepro.experiments.lenet_eval.evaluate) and two
# diagnostics of saturation.
TEST_METRICS = (*(m.name for m in experiment_metrics("logreg")), "test_loss", "correct", "total", "saturated_errors",
                "median_abs_logit")
# |dl/dz| below this counts as a vanished gradient (a step that barely moves the weights).
VANISHING_GRAD = 1e-6

log = logging.getLogger(__name__)




# ----------------------------------------------------------------------------------------------
# Inputs and randomness
# ----------------------------------------------------------------------------------------------


def scale_inputs(
    images: Tensor, scaling: str | float, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> Tensor:
    """Flatten uint8 images ``[N, 28, 28]`` (or ``[N, 784]``) to ``[N, 784]`` of ``dtype``, the 0-255 pixel
    values divided by ``scaling``'s divisor (mnistrepro.study.choices.pixel_divisor): a scaling's name, ``raw`` (1:
    the values cast to float, the reference) or ``unit`` (255), or a positive number (the scale grid's).
    """
    divisor = pixel_divisor(scaling)
    if images.dtype != torch.uint8:
        raise TypeError(f"images: expected uint8, got {images.dtype}")
    x = images.reshape(images.shape[0], -1).to(device=device, dtype=dtype)
    # Raw pixels are not divided at all (x / 1 would be the same numbers, in a copy); any other divisor divides
    # in `dtype` exactly as `unit` always has (x / 255.0), so divisor 255 is the unit scaling, bit for bit.
    if divisor != 1.0:
        x = x / divisor
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


@dataclass(frozen=True)
class LossForms:
    """One loss in the forms the loops use, each a function of the margin ``m = y z`` (``y`` in {-1, +1}).

    A loss gives its value and its margin derivative ``dl/dm``; ``dl/dz = y dl/dm`` and the SGD step follow.

    ``value(m)``: the loss per sample (torch, elementwise; evaluation's test loss), finite for every finite
    margin. ``dmargin_torch(m)``: ``dl/dm`` in torch, on evaluation's device. ``dmargin(m)``: ``dl/dm`` in NumPy
    (any shape; training's stuck steps and :meth:`step`), with the C library's ``exp`` (:func:`exp_libm`) so that
    training gives the same bits on any CPU. Why twice: evaluation runs in torch on any device, training in NumPy.
    ``explicit_step``: for a loss whose training step must multiply in another order than ``-lr y dmargin(m)``
    (its reason beside it); None derives the step.
    """

    value: Callable[[Tensor], Tensor]
    dmargin_torch: Callable[[Tensor], Tensor]
    dmargin: Callable[[np.ndarray], np.ndarray]
    explicit_step: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None

    def grad(self, y: Tensor, m: Tensor) -> Tensor:
        """``dl/dz = y dl/dm`` (torch; evaluation's saturated errors)."""
        return y * self.dmargin_torch(m)

    def step(self, m: np.ndarray, y: np.ndarray, lr: float) -> np.ndarray:
        """The SGD update's coefficient ``-lr dl/dz = -lr y dl/dm`` at margins ``m`` ``[S]`` with labels ``y``
        ``[S]`` (NumPy; :func:`train_batched`'s inner loop, run under ``np.errstate(over="ignore")``: an
        overflowing ``exp`` gives the exact limit)."""
        if self.explicit_step is not None:
            return self.explicit_step(m, y, lr)
        return -lr * y * self.dmargin(m)


def loss_forms(loss: str) -> LossForms:
    """The registered forms of ``loss``; an unknown name is a ``ValueError`` naming the known ones."""
    return implementation("loss", loss)


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` without overflow (``logaddexp(0, x)``; exact gradient ``s(x)``)."""
    return torch.logaddexp(torch.zeros_like(x), x)


# The largest float64 whose exp is finite.
_EXP_MAX = math.log(sys.float_info.max)


def exp_libm(a: np.ndarray) -> np.ndarray:
    """``exp`` elementwise (float64, any shape), by the C library's ``exp``, with ``inf`` where it overflows.

    Why not ``np.exp``: NumPy computes it with kernels chosen by the CPU's SIMD extensions (AVX-512 has its own),
    which differ in the last bit, and the raw-pixel dynamics grow a last-bit difference into other runs.
    """
    flat = [math.exp(v) if v < _EXP_MAX else math.inf for v in np.asarray(a, dtype=np.float64).ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(np.shape(a))


def row_dot(a: np.ndarray, b: np.ndarray, work: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Row-wise dot products ``out[s] = sum_j a[s, j] b[s, j]`` of ``[S, n]`` arrays, added in one order fixed
    here: a pairwise tree over the columns, each level one elementwise add (``work``: an ``[S, n]`` scratch array).

    Why not ``einsum`` or ``@``: their reductions add in an order set by the SIMD width NumPy dispatches to,
    so the bits would depend on the CPU; an elementwise add is exact IEEE arithmetic on any CPU.
    """
    np.multiply(a, b, out=work)
    n = work.shape[1]
    while n > 1:
        half = n // 2
        if n % 2:  # the odd column joins column 0 first
            work[:, 0] += work[:, n - 1]
        np.add(work[:, :half], work[:, half:2 * half], out=work[:, :half])
        n = half
    out[:] = work[:, 0]
    return out


def _s_neg(m: np.ndarray) -> np.ndarray:
    """``s(-m) = 1 / (1 + exp(m))``, accurate to rounding for every ``m`` (no branch on the sign)."""
    return 1.0 / (1.0 + exp_libm(m))


def _mse_step(m: np.ndarray, y: np.ndarray, lr: float) -> np.ndarray:
    # The same -lr y dl/dm, multiplied in the order the study's MSE runs were trained with: lr y 8 s(-m) first, then
    # s(-m) s(m). Derived from dmargin (which divides by 1 + exp(-m) last) it would round differently, and the raw-
    # pixel dynamics grow a last-bit difference into other runs, so this order is kept as it was (test_logreg.py).
    s_neg = _s_neg(m)
    c = 8.0 * lr * y * s_neg
    c *= s_neg / (1.0 + exp_libm(-m))
    return c


# MSE on the sigmoid, ``4 s(-m)^2`` (SPEC.md's two-class squared error for y in {-1, +1});
# ``dl/dm = -8 s(-m)^2 s(m)``.
register("loss", "mse", LossForms(
    value=lambda m: 4.0 * torch.sigmoid(-m) ** 2,
    dmargin_torch=lambda m: -8.0 * torch.sigmoid(-m) ** 2 * torch.sigmoid(m),
    dmargin=lambda m: -8.0 * _s_neg(m) * _s_neg(m) / (1.0 + exp_libm(-m)),
    explicit_step=_mse_step,
))
# The logistic loss, ``softplus(-m) = log(1 + exp(-m))``; ``dl/dm = -s(-m)``.
register("loss", "ce", LossForms(
    value=lambda m: _softplus(-m),
    dmargin_torch=lambda m: -torch.sigmoid(-m),
    dmargin=lambda m: -_s_neg(m),
))


def loss_value(loss: str, z: Tensor, y: Tensor) -> Tensor:
    """Loss per sample, finite for every finite logit. ``z``, ``y``: ``[...]`` -> ``[...]``."""
    return loss_forms(loss).value(y * z)


def loss_grad(loss: str, z: Tensor, y: Tensor) -> Tensor:
    """Derivative of :func:`loss_value` with respect to the logit ``z``. ``[...]`` -> ``[...]``."""
    return loss_forms(loss).grad(y, y * z)


# ----------------------------------------------------------------------------------------------
# Training loops
# ----------------------------------------------------------------------------------------------


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
    """SGD for ``S`` independent runs at once (CPU, NumPy views): every step is one gather, one row-wise
    dot and one update over all runs.

    ``x``: CPU ``[N, 784]`` float64, ``y``: ``[N]`` in {-1, +1}, ``weights``: ``[S, 784]``,
    ``biases``: ``[S]`` (initial values, not modified), ``indices``: ``int64 [S, steps]`` (row
    ``s``: run ``s``'s samples). Run ``s`` makes the updates of the one-seed loop ``train_fast`` on ``(weights[s],
    biases[s], indices[s])`` (benchmarks/reference_impl.py) up to float rounding (the dot product is
    summed in another order).
    Why: one step of one run is a 784-long dot product, so a per-run loop is mostly interpreter
    overhead; stepping all runs together pays it once per step instead of once per run and step.

    After each step count in ``eval_steps`` calls ``on_eval(step, weights [S, 784], biases [S],
    stats)`` with copies; ``stats``: ``train_seconds`` (all ``S`` runs together), ``wrong_steps``
    and ``stuck_steps`` (``int64 [S]``: steps whose sample was misclassified before its update, and those
    among them with ``|dl/dz| < VANISHING_GRAD``) so far. Returns ``(weights,
    biases, stats)`` after all steps.
    """
    forms = loss_forms(loss)
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
    work = np.empty_like(w)
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
                row_dot(xi, w, work, m)
                m += b
                m *= y_t[t]
                c = forms.step(m, y_t[t], lr)  # -lr dl/dz
                xi *= c[:, None]
                w += xi
                b += c
            stats["train_seconds"] += time.perf_counter() - t0
            segment = margins[start:stop]
            is_wrong = segment < 0.0
            stats["wrong_steps"] += is_wrong.sum(axis=0)
            stuck = np.zeros_like(is_wrong)
            stuck[is_wrong] = -forms.dmargin(segment[is_wrong]) < VANISHING_GRAD
            stats["stuck_steps"] += stuck.sum(axis=0)
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




def run_seeds(
    pair: dict,
    loss: str,
    scaling: str | float,
    seeds: Iterable[int],
    steps: int,
    lr: float,
    eval_steps: Sequence[int],
    device: torch.device | str = "cpu",
    on_record: Callable[[dict], None] | None = None,
    experiment: str = "logreg",
    hardware: dict[str, Any] | None = None,
) -> list[dict]:
    """Train one run per seed on a digit pair, all seeds together (:func:`train_batched`, float64,
    CPU); one record per run.

    ``pair``: the dict of ``mnistrepro.data.tensors.extract_pair`` (``digits``, ``{train,test}_images``
    uint8 ``[N, 28, 28]``, ``{train,test}_labels`` in {-1, +1}, ``test_index``). Evaluation runs
    on ``device``. Each record (:func:`run_record`) has the run's settings (``experiment``: ``logreg`` or
    ``pair_sweep`` or ``scale_grid``, mnistrepro.study.choices.EXPERIMENTS; ``loss``, ``scaling`` (a scaling's name or a
    positive divisor of the pixels, :func:`scale_inputs`; the record names it with
    mnistrepro.study.choices.scaling_name and gives its ``pixel_divisor``), ``digits``, ``seed``, ``lr``, ``steps``,
    ``dtype``, ``device``, ``n_train``), the metrics at ``steps`` at top level (those of :func:`evaluate`),
    ``chance_accuracy`` (the majority class's share of the test set: what predicting one class scores),
    ``train_seconds`` (the batch's training time divided equally among its runs), ``steps_per_s``, ``wrong_steps``,
    ``stuck_steps``, and ``evals``: ``step``, the :data:`TEST_METRICS`, ``train_seconds``,
    ``wrong_steps``, ``stuck_steps`` at every step count of
    :func:`mnistrepro.study.config.evaluated_steps`. ``device`` is where the runs trained (always the CPU),
    ``eval_device`` where they were evaluated (both as :func:`mnistrepro.study.device.describe_device` names
    them); ``hardware``: the job's (mnistrepro.study.environment.job_hardware). ``on_record`` is called with
    each record.
    """
    loss_forms(loss)
    divisor = pixel_divisor(scaling)
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
    eval_points = evaluated_steps(eval_steps, steps)
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
        if step == eval_points[-1]:
            wrong_final.append(m["wrong"])

    train_batched(x_train, y_train, loss, lr, weights, biases, indices, eval_points, record_eval)
    records = []
    for k, seed in enumerate(seeds):
        record = run_record(
            experiment=experiment, loss=loss, scaling=scaling_name(divisor), pixel_divisor=divisor, digits=digits, seed=seed, lr=lr, steps=steps,
            dtype=dtype, device=describe_device(x_train.device), eval_device=describe_device(device),
            n_train=int(x_train.shape[0]), evals=evals[k], chance=chance,
            misclassified=sorted(int(i) for i in test_index.cpu()[wrong_final[0][:, k]].tolist()),
            hardware=hardware,
        )
        if on_record is not None:
            on_record(record)
        records.append(record)
    accuracies = torch.tensor([r["test_accuracy"] for r in records])
    log.info(
        "%s/%s digits %s, %d seeds: final accuracy median %.2f%% (min %.2f%%, max %.2f%%) | %.0f run-steps/s",
        loss, scaling_name(divisor), digits, len(seeds), 100 * float(accuracies.median()), 100 * float(accuracies.min()),
        100 * float(accuracies.max()), len(seeds) * steps / max(evals[0][-1]["train_seconds"] * len(seeds), 1e-12),
    )
    return records


def run_record(*, experiment: str, loss: str, scaling: str, pixel_divisor: float, digits: Sequence[int], seed: int,
               lr: float, steps: int, dtype: torch.dtype, device: str, eval_device: str, n_train: int,
               evals: list[dict], chance: float, misclassified: list[int],
               hardware: HardwareRecord | None) -> LogregRunRecord:
    """One logistic-regression run's record (its JSON file, :class:`mnistrepro.study.records.LogregRunRecord`; see
    :func:`run_seeds`): the settings, the metrics
    of its last evaluation (``evals[-1]``, at ``steps``) at top level, and every evaluation."""
    # Every experiment of the study but LeNet-5's runs logistic regressions.
    if experiment not in EXPERIMENTS or experiment == "lenet":
        logreg_experiments = tuple(e for e in EXPERIMENTS if e != "lenet")
        raise ValueError(f"experiment: expected one of {logreg_experiments} (mnistrepro.study.choices.EXPERIMENTS), "
                         f"got {experiment!r}")
    final = evals[-1]
    return {
        "experiment": experiment,
        "loss": loss,
        "scaling": scaling,
        "pixel_divisor": float(pixel_divisor),
        "digits": [int(d) for d in digits],
        "seed": int(seed),
        "lr": float(lr),
        "steps": int(steps),
        "dtype": str(dtype).removeprefix("torch."),
        "device": device,
        "eval_device": eval_device,
        "n_train": n_train,
        **{key: final[key] for key in TEST_METRICS},
        "misclassified": misclassified,
        "chance_accuracy": chance,
        "train_seconds": final["train_seconds"],
        "steps_per_s": steps / final["train_seconds"] if final["train_seconds"] > 0 else None,
        "wrong_steps": final["wrong_steps"],
        "stuck_steps": final["stuck_steps"],
        "evals": evals,
        "hardware": hardware,
    }
