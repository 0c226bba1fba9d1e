"""LeNet-5 as in SPEC.md experiment B, with LeCun's sparse C3 (1998, Table I) or a full C3.

Layers (input ``[N, 1, 28, 28]``, pixels in [0, 1])::

    C1  Conv2d(1, 6, 5, padding=2) + tanh   -> [N, 6, 28, 28]
    P2  AvgPool2d(2, 2) + tanh              -> [N, 6, 14, 14]
    C3  sparse or full, 6 -> 16, 5x5 + tanh -> [N, 16, 10, 10]
    P4  AvgPool2d(2, 2) + tanh              -> [N, 16, 5, 5]
    C5  Linear(400, 120) + tanh             -> [N, 120]
    F6  Linear(120, 84) + tanh              -> [N, 84]
    F7  Linear(84, 10)                      -> [N, 10] logits

The sparse C3 is one dense 5x5 convolution whose ``[16, 6, 5, 5]`` weight is assembled each forward
by scattering the 60 real 5x5 kernels (1,500 weights) into zeros; only those kernels and the 16
biases are parameters (1,516), so the 36 absent connections are exactly zero by construction and
never trained. The literal construction (16 convolutions on index-sliced inputs) is the tests' and
benchmarks' reference (benchmarks/reference_impl.py).

Each C3 kind is named in mnistrepro.study.choices (label, connection count) and registered here with its
layer factory, whose layers meet :class:`C3Layer`.
"""

from __future__ import annotations

import math
from typing import Protocol, Sequence, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from mnistrepro.experiments.lenet_ops import tanh_pool_tanh
from mnistrepro.study.choices import (C3_IN_MAPS, C3_KERNEL, C3_OUT_MAPS, C3_VARIANTS, check_variant, implementation,
                                      register)
from mnistrepro.study.seeds import mix_seed

# LeCun et al. 1998, Table I: the input maps (of S2/P2's 6) each C3 output map is connected to,
# in SPEC.md's order: 6 maps over 3 contiguous inputs, 9 over 4, 1 over all 6.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


@runtime_checkable
class C3Layer(Protocol):
    """What a C3 kind's layer is: an ``nn.Module`` (its parameters are all that a trained layer needs saved:
    evaluation rebuilds it from its kind's name) that the registered factory makes with no arguments, and that
    :class:`LeNet5` and :func:`init_weights_` use through these three methods alone:

    - ``layer(x)``: ``[N, 6, H, W] -> [N, 16, H-4, W-4]`` (``C3_IN_MAPS`` to ``C3_OUT_MAPS`` maps through
      ``C3_KERNEL`` x ``C3_KERNEL`` kernels, no padding: ``[N, 6, 14, 14] -> [N, 16, 10, 10]`` in LeNet-5), in the
      model's memory format (:meth:`LeNet5.forward_layers`, the forward on a GPU);
    - ``forward_nchw(x)``: the same map, run NCHW whatever the layer's own memory format (the CPU's
      :meth:`LeNet5.forward_fused` hands C3 an NCHW input);
    - ``reset_parameters(generator)``: draw every parameter afresh from ``generator`` (None: torch's global
      generator, as at construction), with PyTorch's default distribution for its fan-in.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def forward_nchw(self, x: torch.Tensor) -> torch.Tensor: ...

    def reset_parameters(self, generator: torch.Generator | None = None) -> None: ...


def _init_uniform_(tensor: torch.Tensor, fan_in: int, generator: torch.Generator | None = None) -> None:
    """PyTorch's default Conv2d/Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


class SparseC3(nn.Module):
    """LeCun's sparse C3 as one convolution: ``[N, 6, H, W] -> [N, 16, H-4, W-4]``.

    Parameters: ``weight`` ``[60, 5, 5]`` (one 5x5 kernel per connection of ``table``, output map by
    output map, inputs in table order) and ``bias`` ``[16]``: 1,516 for LeCun's table. Each forward
    scatters the kernels into a zero ``[16, 6, 5, 5]`` weight (:meth:`dense_weight`) and runs a
    single ``conv2d``; gradients flow back to the 60 kernels only. Initialised like the 16
    separate ``Conv2d(len(inputs), 1, 5)`` it replaces (bound ``1/sqrt(25 * len(inputs))``).
    """

    def __init__(self, table: Sequence[Sequence[int]] = C3_TABLE, in_maps: int = C3_IN_MAPS,
                 kernel_size: int = C3_KERNEL) -> None:
        super().__init__()
        self.table = tuple(tuple(int(i) for i in inputs) for inputs in table)
        self.in_maps = in_maps
        self.out_maps = len(self.table)
        self.kernel_size = kernel_size
        n_conn = sum(len(inputs) for inputs in self.table)
        self.weight = nn.Parameter(torch.empty(n_conn, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_maps))
        # Row of the flattened [out * in, k * k] dense weight that each connection's kernel fills.
        rows = [o * in_maps + i for o, inputs in enumerate(self.table) for i in inputs]
        self.register_buffer("dense_rows", torch.tensor(rows, dtype=torch.long), persistent=False)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        start = 0
        for o, inputs in enumerate(self.table):
            fan_in = len(inputs) * self.kernel_size ** 2
            _init_uniform_(self.weight[start:start + len(inputs)], fan_in, generator)
            _init_uniform_(self.bias[o:o + 1], fan_in, generator)
            start += len(inputs)

    def dense_weight(self) -> torch.Tensor:
        """The equivalent ``Conv2d`` weight ``[16, 6, 5, 5]``: the kernels, zeros where there is no connection."""
        k2 = self.kernel_size ** 2
        flat = self.weight.new_zeros(self.out_maps * self.in_maps, k2)
        flat = flat.index_copy(0, self.dense_rows, self.weight.reshape(-1, k2))
        return flat.view(self.out_maps, self.in_maps, self.kernel_size, self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def forward_nchw(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward`: the assembled weight is NCHW whatever the module's memory format."""
        return self.forward(x)

    def extra_repr(self) -> str:
        return f"{self.in_maps}, {self.out_maps}, kernel_size={self.kernel_size}, connections={self.weight.shape[0]}"


class FullC3(nn.Conv2d):
    """The full C3, ``Conv2d(6, 16, 5)``: every input map connected to every output map (2,416 parameters)."""

    def __init__(self) -> None:
        super().__init__(C3_IN_MAPS, C3_OUT_MAPS, C3_KERNEL)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        if generator is None:  # at construction: nn.Conv2d's own draws from the global generator
            super().reset_parameters()
            return
        fan_in = self.weight[0].numel()
        _init_uniform_(self.weight, fan_in, generator)
        _init_uniform_(self.bias, fan_in, generator)

    def forward_nchw(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution with an NCHW weight (the module's may be channels-last)."""
        return F.conv2d(x, self.weight.contiguous(), self.bias)


# Each C3 kind's layer factory, ``() -> C3Layer``.
register("c3", "sparse", SparseC3)
register("c3", "full", FullC3)


def make_c3(kind: str) -> C3Layer:
    """A new C3 layer of ``kind`` (a mnistrepro.study.choices C3 kind; an unknown one is a ``ValueError``); a factory
    whose layer does not meet :class:`C3Layer` is a ``TypeError``."""
    layer = implementation("c3", kind)()
    if not isinstance(layer, nn.Module) or not isinstance(layer, C3Layer):
        raise TypeError(f"c3 {kind!r}: its registered factory made a {type(layer).__name__}, not an nn.Module "
                        f"meeting mnistrepro.experiments.lenet.C3Layer (layer(x), forward_nchw(x), reset_parameters(generator))")
    return layer


class LeNet5(nn.Module):
    """LeNet-5 of SPEC.md experiment B: ``[N, 1, 28, 28]`` in [0, 1] -> ``[N, 10]`` logits.

    ``c3="sparse"`` (60,806 trainable parameters) or ``"full"`` (61,706), or any C3 kind registered
    (:func:`make_c3`).
    """

    def __init__(self, c3: str = "sparse") -> None:
        super().__init__()
        self.c3_kind = c3
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)        # [N, 6, 28, 28]
        self.p2 = nn.AvgPool2d(2, 2)                   # [N, 6, 14, 14]
        self.c3: C3Layer = make_c3(c3)                 # [N, 16, 10, 10]
        self.p4 = nn.AvgPool2d(2, 2)                   # [N, 16, 5, 5]
        self.c5 = nn.Linear(16 * 5 * 5, 120)           # [N, 120]
        self.f6 = nn.Linear(120, 84)                   # [N, 84]
        self.f7 = nn.Linear(84, 10)                    # [N, 10]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu":
            return self.forward_fused(x)  # the same function, faster there
        return self.forward_layers(x)

    def forward_layers(self, x: torch.Tensor) -> torch.Tensor:
        """The forward layer by layer, ``[N, 1, 28, 28] -> [N, 10]``: what runs on a GPU (and the tests' and
        benchmarks' reference for :meth:`forward_fused` on the CPU)."""
        x = torch.tanh(self.c1(x))
        x = torch.tanh(self.p2(x))
        x = torch.tanh(self.c3(x))
        x = torch.tanh(self.p4(x))
        x = torch.flatten(x, 1)
        x = torch.tanh(self.c5(x))
        x = torch.tanh(self.f6(x))
        return self.f7(x)

    def forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """The forward with each ``tanh -> pool -> tanh`` as one autograd node
        (:func:`mnistrepro.experiments.lenet_ops.tanh_pool_tanh`), for the CPU (benchmarks/bench_lenet.py measures it).

        C1 runs in the model's memory format (channels-last on the CPU in training: its weight gradient
        is ~3x faster so); the first block hands C3 an NCHW input and C3 runs NCHW (its backward is ~1.4x
        faster so than channels-last).
        """
        x = tanh_pool_tanh(self.c1(x), out_channels_last=False)
        x = tanh_pool_tanh(self.c3.forward_nchw(x))
        x = torch.flatten(x, 1)
        x = torch.tanh(self.c5(x))
        x = torch.tanh(self.f6(x))
        return self.f7(x)


LAYERS = ("c1", "c3", "c5", "f6", "f7")  # the trainable layers of LeNet5, in order


def init_weights_(model: LeNet5, seed: int) -> LeNet5:
    """Draw ``model``'s weights from ``seed`` with common random numbers: each layer from its own CPU generator,
    seeded from ``(seed, layer name)``, with PyTorch's default distribution (U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for weights and biases; C3 by its own :meth:`C3Layer.reset_parameters`: per output map for the sparse C3).

    So two models with the same seed and different C3 kinds start from identical C1, C5, F6 and F7, and a
    comparison of C3 kinds paired by seed differs only in the C3 layer. Returns ``model``.
    """
    for name in LAYERS:
        layer = getattr(model, name)
        generator = torch.Generator().manual_seed(mix_seed("lenet-init", seed, name))
        if name == "c3":
            model.c3.reset_parameters(generator=generator)
        else:
            fan_in = layer.weight[0].numel()
            _init_uniform_(layer.weight, fan_in, generator)
            _init_uniform_(layer.bias, fan_in, generator)
    return model


def count_trainable(module: nn.Module) -> int:
    """Measured: the number of elements of ``module``'s parameters that require gradients."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def analytic_param_counts(c3: str = "sparse") -> dict[str, int]:
    """Trainable parameters per layer, computed from the layer shapes alone (no module is built).

    Convolution: ``out * in * k * k + out``; C3: its registered connection count
    (mnistrepro.study.choices.C3Variant.params: ``connections * k * k + maps``); linear: ``in * out + out``;
    pooling layers have none. Keys: c1, c3, c5, f6, f7, total.
    """
    def conv(cin: int, cout: int, k: int) -> int:
        return cout * cin * k * k + cout

    def linear(n_in: int, n_out: int) -> int:
        return n_in * n_out + n_out

    check_variant("c3", c3, "c3")
    counts = {
        "c1": conv(1, 6, 5),
        "c3": C3_VARIANTS[c3].params,
        "c5": linear(C3_OUT_MAPS * 5 * 5, 120),
        "f6": linear(120, 84),
        "f7": linear(84, 10),
    }
    counts["total"] = sum(counts.values())
    return counts


def measured_param_counts(model: LeNet5) -> dict[str, int]:
    """Trainable parameters per layer of a built model (same keys as :func:`analytic_param_counts`)."""
    counts = {name: count_trainable(getattr(model, name)) for name in LAYERS}
    counts["total"] = count_trainable(model)
    return counts
