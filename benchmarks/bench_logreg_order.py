"""Run-steps/s of the batched logistic-regression loop with its summation order fixed by the code
(mnistrepro.experiments.logreg.train_batched: a pairwise tree of elementwise adds, the C library's exp) vs the same loop
with NumPy's ``einsum`` row dot and ``np.exp`` (the loop before, whose bits depended on the SIMD extensions NumPy
dispatched to), side by side in this process.

Both train the same seeds from the same start, taking turns for ``--repeats`` rounds; it prints each round's
rates, the median ratio fixed/einsum, and how far the two loops' final weights are apart (unit pixels: rounding
level; raw pixels: the chaotic dynamics grow rounding into other runs, as between two CPUs before).

    .venv/bin/python benchmarks/bench_logreg_order.py                         # mse, raw, 200 seeds x 2,000 steps
    .venv/bin/python benchmarks/bench_logreg_order.py --loss ce --steps 1000

Without ``--data`` it uses results/data/pair_4_9.pt when it exists, else synthetic MNIST-like data.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_logreg import DEFAULT_DATA, synthetic_pair  # noqa: E402  (this directory)
from mnistrepro.experiments import logreg  # noqa: E402
from mnistrepro.study.choices import LOSSES, SCALINGS  # noqa: E402


def step_coefficient_numpy_exp(loss: str, m: np.ndarray, y: np.ndarray, lr: float) -> np.ndarray:
    """``-lr dl/dz`` with ``np.exp``, as the loop computed it before."""
    s_neg = 1.0 / (1.0 + np.exp(m))
    if loss == "ce":
        return lr * y * s_neg
    c = 8.0 * lr * y * s_neg
    c *= s_neg / (1.0 + np.exp(-m))
    return c


def train_batched_einsum(x: torch.Tensor, y: torch.Tensor, loss: str, lr: float, weights: torch.Tensor,
                         biases: torch.Tensor, indices: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The inner loop of :func:`mnistrepro.experiments.logreg.train_batched` with ``einsum`` and ``np.exp`` (no
    statistics)."""
    xn = x.contiguous().numpy()
    w = weights.numpy().copy()
    b = biases.numpy().copy()
    idx_t = indices.t().contiguous().numpy()
    y_t = y.numpy()[idx_t]
    m = np.empty(w.shape[0])
    with np.errstate(over="ignore"):
        for t in range(idx_t.shape[0]):
            xi = xn.take(idx_t[t], axis=0)
            np.einsum("ij,ij->i", xi, w, out=m)
            m += b
            m *= y_t[t]
            c = step_coefficient_numpy_exp(loss, m, y_t[t], lr)
            xi *= c[:, None]
            w += xi
            b += c
    return w, b


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="pair .pt (default: 4-vs-9 if built)")
    parser.add_argument("--loss", choices=LOSSES, default="mse")
    parser.add_argument("--scaling", choices=SCALINGS, default="raw")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    data_path = args.data or (DEFAULT_DATA if DEFAULT_DATA.exists() else None)
    pair = torch.load(data_path, weights_only=True) if data_path else synthetic_pair()
    x = logreg.scale_inputs(pair["train_images"], args.scaling)
    y = logreg.labels_pm1(pair["train_labels"])
    weights, biases, indices = logreg.init_runs(range(args.seeds), x.shape[0], args.steps)
    print(f"data: {data_path or 'synthetic MNIST-like data'}; {args.loss}/{args.scaling}, {args.seeds} seeds x "
          f"{args.steps} steps, one thread")
    ratios = []
    for rnd in range(args.repeats):
        t0 = time.perf_counter()
        w_fixed, b_fixed, _ = logreg.train_batched(x, y, args.loss, args.lr, weights, biases, indices)
        fixed = args.seeds * args.steps / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        w_einsum, b_einsum = train_batched_einsum(x, y, args.loss, args.lr, weights, biases, indices)
        einsum = args.seeds * args.steps / (time.perf_counter() - t0)
        ratios.append(fixed / einsum)
        print(f"round {rnd + 1}: fixed order {fixed:,.0f} run-steps/s, einsum {einsum:,.0f} run-steps/s, "
              f"fixed/einsum {fixed / einsum:.2f}x")
    print(f"median fixed/einsum over {args.repeats} rounds: {statistics.median(ratios):.2f}x "
          f"(range {min(ratios):.2f}-{max(ratios):.2f})")
    diff = float(np.abs(w_fixed.numpy() - w_einsum).max())
    print(f"final weights, fixed vs einsum: max |difference| {diff:.3g}")


if __name__ == "__main__":
    main()
