"""The run records' schema: what each JSON record of the study holds, one type per kind of record.

Each is built by one function of the package, which scripts only call:

- :class:`LogregRunRecord`: ``{study}/logreg/main/{loss}_{scaling}/seed{seed}.json`` (one run), and the
  sweep's ``{study}/logreg/pair_sweep/pair_{a}_{b}.json`` (a list of runs), and the exploratory grid's
  ``{study}/logreg/scale_grid/...json``, :func:`mnistrepro.experiments.logreg.run_record`;
- :class:`LenetTrainingRecord`: ``results/lenet/<run key>/{c3}/seed{seed}/training.json`` (shared by the studies,
  mnistrepro.study.studies), :func:`mnistrepro.experiments.lenet_training.training_record`, plus the fields of the run
  (:class:`mnistrepro.experiments.lenet_training.LeNetRun`);
- :data:`LenetEvaluationRecord`: ``{study}/lenet_eval/{c3}/seed{seed}.json``,
  :func:`mnistrepro.experiments.lenet_eval.evaluation_record`, plus the fields of the run;
- :class:`HardwareRecord`: a job's ``hardware``, :func:`mnistrepro.study.environment.job_hardware`.

``experiment`` is one of mnistrepro.study.choices.EXPERIMENTS. A record names the file it describes with its SHA-256
(:class:`Artefact`); the rule that reads that file checks it first. No torch import (the tests and the
aggregation read these types).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from mnistrepro.study.choices import experiment_metrics


class Artefact(TypedDict):
    """A file a record describes: its path (relative to the study's directory) and SHA-256 (hex)."""

    path: str
    sha256: str


class HardwareRecord(TypedDict):
    host: str
    slurm_job_id: str | None
    cuda_visible_devices: str | None
    device: str
    gpu_model: str | None
    cuda: str | None
    cudnn: str | None
    driver: str | None
    cpu: str
    cpu_capability: str


class LogregEvalFields(TypedDict):
    """Besides these, the registry's logistic-regression metrics (:data:`LogregEval`)."""

    step: int
    test_loss: float
    correct: int
    total: int
    saturated_errors: int
    median_abs_logit: float
    train_seconds: float
    wrong_steps: int
    stuck_steps: int


# One evaluation of a logistic-regression run, after ``step`` SGD steps: its fields and each metric the registry
# declares for logistic regression, a fraction under its name (mnistrepro.study.choices.METRICS: test_accuracy, ...).
LogregEval = TypedDict("LogregEval", {  # type: ignore[misc]
    **LogregEvalFields.__annotations__, **{m.name: float for m in experiment_metrics("logreg")}})


class LogregRunFields(TypedDict):
    """``scaling``: ``raw``, ``unit`` (mnistrepro.study.choices.SCALINGS) or, for a scale-grid divisor that is neither,
    ``divided by <divisor>``; ``pixel_divisor``: the number the 0-255 pixel values were divided by. Besides these, the
    registry's logistic-regression metrics at ``steps`` (:data:`LogregRunRecord`)."""

    experiment: Literal["logreg", "pair_sweep", "scale_grid"]
    loss: str
    scaling: str
    pixel_divisor: float
    digits: list[int]
    seed: int
    lr: float
    steps: int
    dtype: str
    device: str
    eval_device: str
    n_train: int
    test_loss: float
    correct: int
    total: int
    saturated_errors: int
    median_abs_logit: float
    misclassified: list[int]
    chance_accuracy: float
    train_seconds: float
    steps_per_s: float | None
    wrong_steps: int
    stuck_steps: int
    evals: list[LogregEval]
    hardware: HardwareRecord | None


# A logistic-regression run's record: its fields and the registry's logistic-regression metrics at its last step.
LogregRunRecord = TypedDict("LogregRunRecord", {  # type: ignore[misc]
    **LogregRunFields.__annotations__, **{m.name: float for m in experiment_metrics("logreg")}})


class LenetTrainingRecord(TypedDict):
    """Besides these, the fields of the run (mnistrepro.experiments.lenet_training.LeNetRun: ``c3``, ``seed``, ...)."""

    experiment: Literal["lenet"]
    train_images: int
    trainable_params: int
    trainable_params_analytic: int
    params_per_layer: dict[str, dict[str, int]]
    train_seconds: float
    eval_seconds: float
    images_per_s: float | None
    final_train_loss: NotRequired[float]
    final_train_accuracy: NotRequired[float]
    device: str
    device_type: str
    threads: int | None
    resumed_from_epoch: int | None
    torch_version: str
    gpu_index: int | None
    hardware: HardwareRecord
    model: Artefact
    trained_with: list[int] | None  # the seeds of its training group, when trained together (lenet.seeds_per_job)


class LenetEvaluationFields(TypedDict):
    """Besides these, the fields of the run (as in :class:`LenetTrainingRecord`) and the registry's LeNet-5
    metrics (:data:`LenetEvaluationRecord`)."""

    experiment: Literal["lenet"]
    model: Artefact
    test_loss: float
    correct: int
    total: int
    per_class_accuracy: list[float | None]
    per_class_count: list[int]
    confusion_matrix: list[list[int]]
    misclassified_test_indices: list[int]
    misclassified_predicted: list[int]
    misclassified_true: list[int]
    top2_correct: int
    mean_confidence: float
    ece_equal_mass: float  # ECE over ece_bins bins of equal count
    ece_bins: int
    calibration_bins: dict[str, list[Any]]
    confidence: list[float]  # each test image's softmax confidence (image-level resampling of the ECE)
    eval_device: str
    threads: int
    eval_seconds: float
    torch_version: str


# The evaluation record: its fields and each metric the registry declares for LeNet-5, a fraction under its name
# (mnistrepro.study.choices.METRICS: test_accuracy, top2_accuracy, ece, ...), so that a new metric is declared once.
LenetEvaluationRecord = TypedDict("LenetEvaluationRecord", {  # type: ignore[misc]
    **LenetEvaluationFields.__annotations__, **{m.name: float for m in experiment_metrics("lenet")}})

