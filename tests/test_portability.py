"""Nothing of one machine in the repository, and the environment the README installs is the one that runs.

A clone must work on a machine that never saw the project: no tracked symlink out of the tree, no absolute path
of somebody's disk in a tracked file, and every module the workflow, the report and the README's commands import
comes with the study's own requirements (``pip install -e .``, without the test extras).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
# Directories that hold one machine's or one user's files; a path into them only works there.
MACHINE_ROOTS = ("/work", "/home", "/root", "/Users", "/mnt", "/scratch", "/tmp")


def tracked_files() -> list[str]:
    return subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.split("\0")[:-1]


def tracked_symlinks() -> dict[str, str]:
    """Tracked symlinks (git mode 120000): path -> target."""
    out = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    links = {}
    for entry in out.split("\0")[:-1]:
        meta, path = entry.split("\t", 1)
        if meta.startswith("120000"):
            blob = meta.split()[1]
            links[path] = subprocess.run(["git", "cat-file", "blob", blob], cwd=REPO, capture_output=True, text=True,
                                         check=True).stdout
    return links


def symlinks_leaving(links: dict[str, str], root: Path) -> list[str]:
    """The links whose target is absolute or resolves outside ``root``."""
    leaving = []
    for path, target in links.items():
        resolved = os.path.normpath(root / Path(path).parent / target)
        if os.path.isabs(target) or not (resolved == str(root) or resolved.startswith(str(root) + os.sep)):
            leaving.append(f"{path} -> {target}")
    return leaving


def machine_paths(text: str, roots: tuple[str, ...]) -> list[str]:
    """Absolute paths under ``roots`` in ``text``, where a path starts (line start, a space, a quote, ``=``,
    ``(``, ``:``, a backtick) rather than inside a longer path or a format string."""
    pattern = re.compile(r"(?:^|(?<=[\s\"'`=(:]))((?:%s)(?:/[^\s\"'`)]*)?)(?=[\s\"'`),;]|$)"
                         % "|".join(re.escape(r) for r in roots), re.M)
    return pattern.findall(text)


def test_no_tracked_symlink_leaves_the_repository():
    assert symlinks_leaving(tracked_symlinks(), REPO) == []


def test_a_symlink_out_of_the_tree_would_be_caught(tmp_path):
    links = {".test-data": "/work/mnist-test-data", "profiles": "workflow/profiles", "up": "../elsewhere"}
    assert symlinks_leaving(links, tmp_path) == [".test-data -> /work/mnist-test-data", "up -> ../elsewhere"]


def test_no_tracked_file_names_a_path_on_this_machine():
    """No tracked text file names a path under a user's or a machine's directories, or this checkout's own
    absolute path (the docstring of mnistrepro.study.gpu_slots may say ``/tmp``, the temporary directory itself)."""
    roots = tuple(sorted({*MACHINE_ROOTS, str(REPO), str(REPO.parent)}, key=len, reverse=True))
    found = []
    for name in tracked_files():
        path = REPO / name
        if name == "tests/test_portability.py" or path.is_symlink() or not path.is_file():  # this file lists them
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{name}: {p}" for p in machine_paths(text, roots) if p != "/tmp"]
    assert found == []


def test_a_machine_path_would_be_caught():
    text = 'TEST_DATA = "/work/mnist-test-data"\nlocal_dir: /home/ada/mnist\nf"{RESULTS}/data/x" and /tmp'
    assert machine_paths(text, MACHINE_ROOTS) == ["/work/mnist-test-data", "/home/ada/mnist", "/tmp"]


# ----------------------------------------------------------------------------------------------
# The study's requirements bring what it imports
# ----------------------------------------------------------------------------------------------


def requirement_closure(name: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """The distributions ``name`` (with ``extras``) needs, itself included, from installed metadata; names
    normalised (lower case, ``-`` for ``_`` and ``.``)."""
    def norm(n: str) -> str:
        return re.sub(r"[-_.]+", "-", n).lower()

    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        dist_name, dist_extras = todo.pop()
        key = norm(dist_name)
        try:
            dist = distribution(dist_name)
        except PackageNotFoundError:
            seen.add(key)  # not installed here: named, so a missing module still fails below
            continue
        if key in seen and not dist_extras:
            continue
        seen.add(key)
        for line in dist.requires or []:
            req = Requirement(line)
            markers = [{"extra": extra} for extra in dist_extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(m) for m in markers):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def imported_modules(paths: list[Path]) -> set[str]:
    """Top-level module names imported by Python files and by the Python lines of Snakemake files."""
    modules = set()
    for path in paths:
        text = path.read_text()
        if path.suffix == ".py":
            tree = ast.parse(text)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
        else:
            modules |= set(re.findall(r"^\s*(?:from|import)\s+(\w+)", text, re.M))
    return modules


def test_the_studys_requirements_bring_everything_it_imports():
    """What the package, the rules' scripts, the rule files and the report (Snakemake's pygments) import is
    installed by ``pip install -e .`` alone: every such module's distribution is in the dependency closure of
    mnistrepro without its ``test`` extra."""
    closure = requirement_closure("mnistrepro")
    sources = [*REPO.glob("mnistrepro/**/*.py"), *REPO.glob("scripts/*.py"), *REPO.glob("workflow/rules/*.smk"),
               REPO / "Snakefile"]
    provided = packages_distributions()
    missing = []
    for module in sorted(imported_modules(sources) | {"pygments"}):  # pygments: snakemake --report
        if module in sys.stdlib_module_names or module == "mnistrepro":
            continue
        dists = provided.get(module)
        if not dists:
            missing.append(f"{module}: no installed distribution provides it")
        elif not any(re.sub(r"[-_.]+", "-", d).lower() in closure for d in dists):
            missing.append(f"{module}: {', '.join(dists)} is not among the study's requirements")
    assert missing == []
    test_only = {"pytest", "hypothesis", "snakefmt"}
    assert not test_only & closure, "a test-only package became a requirement of the study"


def test_a_test_only_import_would_be_caught(tmp_path):
    script = tmp_path / "uses_pytest.py"
    script.write_text("import pytest\nfrom hypothesis import given\n")
    closure = requirement_closure("mnistrepro")
    assert {"pytest", "hypothesis"} <= imported_modules([script])
    assert "pytest" not in closure and "hypothesis" not in closure


def test_pygments_comes_with_snakemakes_report_extra():
    assert "pygments" in requirement_closure("snakemake", frozenset({"reports"}))
    assert "pygments" not in requirement_closure("snakemake")
