"""Rule train_lenet: train and evaluate LeNet-5 (one C3 variant, one seed), resuming from its checkpoint.

The checkpoint (params.checkpoint) is not a rule output, so Snakemake keeps it when a job fails or is
killed; it is deleted only once metrics.json, history.csv and model.pt are all written.
"""
import os
from pathlib import Path

import torch

from mnistrepro.data import load_mnist
from mnistrepro.device import describe_device, resolve_device
from mnistrepro.io import write_json
from mnistrepro.lenet_training import LeNetRun, run_metrics, save_model, to_device_data, train, write_history_csv
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
metrics = run_metrics(run, result, data, description, threads=snakemake.threads)
metrics["cuda_visible_devices"] = visible
metrics["slurm_job_id"] = slurm_job
log.info(
    "test accuracy %.4f (%d/%d), loss %.4f; %d trainable parameters (analytic %d); %.1f s training",
    metrics["test_accuracy"], metrics["test_correct"], metrics["test_images"], metrics["test_loss"],
    metrics["trainable_params"], metrics["trainable_params_analytic"], metrics["train_seconds"],
)
write_history_csv(result.history, snakemake.output.history)
save_model(result.model, run, snakemake.output.model)
write_json(metrics, snakemake.output.metrics)
checkpoint.unlink(missing_ok=True)
log.info("outputs written; checkpoint %s removed", checkpoint)
