"""Training LeNet-5 (SPEC.md experiment B) on MNIST tensors held on the device (evaluating the trained
weights is its own step: :mod:`mnistrepro.lenet_eval`).

The loop is built for speed and for exact reproducibility:

- the images are moved to the device once and scaled there (uint8 -> float32 / 255, i.e. ``ToTensor``);
  batches are ``index_select`` of the resident tensors, no per-sample work;
- epoch ``e`` visits the training images in the order :func:`epoch_permutation` ``(seed, e)`` gives, a
  permutation drawn from its own generator, so a resumed run sees the same batches as an
  uninterrupted one; the weights are initialised from ``seed`` (on the CPU, whatever the device);
- loss and accuracy are accumulated on the device and read once an epoch (no per-batch sync);
- on CUDA, one training step (batch gather, forward, backward, SGD update, accumulation) is captured
  as a CUDA graph and replayed, removing the per-kernel launch overhead that dominates a model
  this small (falls back to eager execution if the capture fails);
- after every epoch a checkpoint (model, optimizer, epoch, history, run description) is written
  atomically; :func:`resume` picks it up when its run description matches, and on the CPU training
  then ends with the same weights as an uninterrupted run.

:func:`train` is the composition: :func:`resume` (or start afresh), then per epoch :func:`train_epoch`
and :func:`evaluate_epoch` (the test monitoring), a history row and a checkpoint.
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
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F

from mnistrepro.io import atomic_path, save_torch
from mnistrepro.lenet import LeNet5, analytic_param_counts, c3_saved, init_weights_, measured_param_counts
from mnistrepro.lenet_eval import eval_batch_size as default_eval_batch_size
from mnistrepro.lenet_eval import logits_and_loss
from mnistrepro.lenet_ops import retain_freed_memory
from mnistrepro.records import LenetTrainingRecord
from mnistrepro.seeds import mix_seed

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1

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
    """Move the uint8 images of :func:`mnistrepro.data.load_mnist` to ``device`` and scale them there.

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
    """LeNet-5 with weights drawn on the CPU from ``seed`` (:func:`mnistrepro.lenet.init_weights_`: the layers
    other than C3 are the same for every C3 kind), then moved to ``device``."""
    with torch.random.fork_rng(devices=[]):  # the modules' own default init draws from the global generator
        model = LeNet5(c3)
    return init_weights_(model, seed).to(device)


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """Plain SGD (no momentum, no weight decay), as in SPEC.md."""
    return torch.optim.SGD(model.parameters(), lr=lr, foreach=True)


# ----------------------------------------------------------------------------------------------
# Per-epoch test monitoring (the run's evaluation is its own step: mnistrepro.lenet_eval)


def evaluate_epoch(model: torch.nn.Module, data: DeviceData, batch_size: int) -> dict[str, float]:
    """The test monitoring after an epoch: ``test_loss`` (mean cross-entropy), ``test_accuracy`` and
    ``eval_seconds``, on ``data.test_x`` ``[N, 1, 28, 28]`` in batches of ``batch_size``.

    Goes through :func:`mnistrepro.lenet_eval.logits_and_loss`, as the evaluation step does, so that the
    evaluation of the saved weights reproduces the last epoch's numbers bit for bit.
    """
    start = time.perf_counter()
    logits, loss_sum = logits_and_loss(model, data.test_x, data.test_y, batch_size)
    correct = int((logits.argmax(1) == data.test_y).sum())  # syncs
    seconds = time.perf_counter() - start
    n = data.test_y.shape[0]
    return {"test_loss": float(loss_sum) / n, "test_accuracy": correct / n, "eval_seconds": seconds}


# ----------------------------------------------------------------------------------------------
# Training


class TrainStep:
    """``step(idx)``: one SGD step on the batch ``data.train_x[idx]`` (the pipeline's inner loop).

    Accumulates the summed loss (``loss_sum``, float64) and the number of correct predictions
    (``correct``) on the device, without synchronising; ``reset()`` zeroes them.

    ``graph=True`` (CUDA only) captures the full-batch step as a CUDA graph after a few warm-up steps
    whose effect on the weights is undone; batches of another size run eagerly.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, data: DeviceData,
                 batch_size: int, graph: bool) -> None:
        self.model, self.optimizer, self.data, self.batch_size = model, optimizer, data, batch_size
        device = data.device
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.long, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None
        if graph and device.type == "cuda" and data.train_x.shape[0] >= batch_size:
            try:
                self._capture()
            except Exception as exc:  # pragma: no cover - depends on the GPU stack
                log.warning("CUDA graph capture failed (%s: %s); training eagerly", type(exc).__name__, exc)
                self.graph = None

    def _step(self, idx: torch.Tensor) -> None:
        x = self.data.train_x.index_select(0, idx)
        y = self.data.train_y.index_select(0, idx)
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        self.loss_sum.add_(loss.detach().double() * idx.shape[0])
        self.correct.add_((logits.detach().argmax(1) == y).sum())

    def _capture(self) -> None:  # pragma: no cover - needs a GPU
        device = self.data.device
        params = list(self.model.parameters())
        saved = [p.detach().clone() for p in params]
        saved_opt = copy.deepcopy(self.optimizer.state_dict())
        self.static_idx = torch.arange(self.batch_size, device=device)
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
        if self.graph is not None and idx.shape[0] == self.batch_size:
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
    """A run after ``len(history)`` epochs: what :func:`resume` starts from and :func:`train` returns."""

    model: LeNet5
    optimizer: torch.optim.Optimizer | None  # None for a seed trained in a group (plain SGD, no state)
    history: list[dict[str, Any]]
    resumed_from_epoch: int | None  # epochs already done when training started (None: fresh start)

    @property
    def epochs_done(self) -> int:
        return len(self.history)  # one row per finished epoch


def use_deterministic_cudnn(device: torch.device) -> None:
    """On CUDA, deterministic cuDNN convolutions and no autotuning, so that a seed gives the same numbers
    (process-wide settings); nothing elsewhere."""
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def read_checkpoint(path: str | os.PathLike, device: torch.device, checkpoint_format: int, owner_key: str,
                    owner: Any, epochs: int) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists, has ``checkpoint_format``, was written for ``owner`` (its
    ``owner_key`` entry: a run's identity, or a group's list of them) and is at most ``epochs`` epochs in; else
    ``None``, with the reason logged. Shared by one run's checkpoints and a group's (mnistrepro.lenet_grouped)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a torn or foreign file: start afresh rather than fail the job
        log.warning("ignoring unreadable checkpoint %s (%s: %s)", path, type(exc).__name__, exc)
        return None
    if ckpt.get("format") != checkpoint_format or ckpt.get(owner_key) != owner:
        log.warning("ignoring checkpoint %s: made for %s, this is %s", path, ckpt.get(owner_key), owner)
        return None
    if not 0 <= ckpt["epoch"] <= epochs:
        log.warning("ignoring checkpoint %s: at epoch %d, this run has %d epochs", path, ckpt["epoch"], epochs)
        return None
    if ckpt.get("device_type") != device.type:
        log.warning("checkpoint %s was written on %s, resuming on %s: the result will not be bit-identical "
                    "to an uninterrupted run", path, ckpt.get("device_type"), device.type)
    return ckpt


def load_checkpoint(path: str | os.PathLike, run: LeNetRun, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists and belongs to ``run`` (else ``None``, with the reason logged)."""
    return read_checkpoint(path, device, CHECKPOINT_FORMAT, "run", run.identity(), run.epochs)


def resume(run: LeNetRun, device: torch.device, checkpoint_path: str | os.PathLike | None = None,
           channels_last: bool | None = None) -> TrainState:
    """The model and optimizer of ``run`` on ``device``: from the checkpoint at ``checkpoint_path`` when one
    belongs to ``run`` ("resumed from epoch k" is logged), else freshly initialised from ``run.seed``.

    ``channels_last`` (default: on the CPU only) stores activations NHWC, which oneDNN's convolutions and
    pooling run faster on.
    """
    if channels_last is None:
        channels_last = device.type == "cpu"
    # Built from the seed even when resuming: the checkpoint's weights are then copied in place.
    model = build_model(run.c3, run.seed, device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, run.lr)
    ckpt = load_checkpoint(checkpoint_path, run, device) if checkpoint_path is not None else None
    if ckpt is None:
        return TrainState(model=model, optimizer=optimizer, history=[], resumed_from_epoch=None)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    log.info("resumed from epoch %d (checkpoint %s)", ckpt["epoch"], checkpoint_path)
    return TrainState(model=model, optimizer=optimizer, history=list(ckpt["history"]),
                      resumed_from_epoch=int(ckpt["epoch"]))


def train_epoch(step: TrainStep, seed: int, epoch: int) -> dict[str, float]:
    """Epoch ``epoch`` (0-based) of run ``seed``: one SGD step per batch of ``step.batch_size`` images, in the
    order :func:`epoch_permutation` gives. Returns ``train_loss`` (mean over the epoch's images),
    ``train_accuracy``, ``epoch_seconds`` and ``images_per_s``.

    Raises:
        FloatingPointError: the epoch's training loss is not finite.
    """
    data = step.data
    n = data.train_x.shape[0]
    order = epoch_permutation(seed, epoch, n).to(data.device, non_blocking=True)
    _sync(data.device)
    start = time.perf_counter()
    step.reset()
    for first in range(0, n, step.batch_size):
        step(order[first:first + step.batch_size])
    loss_sum, correct = step.loss_sum.item(), step.correct.item()  # syncs
    seconds = time.perf_counter() - start
    if not math.isfinite(loss_sum):
        raise FloatingPointError(f"epoch {epoch + 1}: training loss is {loss_sum}")
    return {"train_loss": loss_sum / n, "train_accuracy": correct / n, "epoch_seconds": seconds,
            "images_per_s": n / seconds}


def train(run: LeNetRun, data: DeviceData, checkpoint_path: str | os.PathLike | None = None,
          cuda_graph: bool = True, channels_last: bool | None = None, eval_batch_size: int | None = None,
          on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainState:
    """Train LeNet-5 for ``run.epochs`` epochs on ``data`` (already on the device), resuming from
    ``checkpoint_path`` where it can (:func:`resume`).

    Each epoch: :func:`train_epoch`, then :func:`evaluate_epoch` on the test images; its history row
    (:data:`HISTORY_FIELDS`) is appended, the checkpoint written to ``checkpoint_path`` (if given), and
    ``on_epoch_end(epoch, row)`` called. ``cuda_graph`` replays each training step as a CUDA graph on a
    GPU (:class:`TrainStep`); on CUDA this sets cuDNN to deterministic (:func:`use_deterministic_cudnn`).
    """
    device = data.device
    eval_batch_size = eval_batch_size or default_eval_batch_size(device)
    use_deterministic_cudnn(device)
    if device.type == "cpu":
        retain_freed_memory()  # the step's tensors reuse freed memory instead of fresh pages
    state = resume(run, device, checkpoint_path, channels_last)
    done = state.epochs_done
    if done == 0:
        log.info("starting %s C3, seed %d: %d epochs of %d images, batch %d, lr %g, on %s",
                 run.c3, run.seed, run.epochs, data.train_x.shape[0], run.batch_size, run.lr, device)
    if done == run.epochs:
        return state
    state.model.train()
    step = TrainStep(state.model, state.optimizer, data, run.batch_size, graph=cuda_graph)
    if step.graph is not None:
        log.info("training step captured as a CUDA graph")
    for epoch in range(done, run.epochs):
        row = {"epoch": epoch + 1, **train_epoch(step, run.seed, epoch),
               **evaluate_epoch(state.model, data, eval_batch_size)}
        state.history.append(row)
        log.info("%s C3 seed %d, epoch %d/%d: train loss %.4f acc %.4f, test loss %.4f acc %.4f, %.2f s (%.0f images/s)",
                 run.c3, run.seed, epoch + 1, run.epochs, row["train_loss"], row["train_accuracy"], row["test_loss"],
                 row["test_accuracy"], row["epoch_seconds"], row["images_per_s"])
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, run, state.model, state.optimizer, epoch + 1, state.history, device)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, row)
    return state


def save_checkpoint(path: str | os.PathLike, run: LeNetRun, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, epoch: int, history: list[dict[str, Any]],
                    device: torch.device) -> None:
    """Atomically write everything :func:`train` needs to continue after ``epoch`` finished epochs."""
    save_torch({
        "format": CHECKPOINT_FORMAT,
        "run": run.identity(),
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": history,
        "device_type": device.type,
    }, path)


def training_record(run: LeNetRun, result: TrainState, data: DeviceData, hardware: dict[str, Any],
                    model_path: str | os.PathLike, model_sha256: str, threads: int | None = None,
                    gpu_index: int | None = None, trained_with: list[int] | None = None) -> LenetTrainingRecord:
    """The training.json of one run (:class:`mnistrepro.records.LenetTrainingRecord`): its settings, parameter
    counts, timing, device and hardware (mnistrepro.environment.job_hardware), and the weights it saved (``model``: the path of model.pt and
    its SHA-256, which the evaluation checks). ``trained_with``: the seeds of its training group when it was
    trained together with others (mnistrepro.lenet_grouped), else ``None``. No test metrics: those are the
    evaluation step's, mnistrepro.lenet_eval."""
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
    """The trained weights (CPU, contiguous) with the run that produced them and what its C3 kind needs to
    be rebuilt (:func:`mnistrepro.lenet.c3_saved`), written atomically (read back by
    :func:`mnistrepro.lenet_eval.load_model`). Returns the file's SHA-256, for the training record."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    saved = {"c3": run.c3, "run": dataclasses.asdict(run), "state_dict": state}
    c3_data = c3_saved(run.c3, model.c3)
    if c3_data is not None:
        saved["c3_saved"] = c3_data
    return save_torch(saved, path)
