"""Rule evaluate_lenet: evaluate the saved weights of every seed of one C3 variant on the test images.

One job per variant: the test images are loaded once, and torch's start-up (seconds) is paid once
rather than per run; each run's evaluation takes well under a second.
"""
import time

import torch

from mnistrepro.data.tensors import load_mnist
from mnistrepro.experiments.lenet_eval import eval_batch_size, evaluate, evaluation_record, load_trained_model
from mnistrepro.experiments.lenet_training import to_device_data
from mnistrepro.study.device import claim_training_device, describe_device
from mnistrepro.study.io import write_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
# Like training: on a GPU, the job holds a slot of its own (released when the process exits).
device, gpu_slot = claim_training_device(snakemake.params.device, snakemake.params.gpu["jobs_per_gpu"],
                                         snakemake.params.gpu["wait_s"])
description = describe_device(device)
log.info("device %s (config: %s), %d CPU threads, torch %s",
         description, snakemake.params.device, snakemake.threads, torch.__version__)

data = to_device_data(load_mnist(snakemake.input.mnist), device, train_limit=0, test_limit=snakemake.params.test_limit)
runs = zip(snakemake.input.trainings, snakemake.input.models, snakemake.output.evaluations, strict=True)
for training_path, model_path, out in runs:
    # The weights must be the ones training recorded (their SHA-256), not a damaged or stale file.
    model, run, training = load_trained_model(training_path, model_path, device)
    if run["test_limit"] != snakemake.params.test_limit:
        # The training-time monitoring saw another test set; say so rather than compare unlike numbers.
        log.warning("%s was trained with test_limit %s, evaluated with %s", model_path, run["test_limit"],
                    snakemake.params.test_limit)
    t0 = time.perf_counter()
    metrics = evaluate(model, data.test_x, data.test_y, eval_batch_size(device))
    seconds = time.perf_counter() - t0
    write_json(evaluation_record(run, training, metrics, description, snakemake.threads, seconds), out)
    log.info("%s C3 seed %d: test accuracy %.4f (%d/%d), loss %.4f, top-2 %.4f, ECE %.4f; %.2f s",
             run["c3"], run["seed"], metrics["test_accuracy"], metrics["correct"], metrics["total"],
             metrics["test_loss"], metrics["top2_accuracy"], metrics["ece"], seconds)
