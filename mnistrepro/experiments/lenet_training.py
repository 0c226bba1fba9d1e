"""Training LeNet-5 (SPEC.md experiment B) on MNIST tensors held on the device (evaluating the trained
weights is its own step: :mod:`mnistrepro.experiments.lenet_eval`).

One trainer for one seed and for a group of seeds: every step, loop and checkpoint works on a seed axis
``M``. One seed alone is a group of one whose module runs as it is (:class:`SingleLeNet`); a group trained
together has its parameters stacked (``[M, ...]``) and run through :func:`torch.func.vmap`
(:class:`StackedLeNet`), so that on a GPU, where a LeNet-5 step is launch-bound, ``M`` seeds share every
kernel launch (and the start-up of a job).

The loop is built for speed and for exact reproducibility:

- the images are moved to the device once and scaled there (uint8 -> float32 / 255, i.e. ``ToTensor``);
  batches are ``index_select`` of the resident tensors, no per-sample work;
- epoch ``e`` of seed ``s`` visits the training images in the order :func:`epoch_permutation` ``(s, e)``
  gives, a permutation drawn from its own generator, so a resumed run sees the same batches as an
  uninterrupted one; the weights are initialised from ``s`` (on the CPU, whatever the device);
- each seed's loss is its own batch's mean cross-entropy and its SGD update its own gradient; loss and
  accuracy are accumulated on the device and read once an epoch (no per-batch sync);
- on CUDA, one training step (batch gather, forward, backward, SGD update, accumulation) is captured
  as a CUDA graph and replayed, removing the per-kernel launch overhead that dominates a model
  this small (falls back to eager execution if the capture fails);
- after every epoch a checkpoint (each seed's weights and history, the optimizer, the runs) is written
  atomically; :func:`resume` picks it up when its runs match, and on the CPU training then ends with
  the same weights as an uninterrupted run.

Numbers: a seed trained stacked does the same arithmetic as the seed alone in another order (grouped
kernels), so it is not bitwise equal to it (``tests/test_lenet_grouped.py`` states the tolerance); it does
not depend on which other seeds share its group, and the same group gives bit-identical weights twice.

:func:`train_group` is the composition: :func:`resume` (or start afresh), then per epoch :func:`train_epoch`
and :func:`evaluate_epoch` (the test monitoring), a history row per seed and a checkpoint; :func:`train` is
one seed alone.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from mnistrepro.experiments.lenet import LeNet5, analytic_param_counts, init_weights_, measured_param_counts
from mnistrepro.experiments.lenet_eval import eval_batch_size as default_eval_batch_size
from mnistrepro.experiments.lenet_eval import logits_and_loss
from mnistrepro.experiments.lenet_ops import retain_freed_memory
from mnistrepro.study.io import atomic_path, save_torch
from mnistrepro.study.records import LenetTrainingRecord
from mnistrepro.study.seeds import group_label, mix_seed

log = logging.getLogger(__name__)

# 2: one layout for one seed and a group (a list of seeds, the optimizer, whether stacked); a checkpoint of
# format 1 is ignored and its run starts afresh.
CHECKPOINT_FORMAT = 2

HISTORY_FIELDS = (
    "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
    "epoch_seconds", "images_per_s", "eval_seconds",
)


@dataclass(frozen=True)
class LeNetRun:
    """What defines one training run (its checkpoint is only resumed under the same values, epochs aside)."""

    c3: str
    seed: int
    epochs: int = 10
    batch_size: int = 100
    lr: float = 0.1
    train_limit: int | None = None
    test_limit: int | None = None

    def identity(self) -> dict[str, Any]:
        """The fields a checkpoint must share to be resumed (``epochs`` may grow between attempts)."""
        d = dataclasses.asdict(self)
        d.pop("epochs")
        return d


@dataclass
class DeviceData:
    """MNIST on the device: images ``[N, 1, 28, 28]`` float32 in [0, 1], labels int64 ``[N]``."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def device(self) -> torch.device:
        return self.train_x.device


def to_device_data(mnist: Mapping[str, torch.Tensor], device: torch.device | str,
                   train_limit: int | None = None, test_limit: int | None = None) -> DeviceData:
    """Move the uint8 images of :func:`mnistrepro.data.tensors.load_mnist` to ``device`` and scale them there.

    ``x / 255`` in float32, as ``torchvision.transforms.ToTensor`` computes it. ``*_limit`` keeps the first
    N images of a split (``None``: all).
    """
    device = torch.device(device)

    def images(t: torch.Tensor, limit: int | None) -> torch.Tensor:
        t = t[:limit] if limit is not None else t
        if t.dtype != torch.uint8 or t.dim() != 3:
            raise ValueError(f"expected uint8 images [N, H, W], got {t.dtype} {tuple(t.shape)}")
        return t.to(device).unsqueeze(1).to(torch.float32).div_(255)

    def labels(t: torch.Tensor, limit: int | None) -> torch.Tensor:
        t = t[:limit] if limit is not None else t
        return t.to(device=device, dtype=torch.long)

    return DeviceData(
        train_x=images(mnist["train_images"], train_limit),
        train_y=labels(mnist["train_labels"], train_limit),
        test_x=images(mnist["test_images"], test_limit),
        test_y=labels(mnist["test_labels"], test_limit),
    )


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The order (CPU int64 ``[n]``) in which epoch ``epoch`` (0-based) of run ``seed`` visits the images.

    Drawn from a generator seeded from ``(seed, epoch)`` alone, so it does not depend on what ran before.
    """
    generator = torch.Generator().manual_seed(mix_seed("lenet-shuffle", seed, epoch))
    return torch.randperm(n, generator=generator)


def build_model(c3: str, seed: int, device: torch.device | str = "cpu") -> LeNet5:
    """LeNet-5 with weights drawn on the CPU from ``seed`` (:func:`mnistrepro.experiments.lenet.init_weights_`: the
    layers other than C3 are the same for every C3 kind), then moved to ``device``."""
    with torch.random.fork_rng(devices=[]):  # the modules' own default init draws from the global generator
        model = LeNet5(c3)
    return init_weights_(model, seed).to(device)


def make_optimizer(params: Sequence[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """Plain SGD (no momentum, no weight decay), as in SPEC.md."""
    return torch.optim.SGD(params, lr=lr, foreach=True)


# ----------------------------------------------------------------------------------------------
# Per-epoch test monitoring (the run's evaluation is its own step: mnistrepro.experiments.lenet_eval)


def evaluate_epoch(model: torch.nn.Module, data: DeviceData, batch_size: int) -> dict[str, float]:
    """The test monitoring after an epoch: ``test_loss`` (mean cross-entropy), ``test_accuracy`` and
    ``eval_seconds``, on ``data.test_x`` ``[N, 1, 28, 28]`` in batches of ``batch_size``.

    Goes through :func:`mnistrepro.experiments.lenet_eval.logits_and_loss`, as the evaluation step does, so that the
    evaluation of the saved weights reproduces the last epoch's numbers bit for bit.
    """
    start = time.perf_counter()
    logits, loss_sum = logits_and_loss(model, data.test_x, data.test_y, batch_size)
    correct = int((logits.argmax(1) == data.test_y).sum())  # syncs
    seconds = time.perf_counter() - start
    n = data.test_y.shape[0]
    return {"test_loss": float(loss_sum) / n, "test_accuracy": correct / n, "eval_seconds": seconds}


# ----------------------------------------------------------------------------------------------
# The seeds of a training job, on a seed axis


class SingleLeNet:
    """One LeNet-5 as a seed axis of size one: the module runs as it is, its parameters are the optimizer's.

    The fast path for one seed (no ``vmap``), and the arithmetic of a seed trained alone.
    """

    stacked = False

    def __init__(self, model: LeNet5) -> None:
        self.models = [model]
        self.size = 1

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``[1, B, 1, 28, 28]``, ``y`` ``[1, B]`` -> logits ``[1, B, 10]`` and the mean cross-entropy ``[1]``."""
        logits = self.models[0](x[0])
        return logits.unsqueeze(0), F.cross_entropy(logits, y[0]).unsqueeze(0)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.models[0].parameters())

    def copy_to_models(self) -> None:
        """Nothing to do: the module itself is trained."""


class StackedLeNet:
    """``M`` LeNet-5 models of one C3 kind as stacked parameters, run together through :func:`torch.func.vmap`.

    ``params[name]`` is ``[M, *shape]`` (leaf tensors that require gradients); ``self(x)`` maps
    ``x`` ``[M, B, 1, 28, 28]`` (seed ``i``'s batch at ``x[i]``) to logits ``[M, B, 10]``. Convolutions become
    grouped convolutions and linear layers batched matrix products, so a seed's numbers are not bitwise those
    of the seed alone (:class:`SingleLeNet`), but do not depend on the other seeds.
    """

    stacked = True

    def __init__(self, models: Sequence[LeNet5]) -> None:
        kinds = {m.c3_kind for m in models}
        if len(kinds) != 1:
            raise ValueError(f"a group trains one C3 kind, got {sorted(kinds)}")
        self.models = list(models)
        self.params, self.buffers = stack_module_state(self.models)
        # A weightless copy to call with each seed's parameters.
        self.template = copy.deepcopy(self.models[0]).to("meta")
        self.size = len(self.models)

    def _one(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return vmap(self._one)(self.params, self.buffers, x)

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``[M, B, 1, 28, 28]``, ``y`` ``[M, B]`` -> logits ``[M, B, 10]`` and each seed's mean
        cross-entropy over its own batch ``[M]`` (the gradient of their sum with respect to one seed's parameters
        is that seed's gradient alone)."""
        m, b = y.shape
        logits = self(x)
        losses = F.cross_entropy(logits.reshape(m * b, -1), y.reshape(-1), reduction="none").view(m, b).mean(1)
        return logits, losses

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    @torch.no_grad()
    def copy_to_models(self) -> None:
        """Copy seed ``i``'s current parameters into ``models[i]`` (for evaluation and saving)."""
        for i, model in enumerate(self.models):
            for name, param in model.named_parameters():
                param.copy_(self.params[name][i])


SeedAxis = SingleLeNet | StackedLeNet


def seed_axis(models: Sequence[LeNet5], stacked: bool) -> SeedAxis:
    """``models`` on a seed axis: stacked (:class:`StackedLeNet`), or the one model as it is (:class:`SingleLeNet`)."""
    if stacked:
        return StackedLeNet(models)
    if len(models) != 1:
        raise ValueError(f"only a stacked group trains more than one seed, got {len(models)}")
    return SingleLeNet(models[0])


# ----------------------------------------------------------------------------------------------
# Training


class TrainStep:
    """``step(idx)``: one SGD step of every seed of ``net``, seed ``i`` on the batch ``data.train_x[idx[i]]``
    (``idx`` int64 ``[M, B]``, ``M = net.size``); the pipeline's inner loop.

    Accumulates each seed's summed loss (``loss_sum`` ``[M]``, float64) and number of correct predictions
    (``correct`` ``[M]``, int64) on the device, without synchronising; ``reset()`` zeroes them.

    ``graph=True`` (CUDA only) captures the full-batch step as a CUDA graph after a few warm-up steps
    whose effect on the weights is undone; batches of another size run eagerly.
    """

    def __init__(self, net: SeedAxis, optimizer: torch.optim.Optimizer, data: DeviceData,
                 batch_size: int, graph: bool) -> None:
        self.net, self.optimizer, self.data, self.batch_size = net, optimizer, data, batch_size
        device = data.device
        self.loss_sum = torch.zeros(net.size, dtype=torch.float64, device=device)
        self.correct = torch.zeros(net.size, dtype=torch.long, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None
        if graph and device.type == "cuda" and data.train_x.shape[0] >= batch_size:
            try:
                self._capture()
            except Exception as exc:  # pragma: no cover - depends on the GPU stack
                log.warning("CUDA graph capture failed (%s: %s); training eagerly", type(exc).__name__, exc)
                self.graph = None

    def _step(self, idx: torch.Tensor) -> None:
        m, b = idx.shape
        flat = idx.reshape(-1)
        x = self.data.train_x.index_select(0, flat).view(m, b, *self.data.train_x.shape[1:])
        y = self.data.train_y.index_select(0, flat).view(m, b)
        logits, losses = self.net.forward_loss(x, y)
        losses.sum().backward()
        self.optimizer.step()
        self.loss_sum.add_(losses.detach().double() * b)
        self.correct.add_((logits.detach().argmax(2) == y).sum(1))

    def _capture(self) -> None:  # pragma: no cover - needs a GPU
        device = self.data.device
        params = self.net.parameters()
        saved = [p.detach().clone() for p in params]
        saved_opt = copy.deepcopy(self.optimizer.state_dict())
        self.static_idx = torch.arange(self.batch_size, device=device).repeat(self.net.size, 1)
        try:
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(3):  # warm-up: cuDNN/cuBLAS handles, autograd's device threads
                    self.optimizer.zero_grad(set_to_none=True)
                    self._step(self.static_idx)
            torch.cuda.current_stream(device).wait_stream(side)
            self.optimizer.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._step(self.static_idx)
            self.graph = graph
        finally:
            # Undo the warm-up steps, whether or not the capture worked: the weights (in place: the
            # graph holds their addresses), the optimizer state, and the accumulators.
            torch.cuda.synchronize(device)
            with torch.no_grad():
                for p, s in zip(params, saved):
                    p.copy_(s)
            self.optimizer.load_state_dict(saved_opt)
            self.reset()

    def reset(self) -> None:
        self.loss_sum.zero_()
        self.correct.zero_()

    def __call__(self, idx: torch.Tensor) -> None:
        if self.graph is not None and idx.shape[1] == self.batch_size:
            self.static_idx.copy_(idx)
            self.graph.replay()
        else:
            self.optimizer.zero_grad(set_to_none=True)
            self._step(idx)
            if self.graph is not None:
                # Keep no eager gradients alive beside the graph's own.
                self.optimizer.zero_grad(set_to_none=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class TrainState:
    """One run after ``len(history)`` epochs, as :func:`train` and :func:`train_group` return it."""

    model: LeNet5
    history: list[dict[str, Any]]
    resumed_from_epoch: int | None  # epochs already done when training started (None: fresh start)

    @property
    def epochs_done(self) -> int:
        return len(self.history)  # one row per finished epoch


@dataclass
class GroupState:
    """The seeds of a training job after ``len(histories[0])`` epochs: what :func:`resume` starts from."""

    net: SeedAxis
    optimizer: torch.optim.Optimizer
    histories: list[list[dict[str, Any]]]  # per seed, one row per finished epoch
    resumed_from_epoch: int | None

    @property
    def epochs_done(self) -> int:
        return len(self.histories[0])


def use_deterministic_cudnn(device: torch.device) -> None:
    """On CUDA, deterministic cuDNN convolutions and no autotuning, so that a seed gives the same numbers
    (process-wide settings); nothing elsewhere."""
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def check_group(runs: Sequence[LeNetRun]) -> None:
    """Raises ``ValueError`` unless ``runs`` is at least one run, all alike but for distinct seeds."""
    if not runs:
        raise ValueError("a group needs at least one run")
    if len({dataclasses.replace(r, seed=0) for r in runs}) != 1:
        raise ValueError(f"the runs of a group must differ only in their seed, got {runs}")
    seeds = [r.seed for r in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"a group's seeds must be distinct, got {seeds}")


def save_checkpoint(path: str | os.PathLike, runs: Sequence[LeNetRun], state: GroupState, epoch: int,
                    device: torch.device) -> None:
    """Atomically write everything :func:`train_group` needs to continue ``runs`` after ``epoch`` finished epochs:
    each seed's weights and history, the optimizer, and whether the seeds were stacked (their arithmetic)."""
    state.net.copy_to_models()
    save_torch({
        "format": CHECKPOINT_FORMAT,
        "runs": [r.identity() for r in runs],
        "stacked": state.net.stacked,
        "epoch": epoch,
        "models": [m.state_dict() for m in state.net.models],
        "optimizer": state.optimizer.state_dict(),
        "histories": [list(h) for h in state.histories],
        "device_type": device.type,
    }, path)


def load_checkpoint(path: str | os.PathLike, runs: Sequence[LeNetRun], stacked: bool,
                    device: torch.device) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists, was written for ``runs`` trained the same way (``stacked``) and is
    at most ``runs[0].epochs`` epochs in; else ``None``, with the reason logged."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a torn or foreign file: start afresh rather than fail the job
        log.warning("ignoring unreadable checkpoint %s (%s: %s)", path, type(exc).__name__, exc)
        return None
    owner = {"runs": [r.identity() for r in runs], "stacked": stacked}
    made_for = {key: ckpt.get(key) for key in owner}
    if ckpt.get("format") != CHECKPOINT_FORMAT or made_for != owner:
        log.warning("ignoring checkpoint %s (format %s): made for %s, this is %s", path, ckpt.get("format"), made_for,
                    owner)
        return None
    epochs = runs[0].epochs
    if not 0 <= ckpt["epoch"] <= epochs:
        log.warning("ignoring checkpoint %s: at epoch %d, this run has %d epochs", path, ckpt["epoch"], epochs)
        return None
    if ckpt.get("device_type") != device.type:
        log.warning("checkpoint %s was written on %s, resuming on %s: the result will not be bit-identical "
                    "to an uninterrupted run", path, ckpt.get("device_type"), device.type)
    return ckpt


def resume(runs: Sequence[LeNetRun], device: torch.device, checkpoint_path: str | os.PathLike | None = None,
           channels_last: bool | None = None, stacked: bool | None = None) -> GroupState:
    """The seeds of ``runs`` on ``device`` with their optimizer: from the checkpoint at ``checkpoint_path`` when one
    belongs to them ("resumed from epoch k" is logged), else freshly initialised from each run's seed.

    ``stacked`` (default: more than one run) trains the seeds through :class:`StackedLeNet`, else the one run's
    module as it is (:class:`SingleLeNet`). ``channels_last`` (default: on the CPU only) stores activations NHWC,
    which oneDNN's convolutions and pooling run faster on, and is the memory format the evaluation step evaluates
    in (:func:`mnistrepro.experiments.lenet_eval.load_model`).
    """
    check_group(runs)
    stacked = len(runs) > 1 if stacked is None else stacked
    if channels_last is None:
        channels_last = device.type == "cpu"
    # Built from the seed even when resuming: the checkpoint's weights are then copied in place.
    models = [build_model(r.c3, r.seed, device) for r in runs]
    if channels_last:
        models = [m.to(memory_format=torch.channels_last) for m in models]
    ckpt = load_checkpoint(checkpoint_path, runs, stacked, device) if checkpoint_path is not None else None
    if ckpt is not None:
        for model, weights in zip(models, ckpt["models"]):
            model.load_state_dict(weights)
    net = seed_axis(models, stacked)  # stacks the loaded weights
    optimizer = make_optimizer(net.parameters(), runs[0].lr)
    if ckpt is None:
        return GroupState(net=net, optimizer=optimizer, histories=[[] for _ in runs], resumed_from_epoch=None)
    optimizer.load_state_dict(ckpt["optimizer"])
    log.info("resumed from epoch %d (checkpoint %s)", ckpt["epoch"], checkpoint_path)
    return GroupState(net=net, optimizer=optimizer, histories=[list(h) for h in ckpt["histories"]],
                      resumed_from_epoch=int(ckpt["epoch"]))


def train_epoch(step: TrainStep, seeds: Sequence[int], epoch: int) -> list[dict[str, float]]:
    """Epoch ``epoch`` (0-based) of every seed of ``step`` (``seeds[i]``: seed ``i``'s run): one SGD step per batch
    of ``step.batch_size`` images, each seed in the order :func:`epoch_permutation` gives it. Returns per seed
    ``train_loss`` (mean over the epoch's images), ``train_accuracy``, ``epoch_seconds`` (the seeds share the
    time: each is charged its share) and ``images_per_s`` (all seeds' images).

    Raises:
        FloatingPointError: a seed's training loss is not finite.
    """
    data = step.data
    n = data.train_x.shape[0]
    orders = torch.stack([epoch_permutation(seed, epoch, n) for seed in seeds]).to(data.device, non_blocking=True)
    _sync(data.device)
    start = time.perf_counter()
    step.reset()
    for first in range(0, n, step.batch_size):
        step(orders[:, first:first + step.batch_size])
    loss_sums, corrects = step.loss_sum.tolist(), step.correct.tolist()  # syncs
    seconds = time.perf_counter() - start
    rows = []
    for seed, loss_sum, correct in zip(seeds, loss_sums, corrects):
        if not math.isfinite(loss_sum):
            raise FloatingPointError(f"seed {seed}, epoch {epoch + 1}: training loss is {loss_sum}")
        rows.append({"train_loss": loss_sum / n, "train_accuracy": correct / n,
                     "epoch_seconds": seconds / len(seeds), "images_per_s": n * len(seeds) / seconds})
    return rows


def train_group(runs: Sequence[LeNetRun], data: DeviceData, checkpoint_path: str | os.PathLike | None = None,
                cuda_graph: bool = True, channels_last: bool | None = None, eval_batch_size: int | None = None,
                stacked: bool | None = None,
                on_epoch_end: Callable[[int, list[dict[str, Any]]], None] | None = None) -> list[TrainState]:
    """Train the runs of one group (same C3 kind and settings, distinct seeds; one run is a group of one) for
    ``runs[0].epochs`` epochs on ``data`` (already on the device), resuming from ``checkpoint_path`` where it can
    (:func:`resume`, which also says what ``stacked`` and ``channels_last`` do). Returns each run's state, in order.

    Each epoch: :func:`train_epoch`, then each seed's :func:`evaluate_epoch` on the test images (on the seed's own
    module, as the evaluation step does); each seed's history row (:data:`HISTORY_FIELDS`) is appended, the
    checkpoint written to ``checkpoint_path`` (if given), and ``on_epoch_end(epoch, rows)`` called. ``cuda_graph``
    replays each training step as a CUDA graph on a GPU (:class:`TrainStep`); on CUDA this sets cuDNN to
    deterministic (:func:`use_deterministic_cudnn`).

    Raises:
        ValueError: the runs are not a group, or several are not ``stacked``.
        FloatingPointError: a seed's training loss is not finite.
    """
    device = data.device
    eval_batch_size = eval_batch_size or default_eval_batch_size(device)
    use_deterministic_cudnn(device)
    if device.type == "cpu":
        retain_freed_memory()  # the step's tensors reuse freed memory instead of fresh pages
    state = resume(runs, device, checkpoint_path, channels_last, stacked)
    first, seeds, models = runs[0], [r.seed for r in runs], state.net.models
    if state.epochs_done == 0:
        log.info("starting %s C3, seed%s %s%s: %d epochs of %d images, batch %d, lr %g, on %s", first.c3,
                 "s" if len(runs) > 1 else "", group_label(seeds), " stacked" if state.net.stacked else "",
                 first.epochs, data.train_x.shape[0], first.batch_size, first.lr, device)
    # The models and history lists are the ones the epochs below train and extend.
    results = [TrainState(model=model, history=history, resumed_from_epoch=state.resumed_from_epoch)
               for model, history in zip(models, state.histories)]
    if state.epochs_done == first.epochs:
        return results
    for model in models:
        model.train()
    step = TrainStep(state.net, state.optimizer, data, first.batch_size, graph=cuda_graph)
    if step.graph is not None:
        log.info("training step captured as a CUDA graph")
    for epoch in range(state.epochs_done, first.epochs):
        trained = train_epoch(step, seeds, epoch)
        state.net.copy_to_models()
        rows = []
        for run, model, history, row in zip(runs, models, state.histories, trained):
            row = {"epoch": epoch + 1, **row, **evaluate_epoch(model, data, eval_batch_size)}
            history.append(row)
            rows.append(row)
            log.info("%s C3 seed %d, epoch %d/%d: train loss %.4f acc %.4f, test loss %.4f acc %.4f, %.2f s "
                     "(%.0f images/s)", run.c3, run.seed, epoch + 1, first.epochs, row["train_loss"],
                     row["train_accuracy"], row["test_loss"], row["test_accuracy"], row["epoch_seconds"],
                     row["images_per_s"])
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, runs, state, epoch + 1, device)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, rows)
    return results


def training_record(run: LeNetRun, result: TrainState, data: DeviceData, hardware: dict[str, Any],
                    model_path: str | os.PathLike, model_sha256: str, threads: int | None = None,
                    gpu_index: int | None = None, trained_with: list[int] | None = None) -> LenetTrainingRecord:
    """The training.json of one run (:class:`mnistrepro.study.records.LenetTrainingRecord`): its settings, parameter
    counts, timing, device and hardware (mnistrepro.study.environment.job_hardware), and the weights it saved
    (``model``: the path of model.pt and its SHA-256, which the evaluation checks). ``trained_with``: the seeds of its
    training group when it was trained stacked with others (:func:`train_group`), else ``None``. No test metrics: those
    are the evaluation step's, mnistrepro.experiments.lenet_eval."""
    model = result.model
    record: dict[str, Any] = {"experiment": "lenet", **dataclasses.asdict(run)}
    record["train_images"] = int(data.train_x.shape[0])
    measured = measured_param_counts(model)
    analytic = analytic_param_counts(run.c3)
    record["trainable_params"] = measured["total"]
    record["trainable_params_analytic"] = analytic["total"]
    record["params_per_layer"] = {"measured": measured, "analytic": analytic}
    history = result.history
    record["train_seconds"] = sum(row["epoch_seconds"] for row in history)
    record["eval_seconds"] = sum(row["eval_seconds"] for row in history)  # the per-epoch test monitoring
    record["images_per_s"] = (record["train_images"] * len(history) / record["train_seconds"]
                              if record["train_seconds"] > 0 else None)
    if history:
        record["final_train_loss"] = history[-1]["train_loss"]
        record["final_train_accuracy"] = history[-1]["train_accuracy"]
    record["device"] = hardware["device"]
    record["device_type"] = data.device.type
    record["threads"] = threads
    record["resumed_from_epoch"] = result.resumed_from_epoch
    record["torch_version"] = torch.__version__
    record["gpu_index"] = gpu_index
    record["hardware"] = hardware
    record["model"] = {"path": str(model_path), "sha256": model_sha256}
    record["trained_with"] = trained_with
    return record


# ----------------------------------------------------------------------------------------------
# Outputs


def write_history_csv(history: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """The per-epoch history as CSV (columns :data:`HISTORY_FIELDS`), written atomically."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        for row in history:
            writer.writerow({k: row[k] for k in HISTORY_FIELDS})


def save_model(model: LeNet5, run: LeNetRun, path: str | os.PathLike) -> str:
    """The trained weights (CPU, contiguous) with the run that produced them, written atomically (read back by
    :func:`mnistrepro.experiments.lenet_eval.load_model`). Returns the file's SHA-256, for the training record."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    saved = {"c3": run.c3, "run": dataclasses.asdict(run), "state_dict": state}
    return save_torch(saved, path)
