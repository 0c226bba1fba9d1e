"""Images/s of the straightforward LeNet-5 training loop vs the pipeline's loop, side by side.

The straightforward loop is the textbook one: a ``DataLoader`` (batch 100, shuffled) over a dataset
that turns each uint8 image into a PIL image and applies ``ToTensor`` (what ``torchvision.datasets.MNIST``
does), the sparse C3 as 16 separate convolutions on index-sliced inputs (``reference_impl.lenet5_sixteen``),
``loss.item()`` every batch. The pipeline's loop is the inner loop of
:func:`mnistrepro.experiments.lenet_training.train_group` (data resident on the device, one convolution for the sparse C3,
channels-last on the CPU, CUDA graphs on a GPU). All loops run in this process on the same images, taking turns slice by
slice (``--slice`` batches) so that background load hits every loop alike; the median images/s over slices is reported,
with the ratios:

- ``speed-up``: pipeline images/s / straightforward images/s, per variant (target for sparse on the
  2-core CPU: at least 5);
- ``sparse/full time``: how much longer an epoch takes with the sparse C3 than with the full one
  (target for the pipeline: at most 1.25; the reference took 2.1).

On the CPU it also times the pipeline's training step before and after the fused step (docs/lenet-design.md, "A faster CPU step"):
``before`` is the layer-by-layer forward (``reference_impl.layer_by_layer``) with glibc's default allocator
settings; ``after`` is what :func:`mnistrepro.experiments.lenet_training.train_group` runs now (the fused ``tanh -> pool ->
tanh`` autograd nodes of :mod:`mnistrepro.experiments.lenet_ops`, C3 in NCHW, and freed memory kept in the heap by
:func:`mnistrepro.experiments.lenet_ops.retain_freed_memory`); ``allocator`` is ``before`` with the allocator setting
alone. The allocator setting is process-wide, so each path trains in its own worker process; the loops
take turns slice by slice (the others wait), and the ratio is the median over rounds of after/before
(wall clock; also per CPU-second, which other processes on a shared machine disturb less). Target: at
least 1.3x for both C3 variants with one thread.

On the CPU it also times the single-seed training step of one trainer for one seed and for groups
(:class:`mnistrepro.experiments.lenet_training.TrainStep` over a seed axis of one) beside the single-seed step it
replaced (``old``: ``reference_impl.SingleSeedStepBefore``, a frozen copy), in one worker process at one thread, both
with freed memory kept in the heap as training keeps it; the two take turns slice by slice (which one goes
first alternates), and ``new/old`` is the median over rounds of the new step's time over the old one's (1:
as fast; with the spread of the rounds' ratios, which is the run-to-run noise). Both take the same steps
from the same seed, so their weights must end bit-identical, which is checked. ``--single-step-only`` runs
just this comparison; on a loaded machine it takes many rounds to settle (``--images 100000 --slice 5``:
200 rounds).

On a CUDA device it also trains each variant for ``--epochs`` (10) full epochs with the pipeline's loop
and reports the training time (target: at most 3 s per variant on an H100-class GPU).

    .venv/bin/python benchmarks/bench_lenet.py                      # CPU, torch's default threads
    .venv/bin/python benchmarks/bench_lenet.py --threads 1 2        # one table per thread count
    .venv/bin/python benchmarks/bench_lenet.py --device cuda        # on a GPU

Without ``--data`` it uses results/data/mnist.pt when it exists, else synthetic MNIST-shaped data.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import ToTensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference_impl import SingleSeedStepBefore, layer_by_layer, lenet5_sixteen  # noqa: E402  (this directory)
from mnistrepro.experiments.lenet import LeNet5  # noqa: E402
from mnistrepro.experiments.lenet_ops import retain_freed_memory  # noqa: E402
from mnistrepro.experiments.lenet_training import (  # noqa: E402
    LeNetRun, TrainStep, epoch_permutation, resume, to_device_data, train_group, use_deterministic_cudnn)
from mnistrepro.study.choices import C3_KINDS, DEVICES  # noqa: E402
from mnistrepro.study.device import describe_device, resolve_device  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "results" / "data" / "mnist.pt"


def synthetic_mnist(n_train: int = 60_000, n_test: int = 10_000, seed: int = 0) -> dict[str, torch.Tensor]:
    """MNIST-shaped uint8 images (about 19% non-zero pixels) with labels 0-9."""
    gen = torch.Generator().manual_seed(seed)

    def images(n: int) -> torch.Tensor:
        mask = torch.rand(n, 28, 28, generator=gen) < 0.19
        return (torch.randint(0, 256, (n, 28, 28), generator=gen) * mask).to(torch.uint8)

    return {
        "train_images": images(n_train), "train_labels": torch.randint(0, 10, (n_train,), generator=gen),
        "test_images": images(n_test), "test_labels": torch.randint(0, 10, (n_test,), generator=gen),
    }


class PilMnist(Dataset):
    """What torchvision.datasets.MNIST does per sample: uint8 array -> PIL image -> transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = Image.fromarray(self.images[i].numpy(), mode="L")
        return self.transform(img), int(self.labels[i])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Straightforward:
    """The textbook loop; ``run(n_batches)`` trains on the next batches of its shuffled DataLoader."""

    def __init__(self, mnist: dict, c3: str, device: torch.device, seed: int) -> None:
        torch.manual_seed(seed)
        self.device = device
        self.model = (lenet5_sixteen() if c3 == "sparse" else LeNet5("full")).to(device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        dataset = PilMnist(mnist["train_images"], mnist["train_labels"], ToTensor())
        self.loader = DataLoader(dataset, batch_size=100, shuffle=True, generator=torch.Generator().manual_seed(seed))
        self.batches = iter(self.loader)
        self.running_loss = 0.0

    def run(self, n_batches: int) -> int:
        seen = 0
        for _ in range(n_batches):
            try:
                x, y = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                x, y = next(self.batches)
            x, y = x.to(self.device), y.to(self.device)
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.model(x), y)
            loss.backward()
            self.optimizer.step()
            self.running_loss += loss.item()
            seen += x.shape[0]
        return seen


class Pipeline:
    """The pipeline's loop for one seed: :class:`mnistrepro.experiments.lenet_training.TrainStep` on data resident on
    the device, set up as :func:`mnistrepro.experiments.lenet_training.train_group` sets it up (the seed's module alone,
    channels-last on the CPU, CUDA graph). ``fused=False``: the layer-by-layer forward (the step before the fused one).
    ``old=True``: the single-seed step before one trainer served one seed and groups alike
    (``reference_impl.SingleSeedStepBefore``)."""

    def __init__(self, data, c3: str, seed: int, fused: bool = True, old: bool = False) -> None:
        device = data.device
        use_deterministic_cudnn(device)
        if old:
            self.step = SingleSeedStepBefore(data, c3, seed)
            self.model = self.step.model
        else:
            state = resume([LeNetRun(c3=c3, seed=seed)], device, stacked=False)  # no checkpoint: a fresh start
            self.step = TrainStep(state.net, state.optimizer, data, 100, graph=True)
            self.model = state.net.models[0]
        if not fused:
            layer_by_layer(self.model)
        self.old, self.n, self.seed, self.epoch, self.pos = old, data.train_x.shape[0], seed, 0, 0
        self.perm = epoch_permutation(seed, 0, self.n).to(device)

    def run(self, n_batches: int) -> int:
        seen = 0
        for _ in range(n_batches):
            if self.pos + 100 > self.n:
                self.epoch, self.pos = self.epoch + 1, 0
                self.perm = epoch_permutation(self.seed, self.epoch, self.n).to(self.perm.device)
            idx = self.perm[self.pos:self.pos + 100]
            self.step(idx if self.old else idx.unsqueeze(0))  # the old step's batch has no seed axis
            self.pos += 100
            seen += 100
        float(self.step.loss_sum.sum())  # what train_group() reads once an epoch; syncs a GPU
        return seen


def compare(mnist: dict, device: torch.device, n_images: int, slice_batches: int, straightforward: bool) -> dict:
    """Round-robin over the loops in slices of ``slice_batches`` batches, so background load hits all alike;
    each loop trains on ``n_images`` images in all. Returns the median images/s over slices, per loop."""
    data = to_device_data(mnist, device, test_limit=1000)
    loops = {}
    for c3 in C3_KINDS:
        if straightforward:
            loops[f"straightforward/{c3}"] = Straightforward(mnist, c3, device, seed=0)
        loops[f"pipeline/{c3}"] = Pipeline(data, c3, seed=0)
    return alternate(loops, device, max(1, n_images // (100 * slice_batches)), slice_batches)


def alternate(loops: dict, device: torch.device, rounds: int, slice_batches: int) -> dict[str, float]:
    """Each loop in turn runs ``slice_batches`` batches, ``rounds`` times (after a warm-up: oneDNN/cuDNN
    primitives, DataLoader start), so that background load hits every loop alike; the median images/s of each."""
    for loop in loops.values():
        loop.run(2)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, loop in loops.items():
            sync(device)
            start = time.perf_counter()
            seen = loop.run(slice_batches)
            sync(device)
            rates[name].append(seen / (time.perf_counter() - start))
    return {name: statistics.median(r) for name, r in rates.items()}


# ----------------------------------------------------------------------------------------------
# The CPU step before and after the fused step, in two processes taking turns

STEP_PATHS = {
    # name: (the fused forward, retain_freed_memory() in the process)
    "before": (False, False),     # layer-by-layer forward, glibc's default allocator settings
    "allocator": (False, True),   # the same, with freed memory kept in the heap (attribution only)
    "after": (True, True),        # fused tanh-pool-tanh blocks, NCHW C3, freed memory kept (what train_group() does)
}


def _step_worker(conn, data_path: str | None, path: str, threads: int) -> None:
    """One process per path (the allocator setting is process-wide): trains both C3 variants' loops
    slice by slice when told to; answers (images, wall seconds, CPU seconds) per slice."""
    fused, retain = STEP_PATHS[path]
    torch.set_num_threads(threads)
    if retain:
        retain_freed_memory()
    mnist = torch.load(data_path, weights_only=True) if data_path else synthetic_mnist()
    data = to_device_data(mnist, "cpu", test_limit=1000)
    loops = {c3: Pipeline(data, c3, seed=0, fused=fused) for c3 in C3_KINDS}
    for loop in loops.values():
        loop.run(3)
    conn.send("ready")
    while (msg := conn.recv()) is not None:
        c3, n_batches = msg
        wall, cpu = time.perf_counter(), time.process_time()
        seen = loops[c3].run(n_batches)
        conn.send((seen, time.perf_counter() - wall, time.process_time() - cpu))


def compare_cpu_step(data_path: str | None, n_images: int, slice_batches: int, threads: int) -> dict:
    """The pipeline's CPU step before and after the fused step (:data:`STEP_PATHS`), each in its own process;
    the four loops (path x C3) take turns slice by slice while the others wait, so background load hits
    them alike. Returns, per loop, the median images/s over slices (wall clock and CPU time), and per
    variant the median over rounds of after/before (each round's two slices run back to back)."""
    ctx = multiprocessing.get_context("spawn")
    conns, procs = {}, []
    for path in STEP_PATHS:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_step_worker, args=(child, data_path, path, threads), daemon=True)
        proc.start()
        conns[path], procs = parent, procs + [proc]
    for conn in conns.values():
        if conn.recv() != "ready":
            raise RuntimeError("a step benchmark worker did not start")
    wall: dict[str, list[float]] = {f"{p}/{c3}": [] for p in STEP_PATHS for c3 in C3_KINDS}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    for _ in range(max(1, n_images // (100 * slice_batches))):
        for c3 in C3_KINDS:
            for path, conn in conns.items():
                conn.send((c3, slice_batches))
                seen, wall_s, cpu_s = conn.recv()
                wall[f"{path}/{c3}"].append(seen / wall_s)
                cpu[f"{path}/{c3}"].append(seen / cpu_s)
    for conn in conns.values():
        conn.send(None)
    for proc in procs:
        proc.join(timeout=60)
    out = {"images_per_s": {name: statistics.median(r) for name, r in wall.items()},
           "images_per_cpu_s": {name: statistics.median(r) for name, r in cpu.items()}, "ratio": {}}
    for path in ("after", "allocator"):
        prefix = "" if path == "after" else "allocator_"
        for c3 in C3_KINDS:
            pairs = zip(wall[f"{path}/{c3}"], wall[f"before/{c3}"])
            out["ratio"][f"{prefix}{c3}"] = statistics.median(a / b for a, b in pairs)
            pairs = zip(cpu[f"{path}/{c3}"], cpu[f"before/{c3}"])
            out["ratio"][f"{prefix}{c3}_cpu_time"] = statistics.median(a / b for a, b in pairs)
    return out


def report_cpu_step(result: dict) -> None:
    print(f"{'CPU step':<16} {'sparse img/s':>13} {'full img/s':>11}   (per CPU-second: sparse, full)")
    for path in STEP_PATHS:
        w, c = result["images_per_s"], result["images_per_cpu_s"]
        print(f"{path:<16} {w[f'{path}/sparse']:>13,.0f} {w[f'{path}/full']:>11,.0f}   "
              f"({c[f'{path}/sparse']:,.0f}, {c[f'{path}/full']:,.0f})")
    r = result["ratio"]
    print(f"after/before, median over rounds: sparse {r['sparse']:.2f}x, full {r['full']:.2f}x "
          f"(CPU time: {r['sparse_cpu_time']:.2f}x, {r['full_cpu_time']:.2f}x)   (target: >= 1.3x, one thread)")
    print(f"of which the allocator alone: sparse {r['allocator_sparse']:.2f}x, full {r['allocator_full']:.2f}x "
          f"(CPU time: {r['allocator_sparse_cpu_time']:.2f}x, {r['allocator_full_cpu_time']:.2f}x)")


# ----------------------------------------------------------------------------------------------
# The single-seed CPU step of the one trainer vs the single-seed step it replaced, in one process


def _single_seed_steps(data_path: str | None, n_images: int, slice_batches: int) -> dict:
    """Runs in a worker process (the allocator setting is process-wide): per C3 kind, the old and the new
    single-seed step (:class:`Pipeline` with ``old`` True and False) take turns slice by slice at one thread."""
    torch.set_num_threads(1)
    retain_freed_memory()  # as train_group() does, for either step
    mnist = torch.load(data_path, weights_only=True) if data_path else synthetic_mnist()
    data = to_device_data(mnist, "cpu", test_limit=1000)
    out = {}
    for c3 in C3_KINDS:
        loops = {"old": Pipeline(data, c3, seed=0, old=True), "new": Pipeline(data, c3, seed=0)}
        for loop in loops.values():
            loop.run(3)
        wall: dict[str, list[float]] = {name: [] for name in loops}
        cpu: dict[str, list[float]] = {name: [] for name in loops}
        for r in range(max(2, n_images // (100 * slice_batches))):
            for name in (("old", "new") if r % 2 == 0 else ("new", "old")):  # neither always goes first
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                loops[name].run(slice_batches)
                wall[name].append((time.perf_counter() - start_wall) / slice_batches)
                cpu[name].append((time.process_time() - start_cpu) / slice_batches)
        old_state, new_state = loops["old"].model.state_dict(), loops["new"].model.state_dict()
        out[c3] = {"same_weights": all(torch.equal(old_state[k], new_state[k]) for k in old_state)}
        # Wall clock, and CPU time, which other processes on a shared machine disturb less.
        for clock, seconds in (("", wall), ("cpu_", cpu)):
            ratios = [new / old for new, old in zip(seconds["new"], seconds["old"])]
            out[c3] |= {
                f"old_{clock}ms_per_step": 1e3 * statistics.median(seconds["old"]),
                f"new_{clock}ms_per_step": 1e3 * statistics.median(seconds["new"]),
                f"{clock}new_over_old": statistics.median(ratios),
                f"{clock}new_over_old_quartiles": statistics.quantiles(ratios, n=4)[::2],
            }
    return out


def compare_single_seed_step(data_path: str | None, n_images: int, slice_batches: int) -> dict:
    """The old and new single-seed CPU step side by side at one thread, in one spawned worker process; per C3
    kind the median ms per step of each, the median over rounds of new/old and its quartiles."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_single_seed_steps, data_path, n_images, slice_batches).result()


def report_single_seed_step(result: dict) -> None:
    print(f"{'single-seed step, 1 thread':<27} {'old ms':>7} {'new ms':>7} {'new/old':>8}  {'(quartiles)':<13} "
          f"{'CPU ms: old':>11} {'new':>6} {'new/old':>8}  {'(quartiles)':<13} same weights")
    for c3, r in result.items():
        q1, q3 = r["new_over_old_quartiles"]
        c1, c3_ = r["cpu_new_over_old_quartiles"]
        print(f"{c3:<27} {r['old_ms_per_step']:>7.2f} {r['new_ms_per_step']:>7.2f} {r['new_over_old']:>8.3f}  "
              f"({q1:.3f}-{q3:.3f}) {r['old_cpu_ms_per_step']:>11.2f} {r['new_cpu_ms_per_step']:>6.2f} "
              f"{r['cpu_new_over_old']:>8.3f}  ({c1:.3f}-{c3_:.3f}) {'yes' if r['same_weights'] else 'NO'}")
    print("new/old: the median over rounds of the new step's time over the old one's (1: as fast), wall clock and "
          "CPU time")


def report(med: dict, straightforward: bool) -> dict:
    loops = ("straightforward", "pipeline") if straightforward else ("pipeline",)
    print(f"{'loop':<16} {'sparse img/s':>13} {'full img/s':>11} {'sparse/full time':>17}")
    ratios = {}
    for loop in loops:
        s, f = med[f"{loop}/sparse"], med[f"{loop}/full"]
        ratios[f"{loop}_sparse_over_full_time"] = f / s
        print(f"{loop:<16} {s:>13,.0f} {f:>11,.0f} {f / s:>17.2f}")
    if straightforward:
        for c3 in C3_KINDS:
            ratios[f"speedup_{c3}"] = med[f"pipeline/{c3}"] / med[f"straightforward/{c3}"]
        print(f"speed-up, pipeline / straightforward: sparse {ratios['speedup_sparse']:.1f}x, "
              f"full {ratios['speedup_full']:.1f}x   (target: sparse >= 5x)")
    print(f"pipeline sparse/full time ratio: {ratios['pipeline_sparse_over_full_time']:.2f}   (target: <= 1.25)")
    return ratios


def ten_epochs(mnist: dict, device: torch.device, epochs: int) -> dict:
    """Full training runs with the pipeline's loop; seconds of training (without per-epoch evaluation)."""
    data = to_device_data(mnist, device)
    out = {}
    for c3 in C3_KINDS:
        sync(device)
        start = time.perf_counter()
        result = train_group([LeNetRun(c3=c3, seed=0, epochs=epochs)], data, stacked=False)[0]
        sync(device)
        wall = time.perf_counter() - start
        train_s = sum(row["epoch_seconds"] for row in result.history)
        out[c3] = {"train_seconds": train_s, "wall_seconds": wall,
                   "test_accuracy": result.history[-1]["test_accuracy"]}
        print(f"{c3:<7} {epochs} epochs: {train_s:.2f} s training ({wall:.2f} s with per-epoch evaluation and "
              f"set-up), test accuracy {result.history[-1]['test_accuracy']:.4f}   (target: <= 3 s on an H100)")
    return out


class GroupedPipeline:
    """``seeds`` trained together: :class:`mnistrepro.experiments.lenet_training.TrainStep` over the stacked seeds, as
    :func:`mnistrepro.experiments.lenet_training.train_group` sets it up; ``run(n)`` takes ``n`` steps of every seed."""

    def __init__(self, data, c3: str, seeds: list[int]) -> None:
        device = data.device
        use_deterministic_cudnn(device)
        state = resume([LeNetRun(c3=c3, seed=s) for s in seeds], device, stacked=True)
        self.step = TrainStep(state.net, state.optimizer, data, 100, graph=True)
        self.seeds, self.n, self.pos = seeds, data.train_x.shape[0], 0
        self.orders = torch.stack([epoch_permutation(s, 0, self.n) for s in seeds]).to(device)

    def run(self, n_batches: int) -> int:
        for _ in range(n_batches):
            if self.pos + 100 > self.n:
                self.pos = 0
            self.step(self.orders[:, self.pos:self.pos + 100])
            self.pos += 100
        self.step.loss_sum.sum().item()  # syncs a GPU
        return 100 * n_batches * len(self.seeds)


class SeparatePipelines:
    """The same seeds, each with its own :class:`Pipeline`, one after the other (one job per seed, minus the
    start-up)."""

    def __init__(self, data, c3: str, seeds: list[int]) -> None:
        self.loops = [Pipeline(data, c3, s) for s in seeds]

    def run(self, n_batches: int) -> int:
        return sum(loop.run(n_batches) for loop in self.loops)


def grouped_vs_separate(mnist: dict, device: torch.device, c3: str, group_size: int, n_images: int,
                        slice_batches: int) -> dict:
    """Seed-images/s of ``group_size`` seeds trained together vs one after the other, alternating slice by slice;
    the median over slices of each and their ratio."""
    data = to_device_data(mnist, device, test_limit=1000)
    seeds = list(range(group_size))
    loops = {"together": GroupedPipeline(data, c3, seeds), "separate": SeparatePipelines(data, c3, seeds)}
    med = alternate(loops, device, max(1, n_images // (100 * slice_batches * group_size)), slice_batches)
    ratio = med["together"] / med["separate"]
    print(f"{c3:<7} {group_size} seeds: together {med['together']:,.0f} seed-images/s, one after the other "
          f"{med['separate']:,.0f}; together / separate {ratio:.2f}x")
    return {"images_per_s": med, "together_over_separate": ratio}


def group_epochs(mnist: dict, device: torch.device, c3: str, group_size: int, epochs: int) -> dict:
    """A full grouped training run (``group_size`` seeds, ``epochs`` epochs): its seconds of training."""
    data = to_device_data(mnist, device)
    sync(device)
    start = time.perf_counter()
    states = train_group([LeNetRun(c3=c3, seed=s, epochs=epochs) for s in range(group_size)], data)
    sync(device)
    wall = time.perf_counter() - start
    train_s = sum(row["epoch_seconds"] for row in states[0].history) * group_size  # each seed's share, summed
    accuracy = [s.history[-1]["test_accuracy"] for s in states]
    print(f"{c3:<7} {group_size} seeds x {epochs} epochs together: {train_s:.2f} s training ({wall:.2f} s with "
          f"per-epoch evaluation and set-up), test accuracy {min(accuracy):.4f}-{max(accuracy):.4f}   "
          f"(target: <= 5 s on a GPU)")
    return {"train_seconds": train_s, "wall_seconds": wall, "test_accuracy": accuracy}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="mnist.pt (default: results/data/mnist.pt if built)")
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--images", type=int, default=12_000, help="training images per measurement")
    parser.add_argument("--slice", type=int, default=10, help="batches per timed slice (loops alternate slice by slice)")
    parser.add_argument("--threads", type=int, nargs="*", default=None,
                        help="torch CPU thread counts to measure (default: torch's default)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the full CUDA runs")
    parser.add_argument("--no-straightforward", action="store_true", help="time only the pipeline's loop")
    parser.add_argument("--no-step", action="store_true",
                        help="skip the CPU step before/after the fused step (two worker processes)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--single-step-only", action="store_true",
                        help="only the single-seed CPU step, old vs new, at one thread")
    parser.add_argument("--group-size", type=int, default=None,
                        help="seeds trained together vs separately (default: 10 on CUDA, 4 on the CPU; 0: skip)")
    args = parser.parse_args(argv)

    path = args.data or (DEFAULT_DATA if DEFAULT_DATA.exists() else None)
    mnist = torch.load(path, weights_only=True) if path else synthetic_mnist()
    device = resolve_device(args.device)
    straightforward = not args.no_straightforward
    results: dict = {"data": str(path) if path else "synthetic", "device": describe_device(device),
                     "torch": torch.__version__, "images": args.images, "slice_batches": args.slice, "runs": []}
    print(f"LeNet-5 training speed: {results['data']}, {results['device']}, torch {torch.__version__}, "
          f"{args.images} images per loop in slices of {args.slice} batches, loops alternating; median over slices")
    if device.type == "cpu":
        print("\nthe single-seed CPU step of the one trainer (new) vs the step it replaced (old)")
        results["single_seed_step"] = compare_single_seed_step(str(path) if path else None, args.images, args.slice)
        report_single_seed_step(results["single_seed_step"])
    if args.single_step_only:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 0
    for threads in args.threads or [torch.get_num_threads()]:
        torch.set_num_threads(threads)
        load_before = os.getloadavg()[0]
        print(f"\n{threads} CPU thread(s)")
        med = compare(mnist, device, args.images, args.slice, straightforward)
        ratios = report(med, straightforward)
        # Other processes on the CPU slow every loop, multi-threaded ones most (threads wait on each other).
        run = {"threads": threads, "images_per_s": med, "ratios": ratios}
        if device.type == "cpu" and not args.no_step:
            print()
            run["cpu_step"] = compare_cpu_step(str(path) if path else None, args.images, args.slice, threads)
            report_cpu_step(run["cpu_step"])
        load_after = os.getloadavg()[0]
        print(f"1-minute load average {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} CPUs)")
        run["load_average"] = [load_before, load_after]
        results["runs"].append(run)
    group_size = args.group_size if args.group_size is not None else (10 if device.type == "cuda" else 4)
    if group_size:
        print(f"\nseeds trained together (one job, torch.func.vmap) vs one after the other, "
              f"{torch.get_num_threads()} CPU thread(s)")
        results["grouped"] = {c3: grouped_vs_separate(mnist, device, c3, group_size, args.images, args.slice)
                              for c3 in C3_KINDS}
    if device.type == "cuda":
        print()
        results["full_runs"] = ten_epochs(mnist, device, args.epochs)
        if group_size:
            results["full_group_runs"] = {c3: group_epochs(mnist, device, c3, group_size, args.epochs)
                                          for c3 in C3_KINDS}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
