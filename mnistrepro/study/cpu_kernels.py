"""Which instruction set torch's CPU kernels use, so that a CPU run gives the same bits on any x86-64 CPU with
AVX2 (config ``cpu_kernels``).

torch (ATen's vectorised kernels), oneDNN (its convolutions) and MKL (its matrix products) each pick their kernels
from the instructions the CPU has: on a CPU with AVX-512 they use AVX-512 kernels, which sum in another order than
the AVX2 kernels of a laptop, so the same seed gives other weights after a few hundred steps. ``avx2`` caps all
three at AVX2 (MKL through its conditional numerical reproducibility mode), so an AVX-512 machine computes what
an AVX2 one does; ``native`` lets each library pick its fastest kernels (faster on AVX-512 CPUs, machine-dependent
numbers). The libraries read these variables when they load, so :func:`pin_cpu_kernels` must run before
torch is imported: the workflow calls it when it parses the Snakefile, and every job it starts inherits the
environment. GPU kernels are not affected.

NumPy and its OpenBLAS dispatch by the CPU as well. The analysis does not let that reach a number (its sums are
exact or in an order the code fixes: mnistrepro.analysis.stats), and ``python -m mnistrepro.study.cpu_kernels --as-avx2
COMMAND`` checks it: it runs ``COMMAND`` as an AVX2-only CPU would run it (:data:`AVX2_CPU_EMULATION`); CI runs the
quick tests a second time under it.

Torch-free.
"""

from __future__ import annotations

import os
import platform
from typing import MutableMapping

__all__ = ["AVX2_CPU_EMULATION", "CPU_KERNELS", "KERNEL_VARIABLES", "avx2_cpu_environment", "kernel_environment",
           "pin_cpu_kernels"]

# The variable each library reads, and its value for ``avx2``.
KERNEL_VARIABLES = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
CPU_KERNELS = ("avx2", "native")
# On an x86-64 CPU with AVX-512, what an AVX2-only one (most laptops) computes: NumPy's AVX-512 kernels off, OpenBLAS
# on its Haswell kernels (an AVX2 core type), torch, oneDNN and MKL capped at AVX2.
AVX2_CPU_EMULATION = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell",
                      **KERNEL_VARIABLES}


def kernel_environment(choice: str, machine: str | None = None) -> dict[str, str]:
    """The variables that make torch use ``choice``'s kernels on a CPU of architecture ``machine``
    (``platform.machine()``): for ``avx2`` on x86-64, :data:`KERNEL_VARIABLES`; otherwise none (these
    variables mean nothing to an ARM build)."""
    if choice not in CPU_KERNELS:
        raise ValueError(f"cpu_kernels: expected one of {', '.join(CPU_KERNELS)}, got {choice!r}")
    machine = (machine or platform.machine()).lower()
    return dict(KERNEL_VARIABLES) if choice == "avx2" and machine in ("x86_64", "amd64") else {}


def pin_cpu_kernels(choice: str, environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set ``environ`` so that processes started from it use ``choice``'s kernels (``native`` removes the
    variables, so each library picks its own). Returns the variables set."""
    wanted = kernel_environment(choice)
    for name in KERNEL_VARIABLES:
        environ.pop(name, None)
    environ.update(wanted)
    return wanted


def avx2_cpu_environment(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """``environ`` with :data:`AVX2_CPU_EMULATION` set. NumPy is told to switch off only the AVX-512 groups this CPU
    has (it warns about the others), so on an AVX2-only CPU the environment changes nothing NumPy does."""
    from numpy._core._multiarray_umath import __cpu_features__

    wanted = dict(AVX2_CPU_EMULATION)
    present = [f for f in wanted["NPY_DISABLE_CPU_FEATURES"].split() if __cpu_features__.get(f)]
    if present:
        wanted["NPY_DISABLE_CPU_FEATURES"] = " ".join(present)
    else:
        del wanted["NPY_DISABLE_CPU_FEATURES"]
    return {**environ, **wanted}


def main(argv: list[str] | None = None) -> int:
    """``python -m mnistrepro.study.cpu_kernels --as-avx2 COMMAND [ARG ...]``: run COMMAND as an AVX2-only CPU would."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mnistrepro.study.cpu_kernels",
                                     description="Run a command as an x86-64 CPU with AVX2 and no AVX-512 would: "
                                                 "NumPy, OpenBLAS, torch, oneDNN and MKL on their AVX2 kernels.")
    parser.add_argument("--as-avx2", action="store_true", required=True,
                        help="run COMMAND with the AVX2-only environment (the only mode)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --as-avx2, e.g. --as-avx2 pytest -m 'not slow'")
    os.execvpe(command[0], command, avx2_cpu_environment())
    return 0  # not reached: execvpe replaces this process


if __name__ == "__main__":
    raise SystemExit(main())
