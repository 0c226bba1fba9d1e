"""The estimate before the first job and the progress during the run (mnistrepro.study.estimate and
mnistrepro.outputs.progress compute them, mnistrepro.report.estimate and mnistrepro.report.progress word them), on
made-up jobs: no Snakemake run, no torch."""

from __future__ import annotations

import io
import logging

import pytest

from mnistrepro.outputs.progress import RoutineJobFilter, StudyProgress
from mnistrepro.report.estimate import estimate_lines
from mnistrepro.report.numbers import format_duration
from mnistrepro.study.estimate import (CALIBRATION_FAILED, CLUSTER_GPU_LENET, PlannedJob, StudyEstimate, Unestimated,
                                       estimate_study, similar_benchmarks, simulate_wall)

CONFIG = {
    "logreg": {"seeds": list(range(200)), "steps": 10000},
    "pair_sweep": {"pairs": None, "seeds": list(range(200)), "long_seeds": 50, "long_steps": 10000, "steps": 1000,
                   "processes": 2},
    "lenet": {"c3": ["sparse", "full"], "seeds": list(range(3)), "epochs": 10, "batch_size": 100, "lr": 0.1,
              "threads": 1, "train_limit": None, "test_limit": None},
}


def fake_calibration(device, threads, c3_kinds, seeds_per_job, processes, batch_size, lr):
    return {"device": device, "threads": threads, "seeds_per_job": seeds_per_job, "processes": processes,
            "seconds": 6.0, "startup_s": 4.0, "train_s_per_image": {c3: 1e-4 for c3 in c3_kinds},
            "eval_s_per_image": {c3: 2e-5 for c3 in c3_kinds}}


def study_jobs(seeds=3) -> list[PlannedJob]:
    """Data, then six LeNet-5 training jobs and a logistic-regression job, then an aggregation of all."""
    jobs = [PlannedJob(0, "idx_to_tensors", {})]
    jobs += [PlannedJob(1 + i, "train_lenet", {"c3": c3, "seeds": str(seed)}, dependencies=(0,))
             for i, (c3, seed) in enumerate((c3, s) for c3 in ("sparse", "full") for s in range(seeds))]
    n = len(jobs)
    jobs.append(PlannedJob(n, "train_logreg", {"loss": "mse", "scaling": "raw"}, priority=10, dependencies=(0,)))
    jobs.append(PlannedJob(n + 1, "aggregate", {}, dependencies=tuple(range(1, n + 1))))
    return jobs


def test_a_lenet_job_costs_its_images_epochs_and_start_up():
    estimate = estimate_study(study_jobs(), CONFIG, cores=2, calibrate=fake_calibration)
    training = [job for job in estimate.jobs if job.rule == "train_lenet"]
    # 4 s start-up + 10 epochs x (60,000 x 100 us + 10,000 x 20 us) = 4 + 10 x 6.2 = 66 s.
    assert all(estimate.seconds[job.jobid] == pytest.approx(66.0) for job in training)
    assert estimate.lenet_runs == 6 and estimate.lenet_seconds == pytest.approx(6 * 66.0)
    assert not estimate.unestimated and estimate.calibration["processes"] == 2 and estimate.prior_costs
    text = "\n".join(estimate_lines(estimate))
    assert text.startswith("Estimated duration on this machine: about ")
    assert "6 LeNet-5 runs" in text and "calibration on this machine" in text and "2-core machine" in text


def test_the_wall_time_follows_cores_priorities_and_dependencies():
    jobs = study_jobs()
    seconds = {job.jobid: 10.0 for job in jobs}
    # 10 s of data; 7 jobs of 10 s on 2 cores: 40 s; then the aggregation: 10 s.
    assert simulate_wall(jobs, seconds, cores=2) == pytest.approx(60.0)
    assert simulate_wall(jobs, seconds, cores=8) == pytest.approx(30.0)
    # One GPU slot and GPU jobs: they run one at a time whatever the cores.
    gpu_jobs = [PlannedJob(i, "train_lenet", {"c3": "full", "seeds": str(i)}, gpu=1) for i in range(3)]
    assert simulate_wall(gpu_jobs, {i: 5.0 for i in range(3)}, cores=16, gpus=1) == pytest.approx(15.0)


def test_an_earlier_runs_benchmarks_come_before_calibration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pattern = "results/benchmarks/lenet/key/{c3}_group_{seeds}.tsv"
    (tmp_path / "results/benchmarks/lenet/key").mkdir(parents=True)
    for seeds, s in (("0", 50.0), ("1", 70.0), ("0-9", 999.0)):  # a group of ten does other work
        (tmp_path / f"results/benchmarks/lenet/key/sparse_group_{seeds}.tsv").write_text(
            f"s\th:m:s\tmax_rss\n{s}\t0:00:50\t100\n")
    job = PlannedJob(5, "train_lenet", {"c3": "sparse", "seeds": "7"}, benchmark=pattern.format(c3="sparse", seeds="7"),
                     benchmark_pattern=pattern)
    assert sorted(similar_benchmarks(job)) == [50.0, 70.0]
    calls = []
    estimate = estimate_study([job], CONFIG, cores=2, calibrate=lambda *a: calls.append(a))
    assert estimate.seconds[5] == 60.0 and not calls, "no calibration when benchmarks give every LeNet-5 job"
    assert estimate.benchmarked == {"train_lenet": 1} and not estimate.prior_costs
    assert estimate_lines(estimate)[1:] == ["  From the rule benchmarks of an earlier run: 1 train_lenet."]


def test_where_it_cannot_estimate_it_says_so():
    jobs = study_jobs()
    on_cluster = estimate_study(jobs, CONFIG, cores=2, local=False, lenet_on_gpu=True, calibrate=fake_calibration)
    assert on_cluster.unestimated == [Unestimated(CLUSTER_GPU_LENET)] and on_cluster.wall_s is None
    assert estimate_lines(on_cluster)[0].startswith(
        "Estimated duration: cannot estimate the LeNet-5 jobs on the cluster's GPU")
    failed = estimate_study(jobs, CONFIG, cores=2, calibrate=lambda *a: {"error": "RuntimeError: no"})
    assert failed.unestimated == [Unestimated(CALIBRATION_FAILED, "RuntimeError: no")]
    assert "calibration failed: RuntimeError: no" in estimate_lines(failed)[0]
    timed_out = estimate_study(jobs, CONFIG, cores=2, calibrate=lambda *a: None)
    assert "calibration failed: timed out" in estimate_lines(timed_out)[0]
    on_cpu_cluster = estimate_study(jobs, CONFIG, cores=2, local=False, calibrate=fake_calibration)
    assert "the wall time depends on the cluster's queue" in estimate_lines(on_cpu_cluster)[0]


def test_durations_read_as_an_estimate():
    assert [format_duration(s) for s in (42, 420, 3900)] == ["42 s", "7 min", "1 h 05 min"]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def event(name, **fields):
    record = logging.LogRecord("snakemake.logging", logging.INFO, "", 0, "", None, None)
    record.event = name
    record.__dict__.update(fields)
    return record


def test_progress_is_weighted_by_cost_and_plain_lines_come_at_most_once_a_minute():
    jobs = [PlannedJob(1, "train_lenet", {"c3": "full", "seeds": "0"}),
            PlannedJob(2, "train_lenet", {"c3": "full", "seeds": "1"}),
            PlannedJob(3, "collect_lenet_run", {"c3": "full", "seed": "0"})]
    estimate = StudyEstimate(jobs=jobs, seconds={1: 100.0, 2: 100.0, 3: 0.5}, wall_s=200.5, cores=1, local=True)
    clock, lines = Clock(), []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("snakemake.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        progress = StudyProgress(estimate, stream=io.StringIO(), tty=False, clock=clock)
        progress.handle(event("job_started", jobs=[1]))
        clock.now = 30.0
        progress.handle(event("job_finished", job_id=3))  # the copy: no start recorded, costs nothing
        assert progress.state()["runs_done"] == 0 and not lines
        clock.now = 200.0  # twice as slow as estimated
        progress.handle(event("job_finished", job_id=1))
        state = progress.state()
        assert state["runs_done"] == 1 and state["fraction"] == pytest.approx(100.5 / 200.5)
        assert state["ratio"] == pytest.approx(2.0) and state["left"] == pytest.approx(200.0, rel=0.01)
        assert lines == ["Progress: 50% of the estimated work; LeNet-5 runs 1 of 2, 3 min elapsed, about 3 min left"]
        progress.handle(event("job_started", jobs=[2]))
        clock.now = 230.0
        progress.handle(event("job_finished", job_id=2))  # the last job: its line comes at once
        assert lines[-1].startswith("Progress: 100% of the estimated work; LeNet-5 runs 2 of 2")
        progress.close()
    finally:
        logger.removeHandler(handler)


def test_the_terminal_gets_a_tqdm_bar():
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    jobs = [PlannedJob(1, "train_lenet", {"c3": "full", "seeds": "0"})]
    estimate = StudyEstimate(jobs=jobs, seconds={1: 100.0}, wall_s=100.0, cores=1, local=True)
    stream = Terminal()
    progress = StudyProgress(estimate, stream=stream)
    progress.handle(event("job_started", jobs=[1]))
    progress.handle(event("job_finished", job_id=1))
    progress.close()
    assert "100%|" in stream.getvalue() and "LeNet-5 runs 1 of 1" in stream.getvalue()


@pytest.mark.parametrize("fields, kept", [
    ({"event": "job_info"}, False), ({"event": "job_finished"}, False), ({"event": "progress"}, False),
    ({"event": "shellcmd"}, False), ({"msg": "Select jobs to execute..."}, False),
    ({"event": "job_error", "levelno": logging.ERROR}, True), ({"msg": "Estimated duration ..."}, True),
    ({"msg": "a warning", "levelno": logging.WARNING}, True),
])
def test_the_console_keeps_what_a_person_needs(fields, kept):
    record = logging.LogRecord("snakemake.logging", fields.get("levelno", logging.INFO), "", 0, fields.get("msg", ""),
                               None, None)
    if "event" in fields:
        record.event = fields["event"]
    assert RoutineJobFilter().filter(record) is kept
