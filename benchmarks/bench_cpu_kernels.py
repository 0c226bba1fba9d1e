"""LeNet-5 CPU training with torch's kernels capped at AVX2 (config ``cpu_kernels: avx2``, the default) vs each
library's native kernels (``cpu_kernels: native``), side by side.

The kernel choice is made when torch loads, so each setting trains in its own process; the two take turns for
``--rounds`` rounds, each training one epoch of ``--images`` images per C3 kind with one thread (the pipeline's
loop, :func:`mnistrepro.experiments.lenet_training.train_group`). Prints each round's seconds, the median ratio capped/native,
and whether the two settings' weights are equal (on a CPU with AVX-512 they are not: that is why the study caps).

    .venv/bin/python benchmarks/bench_cpu_kernels.py                  # 3 rounds of 60,000 images
    .venv/bin/python benchmarks/bench_cpu_kernels.py --rounds 5 --images 20000

Without ``--idx`` it uses results/data/idx when it exists, else .test-data/idx.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mnistrepro.study.cpu_kernels import KERNEL_VARIABLES, kernel_environment  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WORKER = """
import hashlib, sys, time
import torch
from mnistrepro.data.tensors import read_idx_dir
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, train_group
torch.set_num_threads(1)
data = to_device_data(read_idx_dir(sys.argv[1]), "cpu", int(sys.argv[2]), 1000)
seconds, digests = 0.0, []
for c3 in ("sparse", "full"):
    state = train_group([LeNetRun(c3=c3, seed=0, epochs=1)], data, stacked=False)[0]
    seconds += state.history[-1]["epoch_seconds"]
    digests.append(hashlib.sha256(b"".join(t.detach().contiguous().numpy().tobytes()
                                           for t in state.model.state_dict().values())).hexdigest()[:16])
print(torch.backends.cpu.get_cpu_capability(), seconds, *digests)
"""


def train_once(idx: Path, images: int, kernels: str) -> tuple[str, float, list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARIABLES} | kernel_environment(kernels)
    out = subprocess.run([sys.executable, "-c", WORKER, str(idx), str(images)], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0], float(out[1]), out[2:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx", type=Path, default=None, help="directory of the four MNIST IDX files")
    parser.add_argument("--images", type=int, default=60000, help="training images per epoch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    idx = args.idx or next(p for p in (REPO / "results/data/idx", REPO / ".test-data/idx") if p.is_dir())
    ratios, weights = [], {}
    for rnd in range(args.rounds):
        capped = train_once(idx, args.images, "avx2")
        native = train_once(idx, args.images, "native")
        weights = {"avx2": capped[2], "native": native[2]}
        ratios.append(capped[1] / native[1])
        print(f"round {rnd + 1}: capped ({capped[0]}) {capped[1]:.2f} s, native ({native[0]}) {native[1]:.2f} s "
              f"training (one epoch of {args.images:,} images per C3 kind), capped/native {ratios[-1]:.2f}x")
    print(f"median capped/native time over {args.rounds} rounds: {statistics.median(ratios):.2f}x "
          f"(range {min(ratios):.2f}-{max(ratios):.2f})")
    print(f"weights equal: {weights['avx2'] == weights['native']}")


if __name__ == "__main__":
    main()
