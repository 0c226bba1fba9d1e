"""Errors are for people: an uncaught exception in a rule's script lands in that rule's log, with its
traceback and one plain sentence saying what to do."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnistrepro.logs import UNEXPECTED_ACTION, ConfigError, CorruptDataError, DeviceUnavailableError

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
from mnistrepro.logs import setup_logging, {name}
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
