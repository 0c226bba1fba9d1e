"""Errors are for people: an uncaught exception in a rule's script lands in that rule's log, with its
traceback and one plain sentence saying what to do."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnistrepro.study.logs import UNEXPECTED_ACTION, ConfigError, CorruptDataError, DeviceUnavailableError

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
from mnistrepro.study.logs import setup_logging, {name}
log = setup_logging({log!r})
log.info("working")
def inner():
    raise {raise_expr}
inner()
"""


def run_failing(tmp_path: Path, name: str, raise_expr: str) -> tuple[subprocess.CompletedProcess, str]:
    log = tmp_path / "rule.log"
    code = SCRIPT.format(name=name, log=str(log), raise_expr=raise_expr)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return result, log.read_text()


@pytest.mark.parametrize("name, raise_expr, action", [
    ("DeviceUnavailableError", 'DeviceUnavailableError("device: cuda but torch sees no GPU")',
     DeviceUnavailableError("x").action),
    ("CorruptDataError", 'CorruptDataError("results/data/idx/x changed", action="Delete results/data/idx/x and rerun.")',
     "Delete results/data/idx/x and rerun."),
    ("ConfigError", 'ConfigError("pair: expected two digits")', ConfigError("x").action),
    ("ActionableError", 'KeyError("surprise")', UNEXPECTED_ACTION),
])
def test_uncaught_exception_is_logged_with_traceback_and_action(tmp_path, name, raise_expr, action):
    result, log = run_failing(tmp_path, name, raise_expr)
    assert result.returncode == 1
    assert "INFO mnistrepro: working" in log
    assert "Traceback (most recent call last)" in log and "in inner" in log, log
    exc_name = raise_expr.split("(")[0]
    assert re.search(rf"ERROR mnistrepro: failed with {exc_name}: ", log), log
    assert log.rstrip().endswith(f"What to do: {action}"), log
    # the console (Snakemake's) gets the same lines
    assert f"What to do: {action}" in result.stderr


def test_every_script_logs_to_its_rule_log():
    """Each rule script sets up its rule's log (which installs the hook)."""
    for script in sorted((REPO / "scripts").glob("*.py")):
        assert "setup_logging(snakemake.log[0]" in script.read_text(), f"{script.name} does not log to its rule's log"


# --------------------------------------------------------------------------- a full disk


def _fill_disk_for(monkeypatch, name_part: str) -> None:
    """Make every write of a file whose name contains ``name_part`` fail as on a full disk."""
    import errno
    from pathlib import Path

    write_bytes = Path.write_bytes

    def full(self, data):
        if name_part in self.name:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)


def test_save_on_a_full_disk_names_the_directory_and_its_free_space(tmp_path, monkeypatch):
    import torch

    from mnistrepro.study.io import save_torch
    from mnistrepro.study.logs import DiskFullError, action_for

    _fill_disk_for(monkeypatch, "model.pt")
    with pytest.raises(DiskFullError) as caught:
        save_torch({"w": torch.zeros(10)}, tmp_path / "run" / "model.pt")
    action = action_for(caught.value)
    assert f"The disk holding {tmp_path / 'run'} is full (" in action and "MiB free" in action, action
    assert "resumes from its last checkpoint" in action
    assert list((tmp_path / "run").iterdir()) == []  # nothing partial left behind


def _train_with_log(tmp_path, mnist_pt, checkpoint, patch: str = "") -> str:
    """Train one tiny LeNet-5 run in a subprocess that logs as a rule does; its log's text."""
    import subprocess
    import sys

    log = tmp_path / "train.log"
    code = f"""
import errno, pathlib
{patch}
from mnistrepro.data.tensors import load_mnist
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, train_group
from mnistrepro.study.logs import setup_logging
setup_logging({str(log)!r})
run = LeNetRun(c3="sparse", seed=0, epochs=2, batch_size=100, lr=0.1, train_limit=200, test_limit=100)
train_group([run], to_device_data(load_mnist({str(mnist_pt)!r}), "cpu", 200, 100),
            checkpoint_path=pathlib.Path({str(checkpoint)!r}), stacked=False)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0, result.stderr[-2000:]
    return log.read_text()


def test_training_on_a_full_disk_says_so_in_its_log(tmp_path, mnist_pt):
    """The checkpoint write of a LeNet-5 job finds the disk full (a write made to fail with ENOSPC): the
    log's last line says the disk is full, where, how much is free, and that the rerun resumes."""
    patch = """
_write = pathlib.Path.write_bytes
def _full(self, data):
    if self.name.startswith(".ckpt.pt"):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))
    return _write(self, data)
pathlib.Path.write_bytes = _full
"""
    text = _train_with_log(tmp_path, mnist_pt, tmp_path / "checkpoints" / "ckpt.pt", patch)
    last = text.strip().splitlines()[-1]
    assert "What to do: The disk holding" in last and str(tmp_path / "checkpoints") in last, last
    assert "MiB free" in last and "resumes from its last checkpoint" in last, last
    assert "DiskFullError" in text and "This error was not expected" not in text


def test_training_on_a_real_full_filesystem_says_so_in_its_log(tmp_path, mnist_pt):
    """As above, on a real 64 KiB tmpfs (needs root; skipped where mounting is not allowed)."""
    import subprocess

    small = tmp_path / "small"
    small.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], capture_output=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.decode().strip()}")
    try:
        text = _train_with_log(tmp_path, mnist_pt, small / "ckpt.pt")
        assert list(small.iterdir()) == []  # nothing partial left behind
    finally:
        subprocess.run(["umount", str(small)], check=False)
    last = text.strip().splitlines()[-1]
    assert f"What to do: The disk holding {small} is full (" in last and "resumes from its last checkpoint" in last, last
    assert "unexpected pos" not in last
