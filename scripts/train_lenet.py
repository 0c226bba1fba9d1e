"""Rule train_lenet: train LeNet-5 (one C3 variant, a group of seeds), resuming from the group's checkpoint.

Writes each seed's weights, per-epoch history and training record under the group's directory (seed<N>/; the
record names the weights where collect_lenet_run copies them, params.run_dirs); rule
evaluate_lenet evaluates the weights. Training is mnistrepro.experiments.lenet_training.train_group: unless
params.together, the job's one seed alone; with it, the group's seeds stacked, even a group of one, so that its numbers
are those of its run key (the stacked kernels add in another order than one seed's).
The checkpoint (params.checkpoint) is not a rule output, so Snakemake keeps it when a job fails, is killed,
cancelled or preempted; a retry (the SLURM profile's `retries`) or a rerun resumes from it. It is deleted only once
every file of the group is written.
"""
from pathlib import Path

import torch

from mnistrepro.data.tensors import load_mnist
from mnistrepro.experiments.lenet_training import (LeNetRun, save_model, train_group, training_record, to_device_data,
                                                   write_history_csv)
from mnistrepro.study.device import claim_training_device
from mnistrepro.study.environment import job_hardware
from mnistrepro.study.io import write_json
from mnistrepro.study.logs import setup_logging
from mnistrepro.study.seeds import parse_group_label

p = snakemake.params
checkpoint = Path(p.checkpoint)
log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
# The slot stays claimed until this process exits.
device, gpu_slot = claim_training_device(p.device, p.gpu["jobs_per_gpu"], p.gpu["wait_s"])
hardware = job_hardware(device)
runs = [
    LeNetRun(
        c3=snakemake.wildcards.c3,
        seed=seed,
        epochs=p.epochs,
        batch_size=p.batch_size,
        lr=p.lr,
        train_limit=p.train_limit,
        test_limit=p.test_limit,
    )
    for seed in parse_group_label(snakemake.wildcards.seeds)
]
log.info(
    "device %s (config: %s; CUDA_VISIBLE_DEVICES=%s, SLURM job %s) on host %s, %d CPU threads, torch %s%s",
    hardware["device"], p.device, hardware["cuda_visible_devices"], hardware["slurm_job_id"], hardware["host"],
    snakemake.threads, torch.__version__,
    "" if gpu_slot is None else f", CUDA {hardware['cuda']}, cuDNN {hardware['cudnn']}, driver {hardware['driver']}",
)

data = to_device_data(load_mnist(snakemake.input.mnist), device, runs[0].train_limit, runs[0].test_limit)
results = train_group(runs, data, checkpoint_path=checkpoint, stacked=p.together)
group_dir = Path(snakemake.output.group)
for run, result, run_dir in zip(runs, results, p.run_dirs):
    files = group_dir / f"seed{run.seed}"
    write_history_csv(result.history, files / "history.csv")
    model_sha256 = save_model(result.model, run, files / "model.pt")
    record = training_record(
        run, result, data, hardware, f"{run_dir}/model.pt", model_sha256, threads=snakemake.threads,
        gpu_index=None if gpu_slot is None else gpu_slot.index,
        trained_with=[r.seed for r in runs] if p.together else None,
    )
    log.info(
        "seed %d: %d trainable parameters (analytic %d); %.1f s training (%.0f images/s)",
        run.seed, record["trainable_params"], record["trainable_params_analytic"], record["train_seconds"],
        record["images_per_s"],
    )
    write_json(record, files / "training.json")
checkpoint.unlink(missing_ok=True)
log.info("outputs written; checkpoint %s removed", checkpoint)
