"""Every number the analysis writes has the same bits on any x86-64 CPU with AVX2: its sums are exact integers or
added in an order the code fixes, never in the order a library's CPU dispatch picks (NumPy's SIMD kernels,
OpenBLAS's). These tests run the analysis natively and as an AVX2-only CPU would
(``python -m mnistrepro.study.cpu_kernels --as-avx2``), and keep the tests' own exact pins to arithmetic that allows
them. On a CPU without AVX-512 both runs are the same run; on the developers' and CI's AVX-512 machines they differ in
every kernel that dispatches."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from mnistrepro.study.cpu_kernels import AVX2_CPU_EMULATION, avx2_cpu_environment, main

# The statistics of the study's tables on synthetic data shaped like the default study's (26 LeNet-5 seeds per C3
# kind, 200 logistic-regression seeds, 45 digit pairs), in a fresh process; prints every result's bits.
_ANALYSIS = """
import sys
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[1])
from test_stats import synthetic_evaluations
from mnistrepro.analysis import stats

gen = np.random.default_rng(5)
out = []
def emit(name, values):
    values = [v for v in np.ravel(np.asarray(values, dtype=object)) if not isinstance(v, str)]
    out.append(name + " " + " ".join(float(v).hex() for v in values))

records = synthetic_evaluations(n=3000, seeds=range(6))
table = stats.lenet_test_set(records, ("sparse", "full"), np.random.default_rng(1), resamples=499)
for column in ("value", "ci95_low", "ci95_high", "boot_sd", "boot_bias"):
    emit("lenet_test_set." + column, table[column].to_numpy(dtype=float))
for r in records[:2]:
    correct = np.ones(r["total"], dtype=bool); correct[r["misclassified_test_indices"]] = False
    emit("ece", [stats.expected_calibration_error(r["confidence"], correct, binning=b) for b in stats.ECE_BINNINGS])
diff = gen.normal(0.001, 0.0015, 12)
emit("sign_flip_interval", stats.sign_flip_interval(diff))
a = pd.Series(gen.normal(0.9866, 0.0011, 26)); b = pd.Series(a + gen.normal(0, 0.0014, 26))
c = stats.compare(a, b)
emit("compare", [c.difference, c.ci95_low, c.ci95_high, c.p_value])
e = stats.equivalence_test((a - b).to_numpy(), 0.001)
emit("tost", [e.p_value])
accuracy = np.where(gen.random(200) < 0.2, gen.uniform(0.6, 0.9, 200), gen.uniform(0.49, 0.51, 200))
emit("mean_interval", stats.mean_interval(accuracy, np.random.default_rng(2), resamples=999))
emit("t_interval", stats.t_interval(a))
groups = [gen.normal(0.9 + 0.002 * k, 0.01, 50) for k in range(45)]
emit("hardest_set", stats.hardest_set(groups, np.random.default_rng(3), resamples=999))
emit("rank_bootstrap", stats.rank_bootstrap(groups, np.random.default_rng(4), resamples=999).to_numpy(dtype=float))
emit("hardest_test", stats.hardest_test(groups, 3))
print("\\n".join(out))
"""


def _analysis_bits(environ: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _ANALYSIS, str(REPO / "tests")], capture_output=True, text=True,
                          env=environ, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def _native_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in AVX2_CPU_EMULATION}


def test_the_analysis_computes_on_an_avx2_cpu_what_it_computes_here():
    native = _analysis_bits(_native_environment())
    emulated = _analysis_bits(avx2_cpu_environment(_native_environment()))
    assert len(native) == len(emulated) > 10
    differ = [f"{n.split()[0]}[{i}]: {a} here, {b} on AVX2" for n, e in zip(native, emulated) if n != e
              for i, (a, b) in enumerate(zip(n.split()[1:], e.split()[1:])) if a != b]
    assert not differ, differ


def test_the_avx2_environment_is_the_one_ci_uses():
    """.ci/run runs the quick tier a second time through this launcher; the variables reach the command."""
    ci = (REPO / ".ci" / "run").read_text()
    assert "-m mnistrepro.study.cpu_kernels --as-avx2" in ci
    environment = avx2_cpu_environment({"PATH": "/bin"})
    assert environment["OPENBLAS_CORETYPE"] == "Haswell" and environment["ATEN_CPU_CAPABILITY"] == "avx2"
    done = subprocess.run([sys.executable, "-m", "mnistrepro.study.cpu_kernels", "--as-avx2", sys.executable, "-c",
                           "import os; print(os.environ['OPENBLAS_CORETYPE'], os.environ['MKL_CBWR'])"],
                          capture_output=True, text=True, env=_native_environment(), timeout=60, check=True)
    assert done.stdout.split() == ["Haswell", "AVX2"]


def test_the_launcher_without_a_command_says_what_to_give():
    with pytest.raises(SystemExit) as stop:
        main(["--as-avx2"])
    assert stop.value.code == 2


# --------------------------------------------------------------------------- exact pins in the tests

# Each test that pins a float computed by the analysis to the bit, and the arithmetic that makes the pin hold on
# every CPU. A test that pins such a float and is not listed here fails the scan below: compare with a tolerance
# that fits the computation's precision, or make its arithmetic exact and list it.
EXACT_PINS = {
    "test_stats.py::test_the_test_set_bootstrap_is_exact": (
        "stats.lenet_test_set sums integer counts times integer features (calibration_features: confidences in "
        "units of 2^-32) in float64, every partial sum an integer below 2^53: exact in any order; the rest is one "
        "division per value, means and SDs over seeds in NumPy's fixed order, and quantiles (a sort)"),
}
# A float literal with this many significant digits is taken for a value computed somewhere, not a round number.
PINNED_DIGITS = 8


def _significant_digits(value: float) -> int:
    mantissa = repr(abs(value)).lower().split("e")[0].replace(".", "").strip("0")
    return len(mantissa)


def _pinned_floats(node: ast.AST) -> list[float]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, float)
            and _significant_digits(n.value) >= PINNED_DIGITS]


def _exact_comparisons(function: ast.FunctionDef) -> list[int]:
    """Lines of ``function`` that compare without tolerance: assert_array_equal / assert_equal / assert_frame_equal,
    ``==`` beside a pinned float, or ``pytest.approx`` with both tolerances below 1e-12."""
    lines = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.endswith(("assert_array_equal", "assert_equal", "assert_frame_equal", "assert_series_equal")):
                lines.append(node.lineno)
            elif name.endswith("approx"):
                tolerance = {k.arg: k.value for k in node.keywords}
                try:
                    absolute = ast.literal_eval(tolerance["abs"]) if "abs" in tolerance else 1e-12
                    relative = ast.literal_eval(tolerance["rel"]) if "rel" in tolerance else 1e-6
                except ValueError:
                    continue
                if absolute < 1e-12 and relative < 1e-12:
                    lines.append(node.lineno)
        elif (isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq) for op in node.ops)
              and _pinned_floats(node) and "approx(" not in ast.unparse(node)):  # approx: judged by its tolerance
            lines.append(node.lineno)
    return lines


def exact_pins(tests_dir: Path) -> dict[str, list[int]]:
    """Every test function of ``tests_dir`` that holds a pinned float (in its body or a module constant it reads) and
    compares without tolerance: ``{"file::function": [lines]}``."""
    found = {}
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        pinned_constants = {target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                            and _pinned_floats(node.value if node.value is not None else node)
                            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                            if isinstance(target, ast.Name)}
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test"):
                continue
            reads = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
            lines = _exact_comparisons(function)
            if lines and (_pinned_floats(function) or reads & pinned_constants):
                found[f"{path.name}::{function.name}"] = lines
    return found


def test_every_exact_pin_names_the_arithmetic_that_makes_it_hold_on_any_cpu():
    found = exact_pins(REPO / "tests")
    unlisted = {name: lines for name, lines in found.items() if name not in EXACT_PINS}
    assert not unlisted, (f"these tests pin floats to the bit without saying why the bits hold on every CPU "
                          f"(list them in EXACT_PINS with the arithmetic, or compare with a tolerance): {unlisted}")
    stale = sorted(set(EXACT_PINS) - set(found))
    assert not stale, f"EXACT_PINS names tests that pin nothing exactly (any more): {stale}"


def test_the_pin_scan_finds_an_exact_pin(tmp_path):
    (tmp_path / "test_probe.py").write_text(
        "import numpy as np, pytest\n"
        "EXPECTED = [0.004775000759400427]\n"
        "def test_a():\n    np.testing.assert_array_equal(f(), [0.12345678912])\n"
        "def test_b():\n    assert f() == 0.12345678912\n"
        "def test_c():\n    assert f() == pytest.approx(0.12345678912, rel=0, abs=1e-15)\n"
        "def test_d():\n    np.testing.assert_array_equal(f(), EXPECTED)\n"
        "def test_tolerant():\n    assert f() == pytest.approx(0.12345678912, abs=1e-9)\n"
        "def test_round():\n    assert f() == 0.5\n")
    assert sorted(exact_pins(tmp_path)) == [f"test_probe.py::test_{x}" for x in "abcd"]
