"""A few seconds of LeNet-5 training on this machine, timed: what the study's estimate (mnistrepro.study.estimate) is
derived from when no earlier run left benchmarks.

Runs the study's own training code (:func:`mnistrepro.experiments.lenet_training.train_group`: one seed alone, or a
group of seeds stacked) on random images of MNIST's shape, so that
whatever makes training slower or faster here (the CPU, its kernels, the threads, the GPU) is in the timing.
No MNIST file is needed: the estimate is printed before the data is acquired.

Run by the workflow in a subprocess (so that the Snakemake process never imports torch)::

    python -m mnistrepro.experiments.calibrate --device cpu --threads 1 --c3 sparse full --seeds-per-job 1

prints one JSON object (``--c3``: the C3 kinds to time, by default every one of the registry,
mnistrepro.study.choices.C3_KINDS): per C3 kind the seconds per training image (``train_s_per_image``: for a group, per
image of the whole group) and per test image of the per-epoch test monitoring (``eval_s_per_image``), the
device, and ``work_s``, the seconds spent timing (the caller subtracts it from the process's wall time to get
the start-up cost of a job).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

import torch

from mnistrepro.experiments.lenet_training import DeviceData, LeNetRun, train_group
from mnistrepro.study.choices import C3_KINDS
from mnistrepro.study.device import resolve_device

# Images per calibration epoch: 30 (CPU) or 100 (GPU) batches of 100 are enough for a stable per-step time; the
# first epoch is a warm-up (allocations, CUDA graph capture) and is not counted.
CALIBRATION_IMAGES = {"cpu": 3000, "cuda": 10000}
CALIBRATION_TEST_IMAGES = 1000
CALIBRATION_EPOCHS = 3


def random_data(device: torch.device, n_train: int, n_test: int) -> DeviceData:
    """Images of MNIST's shape and range, and labels, drawn at random (training time does not depend on the pixels)."""
    generator = torch.Generator().manual_seed(0)

    def images(n):
        return torch.rand(n, 1, 28, 28, generator=generator).to(device)

    def labels(n):
        return torch.randint(0, 10, (n,), generator=generator).to(device)

    return DeviceData(train_x=images(n_train), train_y=labels(n_train), test_x=images(n_test), test_y=labels(n_test))


def calibrate(device_setting: str, threads: int, c3_kinds: list[str], seeds_per_job: int, batch_size: int = 100,
              lr: float = 0.1) -> dict:
    """Time :data:`CALIBRATION_EPOCHS` epochs of each C3 kind on random data; the epochs after the first count."""
    start = time.perf_counter()
    torch.set_num_threads(threads)
    device = resolve_device(device_setting)
    n_train = CALIBRATION_IMAGES[device.type]
    data = random_data(device, n_train, CALIBRATION_TEST_IMAGES)
    result = {"device": device.type, "threads": threads, "seeds_per_job": seeds_per_job,
              "train_s_per_image": {}, "eval_s_per_image": {}}
    for c3 in c3_kinds:
        runs = [LeNetRun(c3=c3, seed=seed, epochs=CALIBRATION_EPOCHS, batch_size=batch_size, lr=lr)
                for seed in range(seeds_per_job)]
        histories = [state.history for state in train_group(runs, data)]
        timed = range(1, CALIBRATION_EPOCHS)
        # A group's epoch_seconds is each seed's share of the group's time: their sum is the group's.
        epoch_s = sum(h[e]["epoch_seconds"] for h in histories for e in timed) / len(timed)
        eval_s = sum(h[e]["eval_seconds"] for h in histories for e in timed) / len(timed) / len(histories)
        result["train_s_per_image"][c3] = epoch_s / n_train
        result["eval_s_per_image"][c3] = eval_s / CALIBRATION_TEST_IMAGES
    result["work_s"] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--c3", nargs="+", default=list(C3_KINDS), help="C3 kinds (default: every registered one)")
    parser.add_argument("--seeds-per-job", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)
    logging.getLogger("mnistrepro").setLevel(logging.WARNING)  # the training's own lines are not wanted here
    json.dump(calibrate(args.device, args.threads, args.c3, args.seeds_per_job, args.batch_size, args.lr), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
