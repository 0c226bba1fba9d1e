"""The CPU training step of LeNet-5, faster (docs/lenet-design.md, "A faster CPU step"): a fused activation-pooling
autograd node, and an allocator setting.

LeNet-5 (SPEC.md experiment B) follows each convolution with ``tanh -> 2x2 average pooling -> tanh``.
Run as three autograd nodes on the CPU, that block cost about a third of the step (profile of the step
before this module, one thread: ``tanh`` 19.5%, ``tanh_backward`` 7.8%, ``avg_pool2d`` forward and
backward 11.2%, plus ``fill_`` of the pooling backward's zeroed output); ``tanh_backward`` and the pooling
also walked channels-last tensors against tensors of the other memory format.

:class:`TanhPoolTanh` is the same arithmetic as one autograd node:

- forward: ``t1 = tanh(x)``; ``p`` = the mean of each 2x2 window of ``t1``; ``t2 = tanh(p)``;
- backward, from the saved outputs ``t1`` and ``t2``: ``gp = g2 * (1 - t2**2) / 4``, copied to each
  window's four pixels, times ``1 - t1**2``.

It works on the tensor's memory as ``[..., H, W, K]`` (K: the channels for channels-last, else 1), so
that the pooling's first step (row ``2i`` plus row ``2i + 1``) and the backward's spreading over the
two rows are single passes over whole contiguous rows; no zero-filled gradient and no format mixing.
``tanh`` stays ``torch.tanh`` (0.51 ulp here; ``2 * sigmoid(2x) - 1`` was faster but up to 1.2e-7 off
in absolute terms, so relatively far off near 0, and was not used). The pooling adds a window's values
as ``(a + c) + (b + d)`` where ``avg_pool2d`` adds ``((a + b) + c) + d``: float32 rounding only (measured
against float64: the same largest error as torch's layer-by-layer path, ``tests/test_lenet_ops.py``).

:func:`retain_freed_memory` keeps the memory the step frees in the heap for the next step; with glibc's
defaults a good part of the step was page faults on fresh memory.
"""

from __future__ import annotations

import torch


def _to_hwk(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``[..., C, H, W]`` as a contiguous ``[..., H, W, K]``: ``K = C`` (channels_last memory, no copy when
    ``x`` is laid out so) or ``K = 1`` (NCHW memory)."""
    return x.movedim(-3, -1).contiguous() if channels_last else x.contiguous().unsqueeze(-1)


def _from_hwk(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """The inverse of :func:`_to_hwk` (a view)."""
    return x.movedim(-1, -3) if channels_last else x.squeeze(-1)


class TanhPoolTanh(torch.autograd.Function):
    """``tanh(avg_pool2d(tanh(x), 2))`` for ``x`` ``[..., C, H, W]`` (H, W even) as one autograd node.

    Works on the memory of ``x`` as ``[..., H, W, K]`` (``channels_last``: the channels, ``K = C``; else
    ``K = 1``), so that the pooling's first step (row ``2i`` plus row ``2i + 1``) and the backward's last
    step (spreading over the two rows) run over whole contiguous rows. Returns ``(t2, t1)``: the block's
    output ``[..., C, H/2, W/2]`` (channels_last memory if ``out_channels_last``, else NCHW) and the inner
    activation ``tanh(x)`` as ``[..., H, W, K]`` (returned so that the backward can use it under
    ``torch.func`` transforms; not differentiable). Use :func:`tanh_pool_tanh`.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, channels_last: bool, out_channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
        t1 = torch.tanh(_to_hwk(x, channels_last))                   # [..., H, W, K]
        height, width, k = t1.shape[-3:]
        row_pairs = t1.unflatten(-3, (height // 2, 2)).flatten(-2)     # [..., H/2, 2, W*K]
        rows = row_pairs.select(-2, 0) + row_pairs.select(-2, 1)      # [..., H/2, W*K]
        col_pairs = rows.unflatten(-1, (width // 2, 2 * k))           # [..., H/2, W/2, 2K]
        pooled = _from_hwk(torch.add(col_pairs[..., :k], col_pairs[..., k:]), channels_last)
        if channels_last and not out_channels_last:
            pooled = pooled.contiguous()
        elif out_channels_last and not channels_last:
            pooled = pooled.movedim(-3, -1).contiguous().movedim(-1, -3)
        return torch.tanh_(pooled.mul_(0.25)), t1

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        t2, t1 = output
        ctx.mark_non_differentiable(t1)
        ctx.set_materialize_grads(False)  # t1's gradient is never used: no zero-filled tensor for it
        ctx.save_for_backward(t1, t2)
        ctx.channels_last = inputs[1]

    @staticmethod
    def backward(ctx, grad_t2: torch.Tensor, _grad_t1: torch.Tensor | None):
        t1, t2 = ctx.saved_tensors                                    # [..., H, W, K], [..., C, H/2, W/2]
        channels_last = ctx.channels_last
        grad_pooled = (1 - t2 * t2).mul_(grad_t2).mul_(0.25)          # [..., C, H/2, W/2], as t2
        height = t1.shape[-3]
        # Each pooled gradient to its window's two columns: [..., H/2, W/2, 2K] is [..., H/2, W, K] ...
        grad_pooled = grad_pooled.movedim(-3, -1) if channels_last else grad_pooled.unsqueeze(-1)
        grad_cols = torch.cat([grad_pooled, grad_pooled], dim=-1)
        # ... and to its two rows, times tanh's derivative 1 - t1**2 (one pass over whole rows).
        grad_x = torch.addcmul(t1.new_ones(()), t1, t1, value=-1)
        grad_x.unflatten(-3, (height // 2, 2)).flatten(-2).mul_(grad_cols.flatten(-2).unsqueeze(-2))
        return _from_hwk(grad_x, channels_last), None, None


def tanh_pool_tanh(x: torch.Tensor, out_channels_last: bool | None = None) -> torch.Tensor:
    """``tanh(avg_pool2d(tanh(x), 2))`` for ``x`` ``[..., C, H, W]`` (H and W even) as one autograd node.

    Reads the memory format of ``x`` (NCHW or channels_last) from its strides; the output has the
    same format unless ``out_channels_last`` says otherwise.
    """
    if x.dim() < 3 or x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"tanh_pool_tanh: expected [..., C, H, W] with an even H and W, got {tuple(x.shape)}")
    # Strides are readable under torch.func.vmap (is_contiguous(memory_format=...) is not).
    channels_last = x.shape[-3] > 1 and x.stride(-3) == 1
    if out_channels_last is None:
        out_channels_last = channels_last
    return TanhPoolTanh.apply(x, channels_last, out_channels_last)[0]


# ----------------------------------------------------------------------------------------------
# The CPU allocator

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap instead of their own mmap (glibc's ceiling on 64-bit).
_MMAP_THRESHOLD = 32 * 1024 * 1024
# Free memory kept at the top of the heap before it is given back to the system.
_TRIM_THRESHOLD = 1024 * 1024 * 1024


def retain_freed_memory() -> bool:
    """Let this process reuse the memory it frees instead of giving it back to the system (glibc only).

    A LeNet-5 training step on the CPU allocates and frees dozens of tensors of 0.1-2 MB. With glibc's
    defaults, blocks of that size are mmap-ed or trimmed from the heap when freed, so the next step's
    tensors are fresh pages: every first touch is a page fault, and zeroing pages costs as much as
    the element-wise work itself (measured: the fused activation-pooling backward, 2.7 ms -> 0.5 ms).
    This sets glibc's mmap and trim thresholds (``mallopt``) so that freed blocks stay in the heap
    for reuse. Process-wide; meant for a training process. Returns whether the settings were applied
    (False where the C library is not glibc).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only; AttributeError elsewhere
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
