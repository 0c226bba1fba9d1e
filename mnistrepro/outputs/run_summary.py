"""What the workflow prints when a run ends (workflow/rules/summary.smk's onsuccess and onerror).

On success: the study's findings (:func:`mnistrepro.report.findings.findings`, the lines the report opens
with), where its tables and figures are, and the command that builds its report. On failure: each
failed rule, its log, and the log's last line (the ``What to do: ...`` of mnistrepro.study.logs). This module
gathers them; mnistrepro.report.summary words them. Snakemake
prints the failed jobs too, but in the middle of the run's output; this repeats them at the end.
Torch-free.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any, Iterable, Mapping

from mnistrepro.outputs.findings import current_findings
from mnistrepro.report.summary import failure_lines, success_lines
from mnistrepro.study.studies import study_dir

__all__ = ["failure_summary", "report_command", "report_requested", "success_summary"]


def report_requested(argv: Iterable[str]) -> bool:
    """Whether this Snakemake command line builds a report (``--report``, ``--report=PATH``)."""
    return any(arg == "--report" or arg.startswith("--report=") for arg in argv)


def _shown(path: str | os.PathLike) -> str:
    """``path`` relative to the working directory where it lies below it (as a user would type it)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def report_command(study: str, configfiles: Iterable[str | os.PathLike] = (),
                   overrides: Mapping[str, Any] | None = None) -> str:
    """The exact ``snakemake --report`` command for ``study``, repeating the run's ``--configfile``
    files and its flat ``--config`` overrides (the same configuration, so the same study)."""
    parts = ["snakemake", "--report", f"{study_dir(study)}/report.html"]
    configfiles = [_shown(f) for f in configfiles]
    if configfiles:
        parts += ["--configfile", *configfiles]
    if overrides:
        parts += ["--config", *(f"{key}={value}" for key, value in overrides.items())]
    return shlex.join(parts)


def success_summary(config: Mapping[str, Any], configfiles: Iterable[str | os.PathLike] = (),
                    overrides: Mapping[str, Any] | None = None) -> list[str]:
    """The lines printed when a run succeeds (relative paths: the workflow runs in its working directory)."""
    root = study_dir(config["study"])
    facts_path = Path(root) / "tables" / "facts.json"
    facts, found = current_findings(facts_path, config)
    return success_lines(config["study"], root, str(facts_path), found if facts is not None else None,
                         report_command(config["study"], configfiles, overrides))


# Snakemake's own error block for a failed job: "Error in rule NAME:" ... "log: PATH (check log file(s) ...)".
_ERROR_BLOCK = re.compile(r"^Error in rule (\w+):\n((?:[ \t]+.*\n?)*)", re.M)
_LOG_LINE = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?$", re.M)


def failure_summary(snakemake_log: str | os.PathLike | Iterable[str | os.PathLike] | None) -> list[str]:
    """The lines printed when a run fails: each failed rule with its log and that log's last line,
    read from Snakemake's own log of the run (``.snakemake/log/...``; onerror gets a path or a list)."""
    paths = [snakemake_log] if isinstance(snakemake_log, (str, os.PathLike)) else list(snakemake_log or [])
    text = "".join(Path(p).read_text(errors="replace") for p in paths if Path(p).is_file())
    failed = []
    for match in _ERROR_BLOCK.finditer(text):
        rule, block = match.group(1), match.group(2)
        log = _LOG_LINE.search(block)
        logs = log.group(1).split(", ") if log else []
        if (rule, logs) not in failed:
            failed.append((rule, logs))
    return failure_lines([(rule, logs, [_last_line(Path(log)) for log in logs]) for rule, logs in failed],
                         [str(p) for p in paths])


def _last_line(path: Path) -> str:
    """The last non-empty line of a log (for the rule logs of mnistrepro.study.logs, ``What to do: ...``)."""
    if not path.is_file():
        return ""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    # Without the "2026-01-01 12:00:00 ERROR mnistrepro: " of mnistrepro.study.logs' format.
    return re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+ [\w.]+: ", "", lines[-1].strip()) if lines else ""
