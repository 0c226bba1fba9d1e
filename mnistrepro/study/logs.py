"""Logging set-up shared by the workflow's scripts, and the errors a user can act on.

Every rule's script starts with :func:`setup_logging`. Besides sending the package's loggers to the
rule's log file, it installs an exception hook: an uncaught exception is written to that log with
its traceback, followed by one plain sentence saying what to do (``What to do: ...``), so that the
log Snakemake points to on failure holds the reason, not only the console.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from types import TracebackType

UNEXPECTED_ACTION = (
    "This error was not expected: the traceback above shows where it happened; fix the cause it "
    "names and rerun, or report it with this log attached."
)


class ActionableError(Exception):
    """An error the user can fix. ``action`` is one plain sentence saying how."""

    default_action = "Fix what the message above names and rerun."

    def __init__(self, message: str, action: str | None = None) -> None:
        super().__init__(message)
        self.action = action or self.default_action


class DeviceUnavailableError(ActionableError, RuntimeError):
    """The configured device cannot be used here (e.g. ``device: cuda`` where torch sees no GPU)."""

    default_action = (
        "Set `device: auto` (train on a GPU when there is one, else the CPU) or `device: cpu` in the config, "
        "or run the training jobs where torch sees a GPU (on SLURM: a partition with GPU nodes)."
    )


class CorruptDataError(ActionableError, RuntimeError):
    """A data file does not match what was verified when it was acquired."""


class ArtefactMismatchError(ActionableError, RuntimeError):
    """A file is not the one its record describes (damaged, replaced, or written by another run)."""

    default_action = ("Delete the file and the record that describes it, and rerun Snakemake so that the rule that "
                      "writes them runs again.")


class ConfigError(ActionableError, ValueError):
    """A config value is invalid; the message names the key and what was expected."""

    default_action = "Correct that key in your config file (config.yaml or the one given to --configfile) and rerun."


class DiskFullError(ActionableError, OSError):
    """A write failed because the filesystem is full (ENOSPC)."""


def disk_full_error(path: str | os.PathLike) -> DiskFullError:
    """The :class:`DiskFullError` for a write to ``path`` that found no space left: its action (the
    log's last line) names the directory and the space free there."""
    import errno
    import shutil

    directory = os.path.dirname(os.path.abspath(path))
    try:
        free = f"{shutil.disk_usage(directory).free / 2**20:.2f} MiB free"
    except OSError:
        free = "free space unknown"
    return DiskFullError(
        f"[Errno {errno.ENOSPC}] No space left on device: writing {path} failed",
        action=(f"The disk holding {directory} is full ({free}): free space there (or move results/ to a "
                "larger disk) and rerun the same command; nothing partial was left behind, finished jobs are "
                "kept, and a LeNet-5 training run resumes from its last checkpoint."),
    )


def action_for(exc: BaseException) -> str:
    """The sentence telling the user what to do about ``exc``."""
    if isinstance(exc, ActionableError):
        return exc.action
    return UNEXPECTED_ACTION


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logger = logging.getLogger("mnistrepro")
    text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()
    logger.error("failed with %s: %s\n%s", exc_type.__name__, exc, text)
    logger.error("What to do: %s", action_for(exc))
    for handler in logger.handlers:
        handler.flush()


def stderr_level(log_path: str | os.PathLike | None, level: int = logging.INFO) -> int:
    """The lowest level a job's stderr gets: everything where there is no log file, or where stderr is the job's
    own log (a SLURM job's output file); elsewhere stderr is the console of a run with many jobs at once, and only
    warnings and errors go there (the routine lines are in the log)."""
    if log_path is None or os.environ.get("SLURM_JOB_ID"):
        return level
    return max(level, logging.WARNING)


def setup_logging(log_path: str | os.PathLike | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send the ``mnistrepro`` loggers to ``log_path`` (and to stderr: see :func:`stderr_level`), one timestamped
    line a record, and log any uncaught exception there (see the module docstring).

    Returns the package's root logger.
    """
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(stderr_level(log_path, level))
    handlers: list[logging.Handler] = [stderr]
    if log_path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    logger = logging.getLogger("mnistrepro")
    logger.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    sys.excepthook = _log_uncaught
    return logger
