"""The fused CPU path of LeNet-5: same function as the layer-by-layer forward, float32 error
no worse than float32 rounding, and usable under torch.func.vmap over stacked models."""

from __future__ import annotations

import platform

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

from mnistrepro.experiments import lenet
from mnistrepro.experiments.lenet import LeNet5
from mnistrepro.experiments.lenet_ops import retain_freed_memory, tanh_pool_tanh
from mnistrepro.study.choices import C3_KINDS
from reference_impl import layer_by_layer

EPS32 = torch.finfo(torch.float32).eps  # 1.19e-7: one float32 rounding step at 1


def unfused(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(F.avg_pool2d(torch.tanh(x), 2))


# The two blocks of LeNet-5's CPU step: C1's output (channels-last in training) handed on as NCHW, and C3's.
BLOCKS = [((100, 6, 28, 28), True, False), ((100, 16, 10, 10), False, False), ((7, 3, 6, 4), False, True)]


def block_input(shape, channels_last, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = (2 * torch.randn(shape, generator=gen, dtype=torch.float64)).to(dtype)  # conv outputs: |x| up to ~8
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@pytest.mark.parametrize("shape, channels_last, out_channels_last", BLOCKS)
def test_tanh_pool_tanh_equals_unfused_in_float64(shape, channels_last, out_channels_last):
    x1 = block_input(shape, channels_last, torch.float64).requires_grad_(True)
    x2 = x1.detach().clone().requires_grad_(True)
    y1, y2 = tanh_pool_tanh(x1, out_channels_last), unfused(x2)
    assert y1.shape == y2.shape == (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    assert y1.is_contiguous(memory_format=torch.channels_last if out_channels_last else torch.contiguous_format)
    torch.testing.assert_close(y1, y2, rtol=1e-13, atol=1e-15)
    g = torch.randn(y1.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape, channels_last, out_channels_last", BLOCKS[:2])
def test_tanh_pool_tanh_float32_error_is_float32_rounding(shape, channels_last, out_channels_last):
    """float32 fused vs the float64 unfused reference: output within one float32 step (values in
    [-1, 1]), gradient within two steps of its largest value, and no worse than torch's own float32
    layer-by-layer path on the same inputs (measured: 0.69 vs 0.67 eps on C1's block)."""
    x64 = block_input(shape, False, torch.float64).requires_grad_(True)
    ref = unfused(x64)
    g64 = torch.randn(ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ref.backward(g64)
    errors = {}
    for name, fn in (("fused", lambda x: tanh_pool_tanh(x, out_channels_last)), ("unfused", unfused)):
        x = block_input(shape, channels_last, torch.float32).requires_grad_(True)
        y = fn(x)
        y.backward(g64.float())
        out_err = (y.double() - ref).abs().max().item()
        grad_err = (x.grad.double() - x64.grad).abs().max().item() / x64.grad.abs().max().item()
        errors[name] = (out_err, grad_err)
    (out_err, grad_err), (plain_out_err, plain_grad_err) = errors["fused"], errors["unfused"]
    print(f"{shape}: fused float32 max error {out_err / EPS32:.2f} eps (output), {grad_err / EPS32:.2f} eps "
          f"(gradient); torch layer by layer {plain_out_err / EPS32:.2f}, {plain_grad_err / EPS32:.2f}")
    assert out_err <= EPS32 and grad_err <= 2 * EPS32
    assert out_err <= 1.25 * plain_out_err + EPS32 / 8 and grad_err <= 1.25 * plain_grad_err + EPS32 / 8


def test_tanh_pool_tanh_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even H and W"):
        tanh_pool_tanh(torch.zeros(2, 3, 5, 4))


def plain_and_fused(c3: str, seed: int, dtype: torch.dtype) -> tuple[LeNet5, LeNet5]:
    torch.manual_seed(seed)
    fused = LeNet5(c3).to(dtype=dtype, memory_format=torch.channels_last)  # as training on the CPU sets it
    plain = LeNet5(c3).to(dtype=dtype, memory_format=torch.channels_last)
    plain.load_state_dict(fused.state_dict())
    return layer_by_layer(plain), fused


@pytest.mark.parametrize("c3", C3_KINDS)
def test_fused_forward_equals_plain_forward(c3):
    plain, fused = plain_and_fused(c3, 3, torch.float64)
    x = torch.rand(6, 1, 28, 28, dtype=torch.float64)
    y = torch.randint(0, 10, (6,))
    out_plain, out_fused = plain(x), fused(x)
    torch.testing.assert_close(out_fused, out_plain, rtol=1e-12, atol=1e-13)
    F.cross_entropy(out_plain, y).backward()
    F.cross_entropy(out_fused, y).backward()
    for (name, p), q in zip(plain.named_parameters(), fused.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-10, atol=1e-13, msg=name)
    assert list(fused.state_dict()) == list(plain.state_dict())  # same modules, same keys


@pytest.mark.parametrize("c3", C3_KINDS)
def test_fused_model_float32_logits_within_float32_rounding_of_plain(c3):
    """Whole model in float32, against the plain forward in float64: the fused path's error is of the
    size of the plain float32 path's (both are float32 rounding through 7 layers)."""
    plain64, _ = plain_and_fused(c3, 4, torch.float64)
    plain32, fused32 = plain_and_fused(c3, 4, torch.float32)
    x = torch.rand(50, 1, 28, 28, dtype=torch.float64)
    with torch.no_grad():
        ref = plain64(x)
        err_fused = (fused32(x.float()).double() - ref).abs().max().item()
        err_plain = (plain32(x.float()).double() - ref).abs().max().item()
    scale = ref.abs().max().item()
    assert err_fused <= 16 * EPS32 * scale
    assert err_fused <= 2 * err_plain + EPS32 * scale


@pytest.mark.parametrize("c3", C3_KINDS)
def test_vmap_over_two_stacked_models_equals_separate_calls(c3, monkeypatch):
    calls = []

    def counting(x, *args, **kwargs):
        calls.append(x.shape)
        return tanh_pool_tanh(x, *args, **kwargs)

    monkeypatch.setattr(lenet, "tanh_pool_tanh", counting)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(LeNet5(c3).to(memory_format=torch.channels_last))
    params, buffers = stack_module_state(models)
    base = LeNet5(c3).to("meta")
    x = torch.rand(2, 8, 1, 28, 28)
    y = torch.randint(0, 10, (2, 8))

    def logits(p, b, xi):
        return functional_call(base, (p, b), (xi,))

    def loss(p, b, xi, yi):
        return F.cross_entropy(logits(p, b, xi), yi)

    out = vmap(logits)(params, buffers, x)
    grads = vmap(grad(loss))(params, buffers, x, y)
    assert calls, "the fused path did not run"
    for i, model in enumerate(models):
        ref = model(x[i])
        torch.testing.assert_close(out[i], ref, rtol=1e-5, atol=1e-6)
        model.zero_grad()
        F.cross_entropy(ref, y[i]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad, rtol=1e-4, atol=1e-6, msg=name)
    # The stacked parameters as leaves, one ordinary backward through the vmapped forward.
    vmap(loss)(params, buffers, x, y).sum().backward()
    torch.testing.assert_close(params["c1.weight"].grad, grads["c1.weight"], rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_retain_freed_memory_applies_on_glibc():
    assert retain_freed_memory() is True
