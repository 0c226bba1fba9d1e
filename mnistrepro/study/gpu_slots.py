"""Placing concurrent training jobs on the GPUs of one machine, one job per slot.

Snakemake does not tell a local job which GPU to use (its ``resources: gpu=N`` only bounds how many
GPU jobs run at once), so every job would otherwise take GPU 0. Instead, each job claims a *slot*:
an exclusive ``flock`` on a file named after a GPU's UUID and a slot number. The kernel releases
the lock when the process ends, however it ends, so a killed job frees its slot at once.

Slots are keyed by the GPU's UUID, not by its index, because an index is relative to
``CUDA_VISIBLE_DEVICES``: under SLURM, two jobs on one node each see their own GPU as index 0. The
lock directory is on the local disk (``/tmp`` by default), since a GPU belongs to one machine.

Only the standard library is used here, so the logic can be tested with fake GPUs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Sequence

from mnistrepro.study.logs import ActionableError

log = logging.getLogger(__name__)

LOCK_DIR_ENV = "MNISTREPRO_GPU_LOCK_DIR"


class NoFreeGpuSlotError(ActionableError, RuntimeError):
    """Every slot stayed taken for as long as the job was willing to wait."""

    default_action = (
        "Lower `resources: gpu` in your profile (or --resources gpu=N) to the number of GPUs times "
        "gpu.jobs_per_gpu, wait for the other GPU jobs on this machine to finish, or raise gpu.wait_s."
    )


@dataclass
class GpuSlot:
    """A claimed slot: GPU ``index`` (as torch numbers the visible GPUs), its ``uuid`` and ``slot``.

    The slot is held while this object's lock file stays open: until :meth:`release` or process exit.
    """

    index: int
    uuid: str
    slot: int
    path: Path
    _file: IO[bytes] | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None


def default_lock_dir() -> Path:
    """``$MNISTREPRO_GPU_LOCK_DIR``, else ``<tmp>/mnistrepro-gpu-slots-<host>`` (local to this machine)."""
    env = os.environ.get(LOCK_DIR_ENV)
    if env:
        return Path(env)
    return Path(tempfile.gettempdir()) / f"mnistrepro-gpu-slots-{socket.gethostname()}"


def _lock_path(lock_dir: Path, uuid: str, slot: int) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", uuid)
    return lock_dir / f"{safe}.slot{slot}.lock"


def _make_lock_dir(lock_dir: Path) -> None:
    if not lock_dir.exists():
        lock_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(lock_dir, 0o1777)  # users sharing a GPU box share its slots
        except PermissionError:
            pass


def try_claim(gpu_uuids: Sequence[str], jobs_per_gpu: int, lock_dir: Path) -> GpuSlot | None:
    """Claim the first free slot, or return ``None`` when all ``len(gpu_uuids) * jobs_per_gpu`` are held.

    Slots are tried slot-major (slot 0 of every GPU, then slot 1, ...), so that jobs spread over the
    GPUs before any GPU gets a second job.
    """
    _make_lock_dir(lock_dir)
    for slot in range(jobs_per_gpu):
        for index, uuid in enumerate(gpu_uuids):
            path = _lock_path(lock_dir, uuid, slot)
            # Read-only is enough for flock, and lets another user lock a file this user created.
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
            f = os.fdopen(fd, "rb")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            return GpuSlot(index=index, uuid=uuid, slot=slot, path=path, _file=f)
    return None


def claim_gpu_slot(gpu_uuids: Sequence[str], jobs_per_gpu: int = 1, lock_dir: str | os.PathLike | None = None,
                   wait_s: float = 3600.0, poll_s: float = 1.0) -> GpuSlot:
    """Claim a slot on one of ``gpu_uuids``, waiting up to ``wait_s`` seconds for one to free up.

    Raises:
        ValueError: no GPUs, or ``jobs_per_gpu`` < 1.
        NoFreeGpuSlotError: every slot stayed held for ``wait_s`` seconds.
    """
    if not gpu_uuids:
        raise ValueError("no GPUs to claim a slot on")
    if jobs_per_gpu < 1:
        raise ValueError(f"gpu.jobs_per_gpu: expected >= 1, got {jobs_per_gpu}")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    total = len(gpu_uuids) * jobs_per_gpu
    deadline = time.monotonic() + wait_s
    next_report = 0.0
    while True:
        slot = try_claim(gpu_uuids, jobs_per_gpu, lock_dir)
        if slot is not None:
            return slot
        now = time.monotonic()
        if now >= deadline:
            raise NoFreeGpuSlotError(
                f"all {total} GPU slots ({len(gpu_uuids)} GPU(s) x {jobs_per_gpu} job(s) each, locks in {lock_dir}) "
                f"stayed taken for {wait_s:g} s"
            )
        if now >= next_report:
            log.info("all %d GPU slots are taken (locks in %s); waiting for one to free up", total, lock_dir)
            next_report = now + 60
        time.sleep(min(poll_s, max(0.0, deadline - now)))
