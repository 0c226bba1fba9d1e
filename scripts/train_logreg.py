"""Rules train_logreg and train_logreg_pair: every seed of one (loss, scaling) or one digit pair.

Input: a pair subset (results/data/pair_{a}_{b}.pt) or, with params.digits, the full mnist.pt
from which that pair is extracted in memory. Writes one JSON record per seed, output[k] for
params.seeds[k]. Training runs on the CPU (see workflow/rules/logreg.smk).
"""
import torch

from mnistrepro.data import extract_pair, load_mnist, load_pair
from mnistrepro.environment import job_hardware
from mnistrepro.io import write_json
from mnistrepro.logreg import run_seeds
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
params = snakemake.params
seeds = list(params.seeds)
outputs = list(snakemake.output)
if len(seeds) != len(outputs):
    raise ValueError(f"{len(seeds)} seeds but {len(outputs)} outputs")

if params.digits is None:
    pair = load_pair(snakemake.input[0])
else:
    pair = extract_pair(load_mnist(snakemake.input[0]), params.digits)
log.info(
    "digits %s (-1 vs +1): %d training, %d test images; loss %s, scaling %s, %d steps, lr %g, "
    "seeds %s, evaluated at %s",
    list(pair["digits"]), pair["train_images"].shape[0], pair["test_images"].shape[0],
    params.loss, params.scaling, params.steps, params.lr, seeds, list(params.eval_steps),
)
out_for_seed = dict(zip(seeds, outputs))
hardware = job_hardware(torch.device("cpu"))
log.info("running on %s (SLURM job %s)", hardware["host"], hardware["slurm_job_id"])


def save(record: dict) -> None:
    write_json({**record, "hardware": hardware}, out_for_seed[record["seed"]])


records = run_seeds(
    pair,
    loss=params.loss,
    scaling=params.scaling,
    seeds=seeds,
    steps=params.steps,
    lr=params.lr,
    eval_steps=params.eval_steps,
    dtype=torch.float64,
    device="cpu",
    on_record=save,
)
accuracies = [r["accuracy"] for r in records]
log.info(
    "done: %d runs, final accuracy mean %.2f%%, min %.2f%%, max %.2f%%, %.2f s training in all",
    len(records), 100 * sum(accuracies) / len(accuracies), 100 * min(accuracies), 100 * max(accuracies),
    sum(r["train_seconds"] for r in records),
)
