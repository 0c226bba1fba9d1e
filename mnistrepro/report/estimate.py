"""The study's estimate in words: what the console says before the first job (mnistrepro.study.estimate computes
the costs and the wall time; mnistrepro.outputs.progress prints these lines)."""

from __future__ import annotations

from mnistrepro.report.numbers import format_duration
from mnistrepro.study.estimate import CALIBRATION_FAILED, CLUSTER_GPU_LENET, StudyEstimate, Unestimated

__all__ = ["estimate_lines"]


def _unestimated_words(part: Unestimated) -> str:
    if part.part == CLUSTER_GPU_LENET:
        return "the LeNet-5 jobs on the cluster's GPU nodes from this host (no earlier run's benchmarks)"
    if part.part == CALIBRATION_FAILED:
        return f"LeNet-5 training (the calibration failed: {'timed out' if part.error is None else part.error})"
    raise ValueError(f"unknown part without an estimate {part.part!r}; expected {CLUSTER_GPU_LENET!r} or "
                     f"{CALIBRATION_FAILED!r}")


def _source_lines(estimate: StudyEstimate) -> list[str]:
    """Where the costs came from: this machine's calibration, an earlier run's benchmarks, the prior costs."""
    sources = []
    calibration = estimate.calibration
    if calibration:
        per_image = ", ".join(f"{c3} {1e6 * t:.0f} µs" for c3, t in calibration["train_s_per_image"].items())
        group = f" in groups of {calibration['seeds_per_job']} seeds" if calibration["seeds_per_job"] > 1 else ""
        sources.append(
            f"LeNet-5: from {calibration['seconds']:.0f} s of calibration on this machine ({calibration['device']}, "
            f"{calibration['processes']} process{'es' if calibration['processes'] > 1 else ''} at once{group}: "
            f"{per_image} per training image; {calibration['startup_s']:.0f} s start-up per job).")
    if estimate.benchmarked:
        listed = ", ".join(f"{n} {rule}" for rule, n in sorted(estimate.benchmarked.items()))
        sources.append(f"From the rule benchmarks of an earlier run: {listed}.")
    if estimate.prior_costs:
        sources.append("Other jobs (logistic regression, data, aggregation, figures): per-job costs measured on "
                       "this project's 2-core machine (mnistrepro/study/estimate.py).")
    return sources


def estimate_lines(estimate: StudyEstimate) -> list[str]:
    """What the console says before the first job: the duration (the wall time on this machine, the job time on a
    cluster, or what cannot be estimated), then where the costs came from; no line for a run with no job."""
    if not estimate.jobs:
        return []
    lenet = (f"{estimate.lenet_runs} LeNet-5 runs, {format_duration(estimate.lenet_seconds)} of job time; "
             if estimate.lenet_runs else "")
    if estimate.unestimated:
        unestimated = ", ".join(_unestimated_words(part) for part in estimate.unestimated)
        head = (f"Estimated duration: cannot estimate {unestimated}; the {len(estimate.seconds)} other "
                f"jobs take about {format_duration(estimate.job_seconds)} of job time.")
    elif estimate.local:
        head = (f"Estimated duration on this machine: about {format_duration(estimate.wall_s)} on {estimate.cores} "
                f"cores ({len(estimate.jobs)} jobs: {lenet}the rest "
                f"{format_duration(estimate.job_seconds - estimate.lenet_seconds)}).")
    else:
        head = (f"Estimated job time: about {format_duration(estimate.job_seconds)} in {len(estimate.jobs)} jobs "
                f"({lenet.rstrip('; ')}); the wall time depends on the cluster's queue.")
    return [head, *(f"  {source}" for source in _source_lines(estimate))]
