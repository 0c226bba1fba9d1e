"""Rules train_logreg and train_logreg_sweep: every seed of one (loss, scaling), or of every digit pair.

Input: mnist.pt, from which each digit pair of params.pairs is extracted in memory (the main grid has
one pair, the sweep many; extract_pair gives the same tensors as the pair file of rule extract_pair).
Writes one JSON record per run: output[k] is run k in pair-major, seed-minor order (params.pairs x
params.seeds). All seeds of a pair train together
(mnistrepro.logreg.run_seeds); training runs on the CPU (see workflow/rules/logreg.smk).
params.groups (the sweep's): per pair, seeds trained together for their own steps and eval_steps;
without it, one group (params.seeds, params.steps, params.eval_steps). With groups and more than one
thread, the pairs are split over that many processes, one core each (the runs do not depend on it).
"""
import multiprocessing

import torch

from mnistrepro.data import extract_pair, load_mnist
from mnistrepro.environment import job_hardware
from mnistrepro.io import write_json
from mnistrepro.logs import setup_logging
from mnistrepro.logreg import run_seeds

log = setup_logging(snakemake.log[0])
params = snakemake.params
seeds = list(params.seeds)
outputs = list(snakemake.output)
groups = getattr(params, "groups", None)
processes = min(snakemake.threads, len(params.pairs)) if groups else 1
groups = groups or [{"seeds": seeds, "steps": params.steps, "eval_steps": params.eval_steps}]
torch.set_num_threads(snakemake.threads if processes == 1 else 1)
mnist = load_mnist(snakemake.input[0])
pairs = [extract_pair(mnist, digits) for digits in params.pairs]
if len(pairs) * len(seeds) != len(outputs):
    raise ValueError(f"{len(pairs)} pairs x {len(seeds)} seeds but {len(outputs)} outputs")
hardware = job_hardware(torch.device("cpu"))
log.info("running on %s (SLURM job %s)", hardware["host"], hardware["slurm_job_id"])


def train_pairs(indices: list[int]) -> None:
    """Train and record every group of seeds of the pairs at ``indices``."""
    for k in indices:
        pair = pairs[k]
        out_for_seed = dict(zip(seeds, outputs[k * len(seeds):(k + 1) * len(seeds)]))
        for group in groups:
            log.info(
                "digits %s (-1 vs +1): %d training, %d test images; loss %s, scaling %s, %d steps, lr %g, "
                "%d seeds (%d to %d), evaluated at %s",
                list(pair["digits"]), pair["train_images"].shape[0], pair["test_images"].shape[0], params.loss,
                params.scaling, group["steps"], params.lr, len(group["seeds"]), min(group["seeds"]),
                max(group["seeds"]), list(group["eval_steps"]),
            )
            records = run_seeds(
                pair,
                loss=params.loss,
                scaling=params.scaling,
                seeds=group["seeds"],
                steps=group["steps"],
                lr=params.lr,
                eval_steps=group["eval_steps"],
                device="cpu",
                on_record=lambda record: write_json({**record, "hardware": hardware}, out_for_seed[record["seed"]]),
            )
            log.info("%.2f s training for %d runs", sum(r["train_seconds"] for r in records), len(records))


if processes == 1:
    train_pairs(list(range(len(pairs))))
else:
    # The pairs are independent: every process takes every processes-th pair (fork shares the data).
    log.info("%d pairs over %d processes", len(pairs), processes)
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(train_pairs, [list(range(i, len(pairs), processes)) for i in range(processes)])
