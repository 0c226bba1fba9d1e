"""The package as users install it the ordinary way: a wheel built from the checkout holds every module of the
source tree, and a non-editable install of it serves the whole workflow and its report, with no package source
beside the workflow to fall back on."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import REPO

# What a workflow checkout needs beside an installed package: the workflow, its entry points and configs.
WORKFLOW_FILES = ["Snakefile", "workflow", "profiles", "scripts", "config.yaml", ".test"]


def source_modules() -> set[str]:
    """Every file of the package in the checkout, as a path inside the wheel (``mnistrepro/...``)."""
    tracked = subprocess.run(["git", "ls-files", "mnistrepro"], cwd=REPO, capture_output=True, text=True, check=True)
    return {line for line in tracked.stdout.splitlines() if line}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from the checkout (no dependencies)."""
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source") / "mnistrepro"
    # The tracked files only, in a fresh directory: a build/ left in the checkout by an earlier build would
    # otherwise put its stale copies into the wheel.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (REPO / name).is_file() and not (REPO / name).is_symlink():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("mnistrepro-*.whl")
    return built


def test_the_wheel_holds_every_module_of_the_source_tree(wheel):
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if name.startswith("mnistrepro/")}
    source = source_modules()
    assert {m for m in source if m.startswith("mnistrepro/report/")}, "the source tree has no report layer?"
    assert not source - packaged, f"missing from the wheel: {sorted(source - packaged)}"
    assert not packaged - source, f"in the wheel but not tracked: {sorted(packaged - source)}"


@pytest.mark.slow
def test_a_non_editable_install_runs_the_ci_sized_study_and_its_report(wheel, tmp_path, mnist_idx_dir):
    """A fresh virtual environment with the wheel installed (the pinned dependencies come from this one's
    site-packages, not downloaded again) runs the CI-sized study and builds its report from a copy of the workflow
    that has no mnistrepro/ beside it: every import is the installed package's."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies: this environment's site-packages, after the new one's own (a path in a .pth file is added
    # to sys.path, but its own .pth files, this checkout's editable install among them, are not run).
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    where = subprocess.run([str(python), "-c", "import mnistrepro.outputs.findings as m; print(m.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert where.returncode == 0 and where.stdout.startswith(str(site)), where.stdout + where.stderr

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in WORKFLOW_FILES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, checkout / name)
    assert not (checkout / "mnistrepro").exists()
    config = yaml.safe_load((checkout / ".test" / "config.yaml").read_text())
    config["data"]["local_dir"] = str(mnist_idx_dir)
    (checkout / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake = [str(python), "-m", "snakemake", "--cores", "2"]
    study = subprocess.run(snakemake, cwd=checkout, capture_output=True, text=True, timeout=1800)
    assert study.returncode == 0, study.stderr[-5000:]
    report = subprocess.run([*snakemake, "--report", "results/ci/report.html"], cwd=checkout, capture_output=True,
                            text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-5000:]
    assert (checkout / "results" / "ci" / "report.html").stat().st_size > 100_000
    assert (checkout / "results" / "ci" / "tables" / "facts.json").is_file()
