"""The report layer (mnistrepro.report) builds every sentence for people; no other module does, and it stays
torch-free.

The first test reads every module of mnistrepro/ and scripts/ outside mnistrepro/report/ as a syntax tree and
lists each string that words a result: a literal (or an f-string's literal part) with verdict vocabulary in it,
or a result formatted as a percentage (a ``%`` format spec, ``100 *`` inside an f-string, ``"...%%" % x``).
Exception messages, docstrings, argparse help and log calls about the run's mechanics are not report sentences
and are skipped; so are bare identifiers (a column named ``significant`` is a table's, not a sentence).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

REPORT_LAYER = REPO / "mnistrepro" / "report"
SCANNED = [REPO / "mnistrepro", REPO / "scripts"]

# Words and phrases that only a sentence about a result uses (case-insensitive).
VERDICT_VOCABULARY = ("percentage points", "95% ci", "significant", "holm", "equivalen", "hardest", "escaped",
                      "not shown", "confidence set", "wilson", "bootstrap interval")
# A p-value's text ("p = 0.03", "p ≤ 1e-05", "p < 1e-300"), not "backprop = autograd".
P_VALUE = re.compile(r"(?<![\w])p [=≤<]")

_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_ARGPARSE_TEXT = {"help", "description", "epilog", "usage"}
# A name, not a sentence: a column, a fact key or a key's pattern ("significant", "escaped_*_raw_").
_IDENTIFIER = re.compile(r"[\w.*\-]*")


def _call_name(call: ast.Call) -> tuple[str, str]:
    """``(receiver, name)`` of a call: ``("self.log", "info")`` for ``self.log.info(...)``, ``("", "print")``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return ast.unparse(func.value), func.attr
    return "", func.id if isinstance(func, ast.Name) else ""


def _exempt_subtrees(tree: ast.AST) -> set[int]:
    """The ids of nodes whose strings are not report sentences: exception messages, log calls, argparse text,
    warnings, and docstrings (any string that is a statement of its own)."""
    exempt: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            exempt.append(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            exempt.append(node)
        elif isinstance(node, ast.Call):
            receiver, name = _call_name(node)
            if name.endswith(("Error", "Exit", "Exception")) or (receiver, name) == ("warnings", "warn"):
                exempt.append(node)
            elif name in _LOG_METHODS and "log" in receiver.lower():
                exempt.append(node)
            else:
                exempt += [k.value for k in node.keywords if k.arg in _ARGPARSE_TEXT]
    return {id(n) for root in exempt for n in ast.walk(root)}


def _literal_offence(text: str) -> str | None:
    if _IDENTIFIER.fullmatch(text):
        return None
    lowered = text.lower()
    found = [word for word in VERDICT_VOCABULARY if word in lowered] + P_VALUE.findall(lowered)
    return f"verdict words {found}" if found else None


def _is_hundred_times(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)
               and any(isinstance(side, ast.Constant) and side.value == 100 for side in (n.left, n.right))
               for n in ast.walk(node))


def offences(path: Path) -> list[str]:
    """``module:line: what`` for each place in ``path`` that words a result."""
    tree = ast.parse(path.read_text(), filename=str(path))
    exempt = _exempt_subtrees(tree)
    name = path.relative_to(REPO).as_posix() if REPO in path.parents else path.name
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        what = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            what = _literal_offence(node.value)
        elif isinstance(node, ast.FormattedValue):
            spec = node.format_spec
            spec_text = "".join(v.value for v in getattr(spec, "values", []) if isinstance(v, ast.Constant))
            if spec_text.endswith("%"):
                what = f"percent format spec ':{spec_text}'"
            elif _is_hundred_times(node.value):
                what = "'100 *' inside an f-string"
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant)
              and isinstance(node.left.value, str) and "%%" in node.left.value):
            what = "'%%' formatting of a percentage"
        if what:
            found.append(f"{name}:{node.lineno}: {what}")
    return sorted(set(found), key=lambda s: (s.split(":")[0], int(s.split(":")[1]), s))


# The registry: the names and labels the report uses for variants, comparisons and families (a label such as
# "hardest pair" or "C3 equivalence" names a row; it states no result).
REGISTRY = REPO / "mnistrepro" / "choices.py"


def scanned_modules() -> list[Path]:
    return sorted(p for root in SCANNED for p in root.rglob("*.py") if REPORT_LAYER not in p.parents and p != REGISTRY)


def test_no_module_outside_the_report_layer_words_a_result():
    offending = {}
    for path in scanned_modules():
        found = offences(path)
        if found:
            offending[path.relative_to(REPO).as_posix()] = found
    unexpected = [line for lines in offending.values() for line in lines]
    assert not unexpected, ("these build a sentence for people outside mnistrepro/report/ (move the wording "
                            "there; the module keeps the numbers):\n" + "\n".join(unexpected))


def test_the_scan_catches_a_verdict_a_percentage_and_skips_mechanics(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text(
        '"""A docstring may say significant, Holm and 95% CI."""\n'
        "import argparse, logging\n"
        "log = logging.getLogger(__name__)\n"
        "def f(x, p):\n"
        "    if p is None:\n"
        "        raise ValueError(f'no significant p = {p}')\n"
        "    log.info('Holm p = %s', p)\n"
        "    argparse.ArgumentParser().add_argument('--a', help='the hardest pair')\n"
        "    row = {'significant': True, 'escaped': 1, 'check': 'backprop = autograd'}\n"
        "    text = f'no significant difference ({x}, p = {p})'\n"
        "    return text + f'{x:.2%}' + f'{100 * x:.2f}'\n")
    assert [line.split(":", 2)[1:] for line in offences(module)] == [
        ["10", " verdict words ['p =']"],
        ["10", " verdict words ['significant']"],
        ["11", " '100 *' inside an f-string"],
        ["11", " percent format spec ':.2%'"],
    ]


def test_the_report_layer_does_not_import_torch():
    """Every module of the layer, imported in one fresh interpreter: none brings torch in."""
    modules = ["mnistrepro.report"] + sorted(
        f"mnistrepro.report.{p.stem}" for p in REPORT_LAYER.glob("*.py") if p.stem != "__init__")
    code = (f"import sys; import {', '.join(modules)}; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
