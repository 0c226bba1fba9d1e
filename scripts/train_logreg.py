"""Rules train_logreg, train_logreg_sweep and train_scale_grid: every seed of one (loss, scaling), of every digit
pair, or of one (loss, pixel divisor).

Input: mnist.pt, from which each digit pair of params.pairs is extracted in memory (the main grid has
one pair, the sweep many; extract_pair gives the same tensors as the pair file of rule extract_pair).
All seeds of a pair train together (mnistrepro.experiments.logreg.run_seeds); training runs on the CPU (see
workflow/rules/logreg.smk). Outputs:

- the main grid (no params.groups): one JSON record per run, output[k] is seed k of params.seeds;
- the sweep and the scale grid (params.groups): one JSON file per pair, output[k] for pair k of params.pairs,
  holding the list of its runs' records (thousands of per-run files would make every Snakemake DAG build slow).
  params.groups: per pair, seeds trained together for their own steps and eval_steps. With more than one thread,
  the pairs are split over that many processes, one core each (the runs do not depend on it). The scale grid
  has one pair, and params.scaling is its divisor (a number; mnistrepro.experiments.logreg.scale_inputs).
"""
import multiprocessing

import torch

from mnistrepro.data.tensors import extract_pair, load_mnist
from mnistrepro.experiments.logreg import run_seeds
from mnistrepro.study.environment import job_hardware
from mnistrepro.study.io import write_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
seeds = list(params.seeds)
outputs = list(snakemake.output)
sweep = getattr(params, "groups", None) is not None
groups = params.groups if sweep else [{"seeds": seeds, "steps": params.steps, "eval_steps": params.eval_steps}]
processes = min(snakemake.threads, len(params.pairs)) if sweep else 1
torch.set_num_threads(snakemake.threads if processes == 1 else 1)
mnist = load_mnist(snakemake.input[0])
pairs = [extract_pair(mnist, digits) for digits in params.pairs]
expected = len(pairs) if sweep else len(pairs) * len(seeds)
if len(outputs) != expected:
    raise ValueError(f"{len(pairs)} pairs x {len(seeds)} seeds: expected {expected} outputs, got {len(outputs)}")
hardware = job_hardware(torch.device("cpu"))
log.info("running on %s (SLURM job %s)", hardware["host"], hardware["slurm_job_id"])


def train_pair(k: int) -> list[dict]:
    """Every run of pair ``k``, group by group, in seed order."""
    pair, records = pairs[k], []
    for group in groups:
        if not group["seeds"]:
            continue
        log.info(
            "digits %s (-1 vs +1): %d training, %d test images; loss %s, scaling %s, %d steps, lr %g, "
            "%d seeds (%d to %d), evaluated at %s",
            list(pair["digits"]), pair["train_images"].shape[0], pair["test_images"].shape[0], params.loss,
            params.scaling, group["steps"], params.lr, len(group["seeds"]), min(group["seeds"]), max(group["seeds"]),
            list(group["eval_steps"]),
        )
        group_records = run_seeds(
            pair,
            loss=params.loss,
            scaling=params.scaling,
            seeds=group["seeds"],
            steps=group["steps"],
            lr=params.lr,
            eval_steps=group["eval_steps"],
            device="cpu",
            experiment=params.experiment,
            hardware=hardware,
        )
        log.info("%.2f s training for %d runs", sum(r["train_seconds"] for r in group_records), len(group_records))
        records += group_records
    return sorted(records, key=lambda r: seeds.index(r["seed"]))


def write_pairs(indices: list[int]) -> None:
    for k in indices:
        records = train_pair(k)
        if sweep:
            write_json(records, outputs[k])
        else:
            for record, path in zip(records, outputs):
                write_json(record, path)


if processes == 1:
    write_pairs(list(range(len(pairs))))
else:
    # The pairs are independent: every process takes every processes-th pair (fork shares the data).
    log.info("%d pairs over %d processes", len(pairs), processes)
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(write_pairs, [list(range(i, len(pairs), processes)) for i in range(processes)])
