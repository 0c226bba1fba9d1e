"""How long a study will take on this machine, said before its first job (workflow/rules/summary.smk's onstart).

Each job that is about to run gets a cost in seconds, from the first source that has one:

1. **the rule benchmarks of an earlier run** (Snakemake's ``benchmark:`` files): the job's own file, or for a
   LeNet-5 training job the median of the other jobs of its run key, C3 kind and group size (they train the
   same amount);
2. **a few seconds of calibration on this machine** (:mod:`mnistrepro.experiments.calibrate`, in a subprocess: LeNet-5
   training and its test monitoring timed on random images with the study's own code, as many processes at
   once as the study will run), scaled to the job's images, epochs and seeds;
3. **per-job costs measured on this project's 2-core machine** (:data:`PRIOR_SECONDS`, the cheap jobs: a
   few minutes of a default study in all).

The wall time comes from replaying Snakemake's schedule with those costs (:func:`simulate_wall`: the jobs'
dependencies, priorities, threads and GPU slots on the run's cores). On a cluster the queue decides the wall
time, so only the job time is given. Where no source has a cost for LeNet-5 training (a GPU node seen from a
login node without a GPU, or a calibration that failed), the estimate records it instead of guessing.

Numbers only: mnistrepro.report.estimate words the estimate. Torch-free: the workflow imports it; the calibration
runs in its own process.
"""

from __future__ import annotations

import csv
import heapq
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from mnistrepro.study.seeds import parse_group_label

__all__ = ["CALIBRATION_FAILED", "CLUSTER_GPU_LENET", "PlannedJob", "StudyEstimate", "Unestimated", "estimate_study",
           "planned_jobs", "simulate_wall"]

# Seconds per job measured on this project's 2-core machine (the default study's rule benchmarks), for the
# jobs that calibration does not time. Logistic regression is per seed-step: 4 main-grid jobs of 200 seeds x
# 10,000 steps took 46 s, the sweep's 29 million seed-steps 96 core-seconds.
PRIOR_SECONDS = {
    "download_mnist": 15.0,
    "idx_to_tensors": 5.0,
    "extract_pair": 5.0,
    "identities": 25.0,
    "aggregate_logreg": 20.0,
    "aggregate": 45.0,
    "collect_lenet_run": 0.3,
    "all": 0.0,
}
PRIOR_SECONDS_OTHER = 5.0  # a figure or a small table: Python, pandas and matplotlib start-up, then seconds
LOGREG_SECONDS_PER_SEED_STEP = 3.5e-6
# evaluate_lenet does per seed what the test monitoring of one epoch does, plus loading and checking the weights
# and the calibration metrics: about this many times the monitoring's time (default study: 40 s for 33 seeds).
EVALUATION_OVER_MONITORING = 3.0
STARTUP_SECONDS = 5.0  # a script job's Python and torch start-up where calibration did not measure it
MNIST_TRAIN, MNIST_TEST = 60000, 10000
CALIBRATION_TIMEOUT_S = 120


@dataclass(frozen=True)
class PlannedJob:
    """A job Snakemake is about to run, as much of it as the estimate needs."""

    jobid: int
    rule: str
    wildcards: Mapping[str, str]
    threads: int = 1
    gpu: int = 0
    priority: int = 0
    benchmark: str | None = None  # this job's benchmark file
    benchmark_pattern: str | None = None  # its rule's, with {wildcards}
    dependencies: tuple[int, ...] = ()

    @property
    def lenet_seeds(self) -> list[int]:
        """The seeds a LeNet-5 training job trains (none for any other job)."""
        return parse_group_label(self.wildcards["seeds"]) if self.rule == "train_lenet" else []


def planned_jobs(dag) -> list[PlannedJob]:
    """The jobs of a Snakemake DAG that will run (``workflow.dag`` in onstart)."""
    jobs = list(dag.needrun_jobs())
    ids = {job: job.jobid for job in jobs}
    planned = []
    for job in jobs:
        resources = job.resources
        planned.append(PlannedJob(
            jobid=job.jobid,
            rule=job.rule.name,
            wildcards=dict(job.wildcards_dict),
            threads=int(job.threads),
            gpu=int(resources.get("gpu", 0) or 0) if hasattr(resources, "get") else 0,
            priority=int(job.priority) if isinstance(job.priority, (int, float)) else 0,
            benchmark=str(job.benchmark) if job.benchmark else None,
            benchmark_pattern=str(job.rule.benchmark) if job.rule.benchmark else None,
            dependencies=tuple(ids[dep] for dep in dag.dependencies[job] if dep in ids),
        ))
    return planned


def benchmark_seconds(path: str | os.PathLike) -> float | None:
    """The wall seconds (column ``s``) a Snakemake benchmark file recorded, ``None`` if there is none."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        return float(rows[0]["s"]) if rows else None
    except (OSError, KeyError, ValueError):
        return None


def _pattern_regex(pattern: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)(?:,[^}]*)?\}", pattern)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(regex + "$")


def similar_benchmarks(job: PlannedJob) -> list[float]:
    """Seconds recorded by earlier runs of this job, or of jobs of its rule that do the same work: the same
    wildcards, except that a LeNet-5 training job's seeds only need to be as many."""
    if job.benchmark and (own := benchmark_seconds(job.benchmark)) is not None:
        return [own]
    if job.rule != "train_lenet" or not job.benchmark_pattern:
        return []
    regex = _pattern_regex(job.benchmark_pattern)
    directory = Path(job.benchmark_pattern.split("{")[0].rpartition("/")[0] or ".")
    found = []
    for path in sorted(directory.glob("*.tsv")) if directory.is_dir() else []:
        match = regex.match(path.as_posix())
        if not match:
            continue
        wc = match.groupdict()
        if wc.get("c3") == job.wildcards.get("c3") and len(parse_group_label(wc["seeds"])) == len(job.lenet_seeds):
            seconds = benchmark_seconds(path)
            if seconds is not None:
                found.append(seconds)
    return found


def run_calibration(device: str, threads: int, c3_kinds: Sequence[str], seeds_per_job: int, processes: int,
                    batch_size: int = 100, lr: float = 0.1, timeout_s: float = CALIBRATION_TIMEOUT_S) -> dict | None:
    """:mod:`mnistrepro.experiments.calibrate` in ``processes`` concurrent subprocesses (the study's concurrent training
    jobs share caches and memory bandwidth); per C3 kind the mean of their per-image times, and ``startup_s``, the
    processes' wall time less their timed work (Python and torch start-up). ``None`` when it fails."""
    command = [sys.executable, "-m", "mnistrepro.experiments.calibrate", "--device", device, "--threads", str(threads),
               "--c3", *c3_kinds, "--seeds-per-job", str(seeds_per_job), "--batch-size", str(batch_size),
               "--lr", repr(lr)]
    # The same package as this process's, wherever it was imported from (Snakemake puts the workflow's directory on
    # sys.path, which a subprocess does not inherit).
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(max(1, processes))]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(1.0, timeout_s - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        if proc.returncode != 0:
            return {"error": (err.strip().splitlines() or ["exit status %d" % proc.returncode])[-1]}
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - start
    merged: dict[str, Any] = {key: results[0][key] for key in ("device", "threads", "seeds_per_job")}
    for key in ("train_s_per_image", "eval_s_per_image"):
        merged[key] = {c3: statistics.mean(r[key][c3] for r in results) for c3 in c3_kinds}
    merged["processes"] = len(results)
    merged["seconds"] = wall
    merged["startup_s"] = max(0.0, wall - max(r["work_s"] for r in results))
    return merged


def simulate_wall(jobs: Sequence[PlannedJob], seconds: Mapping[int, float], cores: int, gpus: int | None = None) -> float:
    """The wall time of running ``jobs`` with these costs on ``cores`` cores and ``gpus`` GPU slots, scheduled as
    Snakemake does it in essence: whenever cores are free, the ready job of highest priority that fits starts."""
    ids = {job.jobid for job in jobs}
    waiting = {job.jobid: sum(1 for d in job.dependencies if d in ids) for job in jobs}
    dependents: dict[int, list[int]] = {job.jobid: [] for job in jobs}
    for job in jobs:
        for dep in job.dependencies:
            if dep in dependents:
                dependents[dep].append(job.jobid)
    by_id = {job.jobid: job for job in jobs}
    order = {job.jobid: i for i, job in enumerate(jobs)}
    ready = [(-by_id[j].priority, order[j], j) for j, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    now, free_cores, free_gpus = 0.0, cores, (gpus if gpus is not None else float("inf"))
    while ready or running:
        skipped = []
        while ready:
            item = heapq.heappop(ready)
            job = by_id[item[2]]
            threads = min(job.threads, cores)
            if threads <= free_cores and job.gpu <= free_gpus:
                free_cores -= threads
                free_gpus -= job.gpu
                heapq.heappush(running, (now + seconds.get(job.jobid, 0.0), job.jobid))
            else:
                skipped.append(item)
        for item in skipped:
            heapq.heappush(ready, item)
        if not running:
            break  # a job that can never fit (more GPUs than there are): Snakemake would refuse it
        now, jobid = heapq.heappop(running)
        job = by_id[jobid]
        free_cores += min(job.threads, cores)
        free_gpus += job.gpu
        for nxt in dependents[jobid]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (-by_id[nxt].priority, order[nxt], nxt))
    return now


# What :attr:`StudyEstimate.unestimated` may hold: the LeNet-5 jobs on a cluster's GPU nodes, seen from a host without
# a GPU and with no earlier run's benchmarks; LeNet-5 training whose calibration failed.
CLUSTER_GPU_LENET = "cluster_gpu_lenet"
CALIBRATION_FAILED = "calibration_failed"


@dataclass(frozen=True)
class Unestimated:
    """A part of the study the estimate has no cost for: ``part`` is :data:`CLUSTER_GPU_LENET` or
    :data:`CALIBRATION_FAILED`; ``error``, the failed calibration's last line (None where it timed out)."""

    part: str
    error: str | None = None


@dataclass
class StudyEstimate:
    """The cost of every job about to run, the wall time they add up to, and where the numbers came from
    (mnistrepro.report.estimate words it)."""

    jobs: list[PlannedJob]
    seconds: dict[int, float]  # per job id; a job without a cost is missing
    wall_s: float | None  # None on a cluster, or when a cost is missing
    cores: int
    local: bool
    unestimated: list[Unestimated] = field(default_factory=list)  # what could not be estimated
    # Where the costs came from: this machine's calibration (run_calibration's result), the jobs per rule costed
    # from an earlier run's benchmarks, and whether any job took a per-job cost of PRIOR_SECONDS.
    calibration: dict[str, Any] | None = None
    benchmarked: dict[str, int] = field(default_factory=dict)
    prior_costs: bool = False
    lenet_runs: int = 0
    lenet_seconds: float = 0.0

    @property
    def job_seconds(self) -> float:
        """Seconds of job time, each job's wall time once (a multi-threaded job counts once)."""
        return sum(self.seconds.values())


def _lenet_model_seconds(job: PlannedJob, lenet: Mapping[str, Any], calibration: Mapping[str, Any]) -> float:
    """A LeNet-5 training job's seconds from the calibration: start-up, then per epoch its images (a group trains
    them together; the calibration timed a group of the same size) and each seed's test monitoring."""
    c3 = job.wildcards["c3"]
    n_train = lenet.get("train_limit") or MNIST_TRAIN
    n_test = lenet.get("test_limit") or MNIST_TEST
    seeds = len(job.lenet_seeds)
    per_epoch_train = n_train * calibration["train_s_per_image"][c3]
    if calibration.get("seeds_per_job", 1) == 1:
        per_epoch_train *= seeds  # one seed after another
    per_epoch_eval = seeds * n_test * calibration["eval_s_per_image"][c3]
    return calibration["startup_s"] + lenet["epochs"] * (per_epoch_train + per_epoch_eval)


def _logreg_seconds(job: PlannedJob, config: Mapping[str, Any], startup: float) -> float:
    if job.rule in ("train_logreg", "train_scale_grid"):  # the grid's jobs: the main grid's seeds and steps
        logreg = config["logreg"]
        return startup + len(logreg["seeds"]) * logreg["steps"] * LOGREG_SECONDS_PER_SEED_STEP
    sweep = config["pair_sweep"]
    pairs = 45 if sweep["pairs"] is None else len({tuple(sorted(p)) for p in sweep["pairs"]})
    seeds = len(sweep["seeds"])
    long = min(sweep["long_seeds"], seeds)
    seed_steps = pairs * (long * sweep["long_steps"] + (seeds - long) * sweep["steps"])
    return startup + seed_steps * LOGREG_SECONDS_PER_SEED_STEP / max(1, min(job.threads, sweep["processes"]))


def estimate_study(jobs: Sequence[PlannedJob], config: Mapping[str, Any], cores: int, local: bool = True,
                   gpus: int | None = None, lenet_on_gpu: bool = False, seeds_per_job: int = 1,
                   calibrate=run_calibration) -> StudyEstimate:
    """The estimate of running ``jobs`` (:func:`planned_jobs`) of a study with ``config`` (seeds as lists).

    ``local``: the jobs run on this machine (else on a cluster); ``lenet_on_gpu``: LeNet-5 trains on a GPU;
    ``calibrate``: :func:`run_calibration` (a test passes a stand-in).
    """
    jobs = list(jobs)
    lenet = config["lenet"]
    seconds: dict[int, float] = {}
    from_benchmarks: dict[str, int] = {}
    for job in jobs:
        found = similar_benchmarks(job)
        if found:
            seconds[job.jobid] = statistics.median(found)
            from_benchmarks[job.rule] = from_benchmarks.get(job.rule, 0) + 1
    training = [job for job in jobs if job.rule == "train_lenet"]
    to_model = [job for job in training if job.jobid not in seconds]
    unestimated: list[Unestimated] = []
    calibration = None
    device = "cuda" if lenet_on_gpu else "cpu"
    if to_model or any(job.rule == "evaluate_lenet" and job.jobid not in seconds for job in jobs):
        if lenet_on_gpu and not local:
            unestimated.append(Unestimated(CLUSTER_GPU_LENET))
        else:
            parallel = 1 if lenet_on_gpu else max(1, min(cores // max(1, lenet["threads"]), len(to_model), 8))
            calibration = calibrate(device, lenet["threads"], sorted({j.wildcards["c3"] for j in to_model}
                                                                      or lenet["c3"]),
                                    seeds_per_job, parallel, lenet["batch_size"], lenet["lr"])
            if calibration is None or "error" in calibration:
                error = None if calibration is None else calibration["error"]  # None: it timed out
                unestimated.append(Unestimated(CALIBRATION_FAILED, error))
                calibration = None
    startup = calibration["startup_s"] if calibration else STARTUP_SECONDS
    for job in jobs:
        if job.jobid in seconds:
            continue
        if job.rule == "train_lenet":
            if calibration:
                seconds[job.jobid] = _lenet_model_seconds(job, lenet, calibration)
        elif job.rule == "evaluate_lenet":
            if calibration:
                n_test = lenet.get("test_limit") or MNIST_TEST
                seconds[job.jobid] = startup + len(lenet["seeds"]) * n_test * EVALUATION_OVER_MONITORING * \
                    calibration["eval_s_per_image"].get(job.wildcards["c3"], max(calibration["eval_s_per_image"].values()))
        elif job.rule in ("train_logreg", "train_logreg_sweep", "train_scale_grid"):
            seconds[job.jobid] = _logreg_seconds(job, config, startup)
        else:
            seconds[job.jobid] = PRIOR_SECONDS.get(job.rule, PRIOR_SECONDS_OTHER)
    prior_costs = any(job.rule not in ("train_lenet", "evaluate_lenet") and job.rule not in from_benchmarks
                      for job in jobs)
    lenet_runs = sum(len(job.lenet_seeds) for job in training)
    lenet_seconds = sum(seconds.get(job.jobid, 0.0) for job in training)
    wall = None
    if local and not unestimated:
        wall = simulate_wall(jobs, seconds, cores, gpus)
    return StudyEstimate(jobs=jobs, seconds=seconds, wall_s=wall, cores=cores, local=local, unestimated=unestimated,
                         calibration=calibration, benchmarked=dict(sorted(from_benchmarks.items())),
                         prior_costs=prior_costs, lenet_runs=lenet_runs, lenet_seconds=lenet_seconds)
