"""Evaluating a trained LeNet-5 on the test images: the run's evaluation record.

Evaluation is its own step (rule ``evaluate_lenet``): it reads the weights training saved
(``model.pt``), so a new or corrected metric costs seconds, not a retraining. The per-epoch
test monitoring inside training (:func:`mnistrepro.experiments.lenet_training.evaluate_epoch`) goes through the same
:func:`logits_and_loss`, in the same batches and memory format, so the evaluation of the saved
weights reproduces the training-time numbers bit for bit (``tests/test_lenet.py``).

Calibration is measured as the expected calibration error of Guo et al. (2017), "On Calibration of
Modern Neural Networks": the confidence of a prediction is its softmax probability; the
predictions are put in ``M`` equal-width confidence bins ``((m-1)/M, m/M]`` (and, in ``ece_equal_mass``, ``M``
bins of equal count) and

    ECE = sum_m |B_m| / n * |accuracy(B_m) - mean confidence(B_m)|,

computed by :func:`mnistrepro.analysis.stats.expected_calibration_error`, the one ECE of the study (the test-set
bootstrap of the report uses it too).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mnistrepro.analysis.stats import ECE_BINS, confidence_bin_index, expected_calibration_error
from mnistrepro.experiments.lenet import LeNet5
from mnistrepro.study.io import check_sha256, read_json
from mnistrepro.study.records import LenetEvaluationRecord

NUM_CLASSES = 10


def eval_batch_size(device: torch.device) -> int:
    """Test images per forward pass: all of them on a GPU, 1,000 on the CPU (less memory, same speed)."""
    return 10_000 if device.type == "cuda" else 1000


@torch.inference_mode()
def logits_and_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits ``[N, 10]`` of ``x`` ``[N, 1, 28, 28]`` and their summed cross-entropy loss (0-d float64).

    The loss is summed batch by batch in float64, so the result depends on ``batch_size``: training's
    monitoring and the evaluation step use the same one (:func:`eval_batch_size`).
    """
    was_training = model.training
    model.eval()
    logits, loss_sum = [], torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        out = model(x[start:start + batch_size])
        loss_sum += F.cross_entropy(out, y[start:start + batch_size], reduction="sum").double()
        logits.append(out)
    model.train(was_training)
    return torch.cat(logits), loss_sum


def top_k_correct(logits: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Whether the true class is among the ``k`` highest logits: bool ``[N]`` (``logits`` ``[N, C]``, ``y`` ``[N]``)."""
    return (logits.topk(k, dim=1).indices == y.unsqueeze(1)).any(1)


def calibration_bins(confidence: torch.Tensor, correct: torch.Tensor, n_bins: int = ECE_BINS) -> dict[str, list]:
    """Reliability-diagram bins: per equal-width bin ``((m-1)/M, m/M]`` of ``confidence`` ``[N]`` (in (0, 1]),
    the ``count``, the ``accuracy`` (fraction of ``correct`` ``[N]``) and the mean ``confidence``
    (``None`` for an empty bin), and the bins' ``upper`` edges; the bins of :func:`mnistrepro.analysis.stats
    .expected_calibration_error`."""
    confidence = confidence.double().cpu().numpy()
    index = confidence_bin_index(confidence, n_bins, "equal-width")
    count_ = np.bincount(index, minlength=n_bins).tolist()
    correct_ = np.bincount(index, weights=correct.double().cpu().numpy(), minlength=n_bins).tolist()
    conf_ = np.bincount(index, weights=confidence, minlength=n_bins).tolist()
    return {
        "upper": [(m + 1) / n_bins for m in range(n_bins)],
        "count": count_,
        "accuracy": [c / k if k else None for c, k in zip(correct_, count_)],
        "confidence": [s / k if k else None for s, k in zip(conf_, count_)],
    }


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> dict[str, Any]:
    """Test metrics of ``model`` on images ``x`` ``[N, 1, 28, 28]`` with labels ``y`` ``[N]``.

    ``test_accuracy``, ``test_loss`` (mean cross-entropy), ``correct`` and ``total`` (images), the keys
    every run record of the study shares (logistic regression's: mnistrepro.experiments.logreg.run_metrics); then
    per-class accuracy, confusion matrix, misclassified images, top-2 accuracy and the expected
    calibration error with its bins. ``confusion_matrix[t][p]`` counts images of class
    ``t`` predicted as ``p``. ``misclassified_test_indices`` are rows of ``x`` (ascending), with their
    ``misclassified_predicted`` and ``misclassified_true`` classes.
    """
    logits, loss_sum = logits_and_loss(model, x, y, batch_size)
    pred = logits.argmax(1)
    n = y.shape[0]
    confusion = torch.bincount(y * NUM_CLASSES + pred, minlength=NUM_CLASSES ** 2).view(NUM_CLASSES, NUM_CLASSES)
    confusion = confusion.cpu()
    correct = int(confusion.diagonal().sum())
    per_class_total = confusion.sum(1)
    per_class = [
        (float(confusion[c, c]) / float(per_class_total[c])) if per_class_total[c] > 0 else None
        for c in range(NUM_CLASSES)
    ]
    wrong = torch.nonzero(pred != y).flatten()
    top2 = int(top_k_correct(logits, y, 2).sum())
    # Confidence in float64: the float32 softmax of a confident prediction rounds to exactly 1.
    confidence = torch.softmax(logits.double(), dim=1).amax(1).cpu()
    right = (pred == y).cpu().numpy()
    bins = calibration_bins(confidence, (pred == y).cpu())
    return {
        "test_accuracy": correct / n,
        "test_loss": float(loss_sum) / n,
        "correct": correct,
        "total": n,
        "per_class_accuracy": per_class,
        "per_class_count": per_class_total.tolist(),
        "confusion_matrix": confusion.tolist(),
        "misclassified_test_indices": wrong.tolist(),
        "misclassified_predicted": pred[wrong].tolist(),
        "misclassified_true": y[wrong].tolist(),
        "top2_correct": top2,
        "top2_accuracy": top2 / n,
        "mean_confidence": float(confidence.mean()),
        "ece": expected_calibration_error(confidence.numpy(), right),
        "ece_bins": ECE_BINS,
        "ece_equal_mass": expected_calibration_error(confidence.numpy(), right, binning="equal-mass"),
        "calibration_bins": bins,
        # Every image's confidence: the report bootstraps the ECE over test images from it.
        "confidence": confidence.tolist(),
    }


def load_model(path: str | os.PathLike, device: torch.device) -> tuple[LeNet5, dict[str, Any]]:
    """The model saved at ``path`` (by :func:`mnistrepro.experiments.lenet_training.save_model`) on ``device``, in the
    memory format training evaluated it in (channels-last on the CPU, where oneDNN's convolutions may
    round differently in the other format), and the run description saved with it."""
    saved = torch.load(path, map_location=device, weights_only=True)
    model = LeNet5(saved["c3"])
    model = model.to(device)
    model.load_state_dict(saved["state_dict"])
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model, saved["run"]


def load_trained_model(training_json: str | os.PathLike, model_path: str | os.PathLike,
                       device: torch.device) -> tuple[LeNet5, dict[str, Any], dict[str, Any]]:
    """:func:`load_model` of ``model_path`` once its SHA-256 is the one the run's training record
    (``training_json``) gives for it (else :class:`mnistrepro.study.logs.ArtefactMismatchError`, naming the file);
    also returns the training record."""
    training = read_json(training_json)
    check_sha256(model_path, training["model"]["sha256"], training_json)
    model, run = load_model(model_path, device)
    return model, run, training


def evaluation_record(run: dict[str, Any], training: dict[str, Any], metrics: dict[str, Any], eval_device: str,
                      threads: int, eval_seconds: float) -> LenetEvaluationRecord:
    """The evaluation record of one run (``lenet_eval/{c3}/seed{seed}.json``)
    (:class:`mnistrepro.study.records.LenetEvaluationRecord`): the run's settings, the weights evaluated (``model``:
    path and SHA-256, as its training record gives them), the :func:`evaluate` metrics, and where and how fast they were
    computed. ``eval_device``, not ``device``: in every run record ``device`` is where the run trained."""
    return {"experiment": "lenet", **run, "model": training["model"], **metrics, "eval_device": eval_device,
            "threads": threads, "eval_seconds": eval_seconds, "torch_version": torch.__version__}
