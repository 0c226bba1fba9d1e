"""Training several seeds of one LeNet-5 variant together, in one process, vectorised over seeds.

On a GPU a LeNet-5 step is launch-bound: one seed keeps the GPU idle most of the time, and a job per seed pays
Python and torch start-up (10-15 s) for about 3 s of training. Here ``M`` seeds share every kernel launch: their
parameters are stacked (``[M, ...]``, :func:`torch.func.stack_module_state`) and one forward/backward runs all of
them through :func:`torch.func.vmap` (convolutions become grouped convolutions, linear layers batched matrix
products). On CUDA the whole group's step is captured as one CUDA graph.

What stays per seed, exactly as in :func:`mnistrepro.lenet_training.train`:

- the initial weights (:func:`mnistrepro.lenet_training.build_model` of the seed) and the batch order
  (:func:`mnistrepro.lenet_training.epoch_permutation` of the seed);
- the loss: each seed's mean cross-entropy over its own batch, and its own SGD update (the summed loss's gradient
  with respect to one seed's parameters is that seed's gradient alone);
- the per-epoch history and the test monitoring, computed on each seed's own :class:`LeNet5` module.

Numbers: a seed trained in a group does the same arithmetic in another order (grouped kernels), so it is not
bitwise equal to the seed trained alone (``tests/test_lenet_grouped.py`` states the tolerance); it does not
depend on which other seeds share its group, and the same group gives bit-identical weights twice.

One checkpoint per epoch holds the whole group; a killed job resumes from it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from mnistrepro.io import save_torch
from mnistrepro.lenet import LeNet5
from mnistrepro.lenet_eval import eval_batch_size as default_eval_batch_size
from mnistrepro.lenet_training import (DeviceData, LeNetRun, TrainState, build_model, epoch_permutation,
                                       evaluate_epoch, read_checkpoint, use_deterministic_cudnn)
from mnistrepro.seeds import group_label

log = logging.getLogger(__name__)

GROUP_CHECKPOINT_FORMAT = 1


class StackedLeNet:
    """``M`` LeNet-5 models of one C3 kind as stacked parameters, run together.

    ``params[name]`` is ``[M, *shape]`` (leaf tensors that require gradients); ``self(x)`` maps
    ``x`` ``[M, B, 1, 28, 28]`` (seed ``i``'s batch at ``x[i]``) to logits ``[M, B, 10]``.
    """

    def __init__(self, models: Sequence[LeNet5]) -> None:
        kinds = {m.c3_kind for m in models}
        if len(kinds) != 1:
            raise ValueError(f"a group trains one C3 kind, got {sorted(kinds)}")
        self.params, self.buffers = stack_module_state(list(models))
        # A weightless copy to call with each seed's parameters.
        self.template = copy.deepcopy(models[0]).to("meta")
        self.size = len(models)

    def _one(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return vmap(self._one)(self.params, self.buffers, x)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    @torch.no_grad()
    def copy_to(self, models: Sequence[LeNet5]) -> None:
        """Copy seed ``i``'s current parameters into ``models[i]`` (for evaluation and saving)."""
        for i, model in enumerate(models):
            for name, param in model.named_parameters():
                param.copy_(self.params[name][i])


class GroupTrainStep:
    """``step(idx)``: one SGD step of every seed of ``net``, seed ``i`` on the batch ``data.train_x[idx[i]]``
    (``idx`` ``[M, B]``).

    Accumulates each seed's summed loss (``loss_sum`` ``[M]``, float64) and correct predictions (``correct``
    ``[M]``) on the device without synchronising; ``reset()`` zeroes them. ``graph=True`` (CUDA only) captures
    the full-batch step as a CUDA graph, as :class:`mnistrepro.lenet_training.TrainStep` does for one seed.
    """

    def __init__(self, net: StackedLeNet, lr: float, data: DeviceData, batch_size: int, graph: bool) -> None:
        self.net, self.lr, self.data, self.batch_size = net, lr, data, batch_size
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

    def _zero_grad(self) -> None:
        for p in self.net.parameters():
            p.grad = None

    def _step(self, idx: torch.Tensor) -> None:
        m, b = idx.shape
        flat = idx.reshape(-1)
        x = self.data.train_x.index_select(0, flat).view(m, b, *self.data.train_x.shape[1:])
        y = self.data.train_y.index_select(0, flat).view(m, b)
        logits = self.net(x)
        # Each seed's mean loss over its batch; their sum's gradient is each seed's own gradient.
        losses = F.cross_entropy(logits.reshape(m * b, -1), y.reshape(-1), reduction="none").view(m, b).mean(1)
        losses.sum().backward()
        params = self.net.parameters()
        with torch.no_grad():
            # torch.optim.SGD's update without momentum: p <- p - lr * grad.
            torch._foreach_add_(params, [p.grad for p in params], alpha=-self.lr)
        self.loss_sum.add_(losses.detach().double() * b)
        self.correct.add_((logits.detach().argmax(2) == y).sum(1))

    def _capture(self) -> None:  # pragma: no cover - needs a GPU
        device = self.data.device
        params = self.net.parameters()
        saved = [p.detach().clone() for p in params]
        self.static_idx = torch.arange(self.batch_size, device=device).repeat(self.net.size, 1)
        try:
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(3):  # warm-up: cuDNN/cuBLAS handles, autograd's device threads
                    self._zero_grad()
                    self._step(self.static_idx)
            torch.cuda.current_stream(device).wait_stream(side)
            self._zero_grad()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._step(self.static_idx)
            self.graph = graph
        finally:
            # Undo the warm-up steps in place (the graph holds the parameters' addresses) and the accumulators.
            torch.cuda.synchronize(device)
            with torch.no_grad():
                for p, s in zip(params, saved):
                    p.copy_(s)
            self.reset()

    def reset(self) -> None:
        self.loss_sum.zero_()
        self.correct.zero_()

    def __call__(self, idx: torch.Tensor) -> None:
        if self.graph is not None and idx.shape[1] == self.batch_size:
            self.static_idx.copy_(idx)
            self.graph.replay()
        else:
            self._zero_grad()
            self._step(idx)
            if self.graph is not None:
                self._zero_grad()


def _check_group(runs: Sequence[LeNetRun]) -> None:
    if not runs:
        raise ValueError("a group needs at least one run")
    if len({dataclasses.replace(r, seed=0) for r in runs}) != 1:
        raise ValueError(f"the runs of a group must differ only in their seed, got {runs}")
    seeds = [r.seed for r in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"a group's seeds must be distinct, got {seeds}")


@dataclass
class GroupCheckpoint:
    epoch: int
    states: list[dict[str, torch.Tensor]]
    histories: list[list[dict[str, Any]]]


def save_group_checkpoint(path: str | os.PathLike, runs: Sequence[LeNetRun], models: Sequence[LeNet5], epoch: int,
                          histories: Sequence[list[dict[str, Any]]], device: torch.device) -> None:
    """Atomically write the whole group after ``epoch`` finished epochs (plain SGD has no optimizer state)."""
    save_torch({
        "format": GROUP_CHECKPOINT_FORMAT,
        "runs": [r.identity() for r in runs],
        "epoch": epoch,
        "models": [m.state_dict() for m in models],
        "histories": [list(h) for h in histories],
        "device_type": device.type,
    }, path)


def load_group_checkpoint(path: str | os.PathLike, runs: Sequence[LeNetRun],
                          device: torch.device) -> GroupCheckpoint | None:
    """The group checkpoint at ``path`` if it exists and belongs to ``runs`` (else ``None``, reason logged)."""
    ckpt = read_checkpoint(path, device, GROUP_CHECKPOINT_FORMAT, "runs", [r.identity() for r in runs], runs[0].epochs)
    if ckpt is None:
        return None
    return GroupCheckpoint(epoch=int(ckpt["epoch"]), states=ckpt["models"], histories=ckpt["histories"])


def train_group(runs: Sequence[LeNetRun], data: DeviceData, checkpoint_path: str | os.PathLike | None = None,
                cuda_graph: bool = True, eval_batch_size: int | None = None,
                on_epoch_end: Callable[[int, list[dict[str, Any]]], None] | None = None) -> list[TrainState]:
    """Train the runs of one group (same C3 kind and settings, distinct seeds) together on ``data``'s device,
    resuming from ``checkpoint_path`` where it belongs to this group. Returns each run's state, in order.

    Each epoch: every seed takes one SGD step per batch in its own order; then each seed's test monitoring
    (:func:`mnistrepro.lenet_training.evaluate_epoch`, on the seed's own module, as the evaluation step does)
    and history row; then one checkpoint for the group and ``on_epoch_end(epoch, rows)``.

    Raises:
        FloatingPointError: a seed's training loss is not finite.
    """
    _check_group(runs)
    device = data.device
    first = runs[0]
    eval_batch_size = eval_batch_size or default_eval_batch_size(device)
    use_deterministic_cudnn(device)
    models = [build_model(r.c3, r.seed, device) for r in runs]
    if device.type == "cpu":
        # The memory format the evaluation step evaluates in (mnistrepro.lenet_eval.load_model).
        models = [m.to(memory_format=torch.channels_last) for m in models]
    histories: list[list[dict[str, Any]]] = [[] for _ in runs]
    resumed_from = None
    ckpt = load_group_checkpoint(checkpoint_path, runs, device) if checkpoint_path is not None else None
    if ckpt is not None:
        for model, state in zip(models, ckpt.states):
            model.load_state_dict(state)
        histories = [list(h) for h in ckpt.histories]
        resumed_from = ckpt.epoch
        log.info("resumed from epoch %d (checkpoint %s)", ckpt.epoch, checkpoint_path)
    else:
        log.info("starting %s C3, seeds %s together: %d epochs of %d images, batch %d, lr %g, on %s",
                 first.c3, [r.seed for r in runs], first.epochs, data.train_x.shape[0], first.batch_size,
                 first.lr, device)
    done = len(histories[0])
    states = lambda: [TrainState(model=m, optimizer=None, history=h, resumed_from_epoch=resumed_from)  # noqa: E731
                      for m, h in zip(models, histories)]
    if done == first.epochs:
        return states()
    net = StackedLeNet(models)
    step = GroupTrainStep(net, first.lr, data, first.batch_size, graph=cuda_graph)
    if step.graph is not None:
        log.info("the group's training step captured as a CUDA graph")
    n = data.train_x.shape[0]
    for epoch in range(done, first.epochs):
        orders = torch.stack([epoch_permutation(r.seed, epoch, n) for r in runs]).to(device, non_blocking=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step.reset()
        for lo in range(0, n, first.batch_size):
            step(orders[:, lo:lo + first.batch_size])
        loss_sums, corrects = step.loss_sum.tolist(), step.correct.tolist()  # syncs
        seconds = time.perf_counter() - start
        net.copy_to(models)
        rows = []
        for run, model, history, loss_sum, correct in zip(runs, models, histories, loss_sums, corrects):
            if not math.isfinite(loss_sum):
                raise FloatingPointError(f"seed {run.seed}, epoch {epoch + 1}: training loss is {loss_sum}")
            # The group's time is shared: each seed is charged its share.
            row = {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_accuracy": correct / n,
                   "epoch_seconds": seconds / len(runs), "images_per_s": n * len(runs) / seconds,
                   **evaluate_epoch(model, data, eval_batch_size)}
            history.append(row)
            rows.append(row)
        log.info("%s C3 seeds %s, epoch %d/%d: %.2f s (%.0f images/s); test accuracy %s", first.c3,
                 group_label([r.seed for r in runs]), epoch + 1, first.epochs, seconds, n * len(runs) / seconds,
                 " ".join(f"{r['test_accuracy']:.4f}" for r in rows))
        if checkpoint_path is not None:
            save_group_checkpoint(checkpoint_path, runs, models, epoch + 1, histories, device)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, rows)
    return states()
