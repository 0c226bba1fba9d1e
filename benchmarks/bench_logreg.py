"""Steps/s of the straightforward autograd loop vs the fast loop of mnistrepro.experiments.logreg, side by side;
then runs/s of the per-seed fast loop vs the batched loop (all seeds stepped together).

Both loops run in this process, on the CPU, from the same initial weights and the same sample
sequence (``init_run(seed)``), alternating for ``--repeats`` rounds; the best round of each is
reported. Then it checks that they agree: both loops in float64 for ``--check-steps`` steps must
give the same weights up to float rounding. The second part trains ``--seeds`` runs of
``--batch-steps`` steps once per seed with ``train_fast`` and once together with
``train_batched`` (float64, as the pipeline), alternating for ``--repeats`` rounds, and prints
runs/s of each and their ratio.

    .venv/bin/python benchmarks/bench_logreg.py                       # real 4-vs-9 data if built
    .venv/bin/python benchmarks/bench_logreg.py --loss mse --scaling unit --steps 5000

Without ``--data`` it uses results/data/pair_4_9.pt when it exists, else synthetic MNIST-like data.
Exit status 1 if the loops disagree.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reference_impl  # noqa: E402  (this directory: reference loops)
from mnistrepro.experiments import logreg  # noqa: E402
from mnistrepro.study.choices import LOSSES, SCALINGS  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "results" / "data" / "pair_4_9.pt"


def synthetic_pair(n_train: int = 11791, n_test: int = 1991, seed: int = 0) -> dict:
    """MNIST-like uint8 images (about 19% non-zero pixels) with labels in {-1, +1}."""
    gen = torch.Generator().manual_seed(seed)

    def images(n: int) -> torch.Tensor:
        mask = torch.rand(n, 28, 28, generator=gen) < 0.19
        return (torch.randint(0, 256, (n, 28, 28), generator=gen) * mask).to(torch.uint8)

    return {
        "digits": (4, 9),
        "train_images": images(n_train),
        "train_labels": torch.randint(0, 2, (n_train,), generator=gen) * 2 - 1,
        "train_index": torch.arange(n_train),
        "test_images": images(n_test),
        "test_labels": torch.randint(0, 2, (n_test,), generator=gen) * 2 - 1,
        "test_index": torch.arange(n_test),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="pair .pt (default: 4-vs-9 if built)")
    parser.add_argument("--loss", choices=LOSSES, default="ce")
    parser.add_argument("--scaling", choices=SCALINGS, default="raw")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--ref-dtype", choices=["float32", "float64"], default="float32",
                        help="dtype of the straightforward loop (nn.Linear's default: float32)")
    parser.add_argument("--fast-dtype", choices=["float32", "float64"], default="float64",
                        help="dtype of the fast loop (the pipeline uses float64)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check-steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=200, help="runs for the per-seed vs batched comparison")
    parser.add_argument("--batch-steps", type=int, default=2000, help="steps per run in that comparison")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    data_path = args.data or (DEFAULT_DATA if DEFAULT_DATA.exists() else None)
    if data_path is not None:
        pair = torch.load(data_path, weights_only=True)
        source = str(data_path)
    else:
        pair = synthetic_pair()
        source = "synthetic MNIST-like data"
    ref_dtype, fast_dtype = getattr(torch, args.ref_dtype), getattr(torch, args.fast_dtype)
    x = {dt: logreg.scale_inputs(pair["train_images"], args.scaling, dt) for dt in {ref_dtype, fast_dtype, torch.float64}}
    y = logreg.labels_pm1(pair["train_labels"])
    n_train = pair["train_images"].shape[0]
    weight, bias, indices = logreg.init_run(args.seed, n_train, args.steps)
    print(f"data: {source} ({n_train} training images); loss {args.loss}, scaling {args.scaling}, "
          f"{args.steps} steps, seed {args.seed}, lr {args.lr}, torch threads {torch.get_num_threads()}, "
          f"pid {os.getpid()}")

    best = {"reference": 0.0, "fast": 0.0}
    finals = {}
    for rnd in range(args.repeats):
        t0 = time.perf_counter()
        finals["reference"] = reference_impl.train_reference(x[ref_dtype], y, args.loss, args.lr, weight, bias, indices)
        ref_rate = args.steps / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        w, b, _ = reference_impl.train_fast(x[fast_dtype], y, args.loss, args.lr, weight, bias, indices)
        fast_rate = args.steps / (time.perf_counter() - t0)
        finals["fast"] = (w, b)
        best["reference"] = max(best["reference"], ref_rate)
        best["fast"] = max(best["fast"], fast_rate)
        print(f"round {rnd + 1}: reference ({args.ref_dtype}) {ref_rate:,.0f} steps/s, "
              f"fast ({args.fast_dtype}) {fast_rate:,.0f} steps/s, ratio {fast_rate / ref_rate:.1f}x")
    ratio = best["fast"] / best["reference"]
    print(f"best: reference {best['reference']:,.0f} steps/s, fast {best['fast']:,.0f} steps/s, "
          f"ratio {ratio:.1f}x")

    x_test = logreg.scale_inputs(pair["test_images"], args.scaling, torch.float64)
    y_test = logreg.labels_pm1(pair["test_labels"])
    for name, (w, b) in finals.items():
        m = logreg.evaluate(w, b, x_test, y_test, pair["test_index"], args.loss)
        print(f"{name} after {args.steps} steps: test accuracy {100 * m['test_accuracy']:.2f}% "
              f"({m['correct']}/{m['total']}), test loss {m['test_loss']:.4f}")

    batched_ok = batched_vs_per_seed(x[torch.float64], y, args)

    n = min(args.check_steps, args.steps)
    w_ref, b_ref = reference_impl.train_reference(x[torch.float64], y, args.loss, args.lr, weight, bias, indices[:n])
    w_fast, b_fast, _ = reference_impl.train_fast(x[torch.float64], y, args.loss, args.lr, weight, bias, indices[:n])
    diff = max(float((w_ref - w_fast).abs().max()), float((b_ref - b_fast).abs()))
    scale = float(w_ref.abs().max())
    agree = diff <= 1e-9 * max(scale, 1.0)
    print(f"agreement (both float64, {n} steps): max |difference| {diff:.3g} "
          f"(max |weight| {scale:.3g}): {'OK' if agree else 'MISMATCH'}")
    return 0 if agree and batched_ok else 1


def batched_vs_per_seed(x: torch.Tensor, y: torch.Tensor, args: argparse.Namespace) -> bool:
    """Runs/s of ``train_fast`` seed by seed vs ``train_batched`` over all seeds; True if the
    batched final weights match the per-seed ones on unit pixels (else only the rates count)."""
    seeds = list(range(args.seeds))
    weights, biases, indices = logreg.init_runs(seeds, x.shape[0], args.batch_steps)
    best = {"per-seed": 0.0, "batched": 0.0}
    for rnd in range(args.repeats):
        t0 = time.perf_counter()
        per_seed = [reference_impl.train_fast(x, y, args.loss, args.lr, weights[k], biases[k], indices[k])[0] for k in seeds]
        per_seed_rate = len(seeds) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        w, _, _ = logreg.train_batched(x, y, args.loss, args.lr, weights, biases, indices)
        batched_rate = len(seeds) / (time.perf_counter() - t0)
        best["per-seed"] = max(best["per-seed"], per_seed_rate)
        best["batched"] = max(best["batched"], batched_rate)
        print(f"round {rnd + 1}: {len(seeds)} runs x {args.batch_steps} steps: "
              f"per-seed loop {per_seed_rate:,.1f} runs/s, batched {batched_rate:,.1f} runs/s, "
              f"ratio {batched_rate / per_seed_rate:.2f}x")
    print(f"best: per-seed loop {best['per-seed']:,.1f} runs/s ({best['per-seed'] * args.batch_steps:,.0f} steps/s), "
          f"batched {best['batched']:,.1f} runs/s ({best['batched'] * args.batch_steps:,.0f} steps/s), "
          f"ratio {best['batched'] / best['per-seed']:.2f}x")
    diff = float((w - torch.stack(per_seed)).abs().max())
    if args.scaling == "unit":
        ok = diff <= 1e-9
        print(f"batched vs per-seed final weights (unit pixels): max |difference| {diff:.3g}: "
              f"{'OK' if ok else 'MISMATCH'}")
        return ok
    print(f"batched vs per-seed final weights (raw pixels, chaotic): max |difference| {diff:.3g} (not checked)")
    return True


if __name__ == "__main__":
    sys.exit(main())
