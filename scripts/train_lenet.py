"""Rule train_lenet: train LeNet-5 (one C3 variant, one seed), resuming from its checkpoint.

Writes the weights, the per-epoch history and the training record; rule evaluate_lenet evaluates the
weights. The checkpoint (params.checkpoint) is not a rule output, so Snakemake keeps it when a job
fails, is killed, cancelled or preempted; a retry (the SLURM profile's `retries`) or a rerun resumes
from it. It is deleted only once training.json, history.csv and model.pt are all written.
"""
from pathlib import Path

import torch

from mnistrepro.data import load_mnist
from mnistrepro.device import claim_training_device
from mnistrepro.environment import job_hardware
from mnistrepro.io import write_json
from mnistrepro.lenet_training import LeNetRun, save_model, training_record, to_device_data, train, write_history_csv
from mnistrepro.logs import setup_logging

p = snakemake.params
checkpoint = Path(p.checkpoint)
log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
# The slot stays claimed until this process exits.
device, gpu_slot = claim_training_device(p.device, p.gpu["jobs_per_gpu"], p.gpu["wait_s"])
hardware = job_hardware(device)
run = LeNetRun(
    c3=snakemake.wildcards.c3,
    seed=int(snakemake.wildcards.seed),
    epochs=p.epochs,
    batch_size=p.batch_size,
    lr=p.lr,
    train_limit=p.train_limit,
    test_limit=p.test_limit,
)
log.info(
    "device %s (config: %s; CUDA_VISIBLE_DEVICES=%s, SLURM job %s) on host %s, %d CPU threads, torch %s%s",
    hardware["device"], p.device, hardware["cuda_visible_devices"], hardware["slurm_job_id"], hardware["host"],
    snakemake.threads, torch.__version__,
    "" if gpu_slot is None else f", CUDA {hardware['cuda']}, cuDNN {hardware['cudnn']}, driver {hardware['driver']}",
)

data = to_device_data(load_mnist(snakemake.input.mnist), device, run.train_limit, run.test_limit)
result = train(run, data, checkpoint_path=checkpoint)
write_history_csv(result.history, snakemake.output.history)
model_sha256 = save_model(result.model, run, snakemake.output.model)
record = training_record(run, result, data, hardware, snakemake.output.model, model_sha256, threads=snakemake.threads,
                         gpu_index=None if gpu_slot is None else gpu_slot.index)
log.info(
    "%d trainable parameters (analytic %d); %.1f s training (%.0f images/s)",
    record["trainable_params"], record["trainable_params_analytic"], record["train_seconds"], record["images_per_s"],
)
write_json(record, snakemake.output.training)
checkpoint.unlink(missing_ok=True)
log.info("outputs written; checkpoint %s removed", checkpoint)
