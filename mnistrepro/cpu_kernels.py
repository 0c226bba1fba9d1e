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

Torch-free.
"""

from __future__ import annotations

import os
import platform
from typing import MutableMapping

__all__ = ["CPU_KERNELS", "KERNEL_VARIABLES", "kernel_environment", "pin_cpu_kernels"]

# The variable each library reads, and its value for ``avx2``.
KERNEL_VARIABLES = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
CPU_KERNELS = ("avx2", "native")


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
