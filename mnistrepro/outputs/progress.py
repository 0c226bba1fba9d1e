"""Where a running study stands, in time rather than job counts, and a console that keeps what a person needs.

:class:`StudyProgress` is a :class:`logging.Handler` on Snakemake's logger (``snakemake.logging``), attached by
the workflow's onstart (workflow/rules/summary.smk) in the process that schedules the jobs. It follows
Snakemake's job events (``job_started``, ``job_finished``: the events Snakemake's logger plugins receive) and
weighs each job by its estimated cost (:mod:`mnistrepro.study.estimate`), so that copying a run's files counts for
nothing and a LeNet-5 training run for a minute or more. What it shows: the share of the estimated work done,
the LeNet-5 runs done of those to train, the time elapsed and the time left. The time left is the remaining
estimated work, scaled by how the finished jobs' measured times compare with their estimates. This module follows
the jobs and computes where the study stands; mnistrepro.report.progress and mnistrepro.report.estimate word it
(the estimate before the first job, the progress while the jobs run).

On a terminal it is a tqdm bar, redrawn every few seconds; elsewhere (a SLURM log, a pipe, a file) a plain line
at most once a minute, only when a job has finished since the last one.

:class:`RoutineJobFilter` is added to Snakemake's console handler: it keeps warnings, errors (a failed job with
its log) and the lines Snakemake prints before and after the jobs, and drops the per-job blocks, the
``Finished jobid`` lines and Snakemake's job-count progress. Snakemake's own log file
(``.snakemake/log/``) keeps all of them, and ``--verbose`` keeps them on the console too.

Torch-free.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from typing import TextIO

from mnistrepro.report.estimate import estimate_lines
from mnistrepro.report.progress import progress_description, progress_line
from mnistrepro.study.estimate import StudyEstimate

__all__ = ["RoutineJobFilter", "StudyProgress", "install_console", "start_study_console", "stop_progress"]

SNAKEMAKE_LOGGER = "snakemake.logging"
# Snakemake's per-job events (snakemake_interface_logger_plugins.common.LogEvent values) that the console drops.
ROUTINE_EVENTS = frozenset({"job_info", "job_started", "job_finished", "progress", "shellcmd", "group_info"})
# The scheduler's line before each batch of jobs, which carries no event.
ROUTINE_MESSAGES = frozenset({"Select jobs to execute..."})
PLAIN_INTERVAL_S = 60.0
TTY_REFRESH_S = 2.0

_active: list["StudyProgress"] = []


class RoutineJobFilter(logging.Filter):
    """Drops Snakemake's routine per-job records (:data:`ROUTINE_EVENTS`) from the handler it is added to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        event = getattr(record, "event", None)
        if event is None:
            return record.msg not in ROUTINE_MESSAGES
        return str(event) not in ROUTINE_EVENTS


class StudyProgress(logging.Handler):
    """The study's progress, weighted by each job's estimated cost (see the module docstring)."""

    def __init__(self, estimate: StudyEstimate, stream: TextIO | None = None, tty: bool | None = None,
                 plain_interval_s: float = PLAIN_INTERVAL_S, clock=time.monotonic) -> None:
        super().__init__(level=logging.INFO)
        self.estimate = estimate
        self.stream = stream or sys.stderr
        self.clock = clock
        self.started_at = clock()
        self.plain_interval_s = plain_interval_s
        self.cost = {jobid: s for jobid, s in estimate.seconds.items()}
        self.runs = {job.jobid: len(job.lenet_seeds) for job in estimate.jobs if job.lenet_seeds}
        self.total = sum(self.cost.values()) or 1.0
        self.total_runs = sum(self.runs.values())
        # Wall seconds per second of job time when the estimate holds (the schedule's parallelism).
        self.wall_per_job_s = (estimate.wall_s / self.total) if estimate.wall_s else None
        self.started: dict[int, float] = {}
        self.finished: dict[int, float] = {}  # job id -> measured seconds (None-free: start time known or not)
        self._state_lock = threading.Lock()
        self.last_plain = self.started_at
        self.finished_since_plain = 0
        if tty is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = self._make_bar() if tty else None
        self._stop = threading.Event()
        self._ticker = None
        if self.bar is not None:
            self._ticker = threading.Thread(target=self._tick, name="study-progress", daemon=True)
            self._ticker.start()

    def _make_bar(self):
        try:
            from tqdm import tqdm
        except ImportError:  # an environment installed before tqdm was a dependency: plain lines instead
            return None
        # The terminal's size when it has one; a pseudo-terminal without a size reports 0 x 0, which tqdm takes for
        # a screen too small to draw on (80 x 24 then).
        size = shutil.get_terminal_size()
        return tqdm(total=round(self.total), file=self.stream, unit="s", ncols=size.columns, nrows=size.lines,
                    bar_format="study {percentage:3.0f}%|{bar}| {desc}", leave=True)

    # Snakemake's job events arrive here.
    def emit(self, record: logging.LogRecord) -> None:
        event = str(getattr(record, "event", None))
        now = self.clock()
        with self._state_lock:
            if event == "job_started":
                for jobid in getattr(record, "jobs", []) or []:
                    self.started.setdefault(jobid, now)
            elif event == "job_finished":
                jobid = getattr(record, "job_id", None)
                if jobid in self.cost and jobid not in self.finished:
                    self.finished[jobid] = now - self.started.get(jobid, now)
                    self.finished_since_plain += 1
            else:
                return
        self.refresh()

    def state(self) -> dict:
        """Work done (estimated seconds, running jobs counted up to their estimate), LeNet-5 runs done, time
        elapsed and left."""
        now = self.clock()
        with self._state_lock:
            done = sum(self.cost[j] for j in self.finished)
            running = {j: now - t for j, t in self.started.items() if j not in self.finished and j in self.cost}
            partial = sum(min(elapsed, 0.95 * self.cost[j]) for j, elapsed in running.items())
            runs_done = sum(self.runs.get(j, 0) for j in self.finished)
            measured = [(self.cost[j], s) for j, s in self.finished.items() if j in self.started and self.cost[j] >= 1]
        # How the finished jobs' measured times compare with their estimates (1 until enough work has finished).
        estimated_s = sum(c for c, _ in measured)
        ratio = (sum(s for _, s in measured) / estimated_s) if estimated_s >= 0.02 * self.total else 1.0
        remaining = max(0.0, self.total - done - partial)
        left = remaining * ratio * self.wall_per_job_s if self.wall_per_job_s else None
        return {"fraction": min(1.0, (done + partial) / self.total), "runs_done": runs_done,
                "elapsed": now - self.started_at, "left": left, "ratio": ratio, "work_done": done + partial}

    def describe(self, state: dict) -> str:
        """The progress bar's text for ``state`` (:meth:`state`)."""
        return progress_description(state["runs_done"], self.total_runs, state["elapsed"], state["left"])

    def refresh(self) -> None:
        state = self.state()
        if self.bar is not None:
            self.bar.n = min(round(state["work_done"]), self.bar.total)
            self.bar.set_description_str(self.describe(state), refresh=False)
            self.bar.refresh()
            return
        now = self.clock()
        done = len(self.finished) == len(self.cost)
        if self.finished_since_plain and (done or now - self.last_plain >= self.plain_interval_s):
            self.last_plain, self.finished_since_plain = now, 0
            # A finished message: Snakemake's formatter prints a record's msg without its args.
            logging.getLogger(SNAKEMAKE_LOGGER).info(progress_line(state["fraction"], self.describe(state)))

    def _tick(self) -> None:
        while not self._stop.wait(TTY_REFRESH_S):
            self.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        super().close()


def install_console(estimate: StudyEstimate, verbose: bool = False) -> StudyProgress:
    """Print the estimate, attach a :class:`StudyProgress` to Snakemake's logger and, unless ``verbose``, a
    :class:`RoutineJobFilter` to its console handler. Call in onstart; :func:`stop_progress` ends it."""
    logger = logging.getLogger(SNAKEMAKE_LOGGER)
    for line in estimate_lines(estimate):
        logger.info(line)
    if not verbose:
        for handler in logger.handlers:
            if handler.get_name() == "DefaultStreamHandler":
                handler.addFilter(RoutineJobFilter())
    console = next((h for h in logger.handlers if h.get_name() == "DefaultStreamHandler"), None)
    progress = StudyProgress(estimate, stream=getattr(console, "stream", None))
    logger.addHandler(progress)
    _active.append(progress)
    return progress


def stop_progress() -> None:
    """Close the progress display (before the end-of-run summary is printed)."""
    logger = logging.getLogger(SNAKEMAKE_LOGGER)
    while _active:
        progress = _active.pop()
        logger.removeHandler(progress)
        progress.close()


def start_study_console(workflow, config, lenet_on_gpu: bool, seeds_per_job: int) -> StudyProgress | None:
    """onstart's whole work: estimate the jobs Snakemake is about to run (``workflow.dag``), say it, and follow
    them. Whatever goes wrong here is reported in one line and never stops the study."""
    from mnistrepro.study.estimate import estimate_study, planned_jobs

    logger = logging.getLogger(SNAKEMAKE_LOGGER)
    try:
        resources = workflow.global_resources
        gpus = getattr(resources.get("gpu"), "value", resources.get("gpu"))
        estimate = estimate_study(
            planned_jobs(workflow.dag), config, cores=int(workflow._cores or 1), local=workflow.local_exec,
            gpus=None if gpus is None else int(gpus), lenet_on_gpu=lenet_on_gpu, seeds_per_job=seeds_per_job)
        return install_console(estimate, verbose=bool(workflow.output_settings.verbose))
    except Exception as exc:  # the estimate is a courtesy: the study runs without it
        logger.warning("Estimated duration: cannot estimate (%s: %s); the study runs without progress display.",
                       type(exc).__name__, exc)
        return None
