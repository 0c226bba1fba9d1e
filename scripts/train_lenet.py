"""Rule train_lenet: train LeNet-5 (one C3 variant, one seed), resuming from its checkpoint.

Writes the weights, the per-epoch history and the training record; rule evaluate_lenet evaluates the
weights. The checkpoint (params.checkpoint) is not a rule output, so Snakemake keeps it when a job
fails or is killed; it is deleted only once training.json, history.csv and model.pt are all written.
"""
import os
from pathlib import Path

import torch

from mnistrepro.data import load_mnist
from mnistrepro.device import describe_device, resolve_device
from mnistrepro.io import write_json
from mnistrepro.lenet_training import LeNetRun, save_model, training_record, to_device_data, train, write_history_csv
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
device = resolve_device(snakemake.params.device)
description = describe_device(device)
p = snakemake.params
run = LeNetRun(
    c3=snakemake.wildcards.c3,
    seed=int(snakemake.wildcards.seed),
    epochs=p.epochs,
    batch_size=p.batch_size,
    lr=p.lr,
    train_limit=p.train_limit,
    test_limit=p.test_limit,
)
# What the job was given: under SLURM, the GPU it was allocated (CUDA_VISIBLE_DEVICES) and its job id.
visible = os.environ.get("CUDA_VISIBLE_DEVICES")
slurm_job = os.environ.get("SLURM_JOB_ID")
log.info(
    "device %s (config: %s; CUDA_VISIBLE_DEVICES=%s, SLURM job %s), %d CPU threads, torch %s",
    description, p.device, visible, slurm_job, snakemake.threads, torch.__version__,
)

data = to_device_data(load_mnist(snakemake.input.mnist), device, run.train_limit, run.test_limit)
checkpoint = Path(p.checkpoint)
result = train(run, data, checkpoint_path=checkpoint)
record = training_record(run, result, data, description, threads=snakemake.threads)
record["cuda_visible_devices"] = visible
record["slurm_job_id"] = slurm_job
log.info(
    "%d trainable parameters (analytic %d); %.1f s training (%.0f images/s)",
    record["trainable_params"], record["trainable_params_analytic"], record["train_seconds"], record["images_per_s"],
)
write_history_csv(result.history, snakemake.output.history)
save_model(result.model, run, snakemake.output.model)
write_json(record, snakemake.output.training)
checkpoint.unlink(missing_ok=True)
log.info("outputs written; checkpoint %s removed", checkpoint)
