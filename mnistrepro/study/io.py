"""Writing outputs so that a reader never sees a half-written file; checking an input is the file its
record describes.

No torch import: the Snakefile imports this at parse time (through mnistrepro.analysis.facts), so a dry run
never pays for torch: :func:`save_torch` imports it when called, from a job that has it loaded already.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from mnistrepro.study.logs import ArtefactMismatchError, disk_full_error


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    A crash inside the block removes the temporary file, so ``path`` is either absent, its old
    version, or complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            if exc.errno == errno.ENOSPC:  # say so, with the directory and its free space
                tmp_path.unlink(missing_ok=True)
                raise disk_full_error(path) from exc
            raise
        # mkstemp creates the file 0600; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def save_torch(obj: Any, path: str | os.PathLike) -> str:
    """``torch.save`` ``obj`` atomically; returns the file's SHA-256 (hex).

    Serialized in memory first: torch's own file writer turns a full disk (ENOSPC) into a RuntimeError
    ("unexpected pos ..."), while a plain write raises the OSError that atomic_path reports as such.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return hashlib.sha256(buffer.getbuffer()).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of the file at ``path``, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: str | os.PathLike, expected: str, record: str | os.PathLike) -> None:
    """Raise :class:`ArtefactMismatchError` naming ``path`` unless its SHA-256 is ``expected``, the one
    ``record`` gives for it."""
    actual = file_sha256(path)
    if actual != expected:
        raise ArtefactMismatchError(f"{path}: SHA-256 {actual} is not the {expected} that {record} records for it; "
                                    "the file is damaged or is not the one that run wrote")
