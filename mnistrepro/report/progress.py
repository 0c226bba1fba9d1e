"""A running study's progress in words: the console's line while the jobs run (mnistrepro.outputs.progress follows
the jobs and computes where the study stands; this module says it)."""

from __future__ import annotations

from mnistrepro.report.numbers import format_duration

__all__ = ["progress_description", "progress_line"]


def progress_description(runs_done: int, total_runs: int, elapsed_s: float, left_s: float | None) -> str:
    """``LeNet-5 runs 26 of 66, 25 min elapsed, about 40 min left``: the LeNet-5 runs done (where the study trains
    any), the time elapsed and, where the estimate gives a wall time, the time left (the progress bar's text)."""
    parts = []
    if total_runs:
        parts.append(f"LeNet-5 runs {runs_done} of {total_runs}")
    parts.append(f"{format_duration(elapsed_s)} elapsed")
    if left_s is not None:
        parts.append(f"about {format_duration(left_s)} left")
    return ", ".join(parts)


def progress_line(fraction: float, description: str) -> str:
    """The plain line (a log, a pipe): the share of the estimated work done, then ``description``
    (:func:`progress_description`)."""
    return f"Progress: {100 * fraction:.0f}% of the estimated work; {description}"
