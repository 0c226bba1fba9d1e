"""config cpu_kernels (mnistrepro.study.cpu_kernels): capped at AVX2, a CPU run computes on an AVX-512 CPU what it
computes on an AVX2 one."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
import torch

from mnistrepro.study.cpu_kernels import KERNEL_VARIABLES, kernel_environment, pin_cpu_kernels

X86 = platform.machine().lower() in ("x86_64", "amd64")

# 200 SGD steps of LeNet-5 (both C3 kinds) on real MNIST in a fresh process; prints torch's CPU capability and
# the SHA-256 of each model's final weights.
_LENET_STEPS = """
import hashlib, sys
import torch
from mnistrepro.data.tensors import read_idx_dir
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, train_group
torch.set_num_threads(1)
data = to_device_data(read_idx_dir(sys.argv[1]), "cpu", 20000, 1000)
digests = []
for c3 in ("sparse", "full"):
    model = train_group([LeNetRun(c3=c3, seed=3, epochs=1)], data, stacked=False)[0].model
    digests.append(hashlib.sha256(b"".join(t.detach().contiguous().numpy().tobytes()
                                           for t in model.state_dict().values())).hexdigest())
print(torch.backends.cpu.get_cpu_capability(), *digests)
"""


def _lenet_steps(idx_dir, environ: dict[str, str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARIABLES and k != "MKL_ENABLE_INSTRUCTIONS"}
    done = subprocess.run([sys.executable, "-c", _LENET_STEPS, str(idx_dir)], capture_output=True, text=True,
                          env=env | environ, timeout=600, check=True)
    return done.stdout.split()


def test_kernel_environment():
    assert kernel_environment("avx2", "x86_64") == KERNEL_VARIABLES
    assert kernel_environment("native", "x86_64") == {}
    assert kernel_environment("avx2", "aarch64") == {}  # the variables mean nothing to an ARM build
    with pytest.raises(ValueError, match="cpu_kernels: expected one of avx2, native, got 'avx512'"):
        kernel_environment("avx512")


def test_pin_sets_and_native_clears():
    environ = {"ATEN_CPU_CAPABILITY": "default", "PATH": "/bin"}
    pin_cpu_kernels("avx2", environ)
    assert environ == {"PATH": "/bin", **kernel_environment("avx2")}
    pin_cpu_kernels("native", environ)
    assert environ == {"PATH": "/bin"}


@pytest.mark.skipif(not X86 or not torch.backends.cpu.get_cpu_capability().startswith("AVX"),
                    reason="needs an x86-64 CPU with AVX2")
@pytest.mark.slow
def test_lenet_capped_at_avx2_computes_what_an_avx2_cpu_computes(mnist_idx_dir):
    """The pinned run equals a run with each library's instructions capped the way a CPU without AVX-512 caps
    them (MKL by its instruction limit, not its reproducibility mode); on an AVX-512 CPU the native run
    differs from both, which is why the study pins."""
    pinned = _lenet_steps(mnist_idx_dir, kernel_environment("avx2"))
    avx2_cpu = _lenet_steps(mnist_idx_dir, {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                            "MKL_ENABLE_INSTRUCTIONS": "AVX2"})
    assert pinned[0] == avx2_cpu[0] == "AVX2"
    assert pinned[1:] == avx2_cpu[1:]
    native = _lenet_steps(mnist_idx_dir, {})
    if native[0] == "AVX512":
        assert native[1:] != pinned[1:]
