"""What the workflow prints when a run ends, in words (mnistrepro.outputs.run_summary gathers what it says): on success
the study's findings and where its tables, figures, logs and report are; on failure each failed rule with its log and
that log's last line."""

from __future__ import annotations

from typing import Sequence

__all__ = ["failure_lines", "success_lines"]


def success_lines(study: str, root: str, facts_path: str, found: Sequence[str] | None, report_command: str
                  ) -> list[str]:
    """The lines printed when the run of ``study`` (its directory ``root``) succeeds: ``found``, the findings of its
    facts (``facts_path``), or None where the run built no facts; then where its outputs are and ``report_command``,
    the command that builds its report."""
    lines = [f"Study '{study}' is complete: {root}/"]
    if found is not None:
        lines += ["What it found:", *(f"- {line}" for line in found)]
    else:
        lines.append(f"No findings yet: {facts_path} is built by the whole study (this run asked for less).")
    return lines + [
        f"Tables:  {root}/tables/",
        f"Figures: {root}/figures/",
        f"Logs:    {root}/logs/ (the shared MNIST and LeNet-5 runs: results/logs/)",
        f"Report:  {report_command}",
    ]


def failure_lines(failed: Sequence[tuple[str, Sequence[str], Sequence[str]]], snakemake_logs: Sequence[str]
                  ) -> list[str]:
    """The lines printed when a run fails: ``failed`` holds each failed rule, its logs and each log's last line
    (empty where it has none); ``snakemake_logs``, Snakemake's own logs of the run, are named when no job failed."""
    lines = ["The run failed."]
    if not failed:
        lines.append(f"No failed job was recorded; see Snakemake's log {', '.join(snakemake_logs) or 'above'}.")
    for rule, logs, last_lines in failed:
        lines.append(f"- rule {rule}: log {', '.join(logs) if logs else '(none)'}")
        lines += [f"    {last}" for last in last_lines if last]
    lines.append("Fix the cause and run the same command again: finished jobs are kept, and a LeNet-5 run "
                 "resumes from its last checkpoint.")
    return lines
