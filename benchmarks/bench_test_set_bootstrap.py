"""The LeNet-5 test-set bootstrap's matrix product, exact (float64 integers:
mnistrepro.analysis.stats.calibration_features) vs the float32 product it replaced (whose sums depended on the CPU's
BLAS kernels), side by side in one process.

The default study's shape: 10,000 test images, 2 C3 kinds x 2 binnings x 26 seeds x 30 bin columns + 1 difference
column, 1,999 resamples in chunks of 500. Prints each round's times and the median ratio exact / float32, then the
whole stats.lenet_test_set on records of that shape.

    .venv/bin/python benchmarks/bench_test_set_bootstrap.py [--rounds 5] [--seeds 26]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mnistrepro.analysis.stats import ECE_BINS, ECE_BINNINGS, calibration_features, confidence_bin_index, lenet_test_set


def synthetic_records(seeds: int, n: int = 10_000) -> list[dict]:
    gen = np.random.default_rng(0)
    records = []
    for c3 in ("sparse", "full"):
        for s in range(seeds):
            confidence = np.maximum(gen.beta(30, 0.3, n), 0.1)
            correct = gen.random(n) < confidence
            records.append({"c3": c3, "seed": s, "total": n, "confidence": confidence.tolist(),
                            "misclassified_test_indices": np.flatnonzero(~correct).tolist()})
    return records


def bootstrap_products(matrix: np.ndarray, resamples: int, dtype) -> float:
    """Seconds for the bootstrap's products in ``dtype`` (the counts drawn as the pipeline draws them)."""
    rng = np.random.default_rng(1)
    n = matrix.shape[0]
    matrix = matrix.astype(dtype)
    start = time.perf_counter()
    for first in range(0, resamples, 500):
        counts = rng.multinomial(n, np.full(n, 1 / n), size=min(500, resamples - first)).astype(dtype)
        counts @ matrix
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=26)
    parser.add_argument("--resamples", type=int, default=1999)
    args = parser.parse_args()
    records = synthetic_records(args.seeds)
    features = []
    for r in records:
        correct = np.ones(r["total"], dtype=bool)
        correct[r["misclassified_test_indices"]] = False
        for binning in ECE_BINNINGS:
            index = confidence_bin_index(r["confidence"], ECE_BINS, binning)
            features.append(calibration_features(index, r["confidence"], correct, ECE_BINS))
    matrix = np.hstack([*features, np.zeros((records[0]["total"], 1))])
    print(f"matrix {matrix.shape[0]:,} x {matrix.shape[1]:,}, {args.resamples} resamples")
    ratios = []
    for i in range(args.rounds):
        # Alternate which goes first, so that neither always meets a warm cache.
        order = (np.float64, np.float32) if i % 2 == 0 else (np.float32, np.float64)
        seconds = {dtype: bootstrap_products(matrix, args.resamples, dtype) for dtype in order}
        ratios.append(seconds[np.float64] / seconds[np.float32])
        print(f"round {i + 1}: exact float64 {seconds[np.float64]:.2f} s, float32 {seconds[np.float32]:.2f} s, "
              f"ratio {ratios[-1]:.2f}")
    print(f"median ratio exact / float32: {statistics.median(ratios):.2f}")
    start = time.perf_counter()
    lenet_test_set(records, ("sparse", "full"), np.random.default_rng(2), args.resamples)
    print(f"stats.lenet_test_set (exact), whole: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
