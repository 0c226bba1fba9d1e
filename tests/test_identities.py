"""Experiment C: each convolution / backprop identity on random inputs, edge sizes and real MNIST."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mnistrepro.experiments import identities as ident

SETTINGS = settings(max_examples=40, deadline=None)

# Values with ties, zeros and signs of both kinds, so that ReLU / step / max pooling see edge cases.
values = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -1.0, 1.0, 0.5]),
)


@st.composite
def images(draw, channels: int | None = None, max_side: int = 12):
    """A float64 tensor [N, C, H, W] with sides from 1 (1-pixel-wide or -tall images) to max_side."""
    n = draw(st.integers(1, 3))
    c = channels if channels is not None else draw(st.integers(1, 3))
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    return torch.from_numpy(draw(arrays(np.float64, (n, c, h, w), elements=values)))


# --- 1. finite differences -------------------------------------------------------------------


def test_finite_differences_by_hand():
    # i is the row: Y1 differences go down the image, Y2 differences go right.
    x = torch.tensor([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    y = ident.finite_difference_conv()(x[None, None].double())[0]
    assert y.shape == (2, 2, 3)
    assert y[0, :1, :].tolist() == [[7.0, 14.0, 28.0]]
    assert y[1, :, :2].tolist() == [[1.0, 2.0], [8.0, 16.0]]
    dy, dx = ident.finite_differences_direct(x)
    assert dy.tolist() == [[7.0, 14.0, 28.0]]
    assert dx.tolist() == [[1.0, 2.0], [8.0, 16.0]]


@SETTINGS
@given(images(channels=1))
def test_finite_differences_random(x):
    n, _, h, w = x.shape
    assert ident.finite_difference_conv()(x).shape == (n, 2, h, w)
    r1, r2 = ident.check_finite_differences(x)
    assert r1.holds and r2.holds, (r1, r2)
    assert r1.n_values == n * (h - 1) * w and r2.n_values == n * h * (w - 1)


def test_finite_differences_one_pixel_wide():
    x = torch.arange(5.0, dtype=torch.float64).reshape(1, 1, 5, 1) ** 2  # a column: 0, 1, 4, 9, 16
    r1, r2 = ident.check_finite_differences(x)
    assert r1.holds and r1.n_values == 4
    assert r2.holds and r2.n_values == 0  # no horizontal neighbour: nothing to compare
    assert ident.finite_difference_conv()(x)[0, 0, :4, 0].tolist() == [1.0, 3.0, 5.0, 7.0]


def test_finite_difference_comparison_catches_a_swapped_convention():
    # The tolerance is meaningful: taking the row difference for the column one is caught.
    x = torch.rand(4, 1, 9, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = ident.finite_difference_conv()(x)
    dy, dx = ident.finite_differences_direct(x[:, 0])
    wrong = ident.compare("swapped", y[:, 0, :8, :8], dx[:, :8, :8], ident.FINITE_DIFFERENCE_RTOL)
    assert not wrong.holds and wrong.max_abs_error > 0.1


# --- 2. average pooling ----------------------------------------------------------------------


@SETTINGS
@given(images(), st.data())
def test_avg_pool_random(x, data):
    k = data.draw(st.integers(1, min(x.shape[-2:])))
    vs_torch, vs_mean = ident.check_avg_pool(x, k)
    assert vs_torch.holds and vs_mean.holds, (vs_torch, vs_mean)
    n, c, h, w = x.shape
    assert vs_torch.n_values == n * c * (h // k) * (w // k)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 5), (1, 2, 28, 28), (3, 1, 1, 7)])
def test_avg_pool_window_equal_to_image(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    k = min(shape[-2:])
    y = ident.avg_pool_conv(shape[1], k)(x)
    if shape[-2] == shape[-1]:  # one window covers the whole image: the per-channel mean
        torch.testing.assert_close(y[..., 0, 0], x.mean(dim=(-2, -1)), rtol=0, atol=1e-13)
    assert all(r.holds for r in ident.check_avg_pool(x, k))


def test_avg_pool_conv_is_per_channel():
    x = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    x[0, 0] = 1.0
    y = ident.avg_pool_conv(2, 2)(x)
    assert torch.equal(y[0, 0], torch.ones(2, 2, dtype=torch.float64))
    assert torch.equal(y[0, 1], torch.zeros(2, 2, dtype=torch.float64))


def test_avg_pool_rejects_window_larger_than_image():
    with pytest.raises(ValueError):
        ident.check_avg_pool(torch.zeros(1, 1, 3, 5), 4)


# --- 3. grayscale ----------------------------------------------------------------------------


@SETTINGS
@given(images(channels=3))
def test_grayscale_random(x):
    r = ident.check_grayscale(x)
    assert r.holds, r
    assert r.n_values == x.shape[0] * x.shape[2] * x.shape[3]


def test_grayscale_primary_colours():
    rgb = np.zeros((1, 3, 3), dtype=np.uint8)  # [H, W, 3]: red, green, blue pixels
    for c in range(3):
        rgb[0, c, c] = 255
    gray = ident.grayscale_conv()(ident.rgb_hwc_to_nchw(rgb))
    torch.testing.assert_close(gray[0, 0, 0], torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64))


def test_sample_photo_is_rgb():
    img, path = ident.load_sample_rgb()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert path.is_file()
    assert img[..., 0].astype(int).std() > 10 and np.any(img[..., 0] != img[..., 2])  # real colour


# --- 4. max pooling and activations ----------------------------------------------------------


@SETTINGS
@given(images(), st.data(), st.sampled_from(sorted(ident.MONOTONE_ACTIVATIONS)))
def test_maxpool_commutes_with_monotone_activations(x, data, name):
    k = data.draw(st.integers(1, min(x.shape[-2:])))
    r = ident.check_maxpool_commutes(x, ident.MONOTONE_ACTIVATIONS[name], k, name=name)
    assert r.holds, r


def test_maxpool_does_not_commute_with_square():
    x = torch.tensor([[-1.0, 0.5], [0.0, 0.25]])  # max 0.5 -> 0.25, but max of squares is 1
    r = ident.check_maxpool_commutes(x, ident.square, 2, name="square")
    assert not r.holds
    assert r.max_abs_error == pytest.approx(0.75) and r.n_exceeding == 1


def test_maxpool_commutation_on_real_mnist(mnist):
    x = ident.standardize_mnist(mnist["test_images"][:500])
    for name, act in ident.MONOTONE_ACTIVATIONS.items():
        assert ident.check_maxpool_commutes(x, act, 2, name=name).holds, name
    r = ident.check_maxpool_commutes(x, ident.square, 2, name="square")
    assert not r.holds and r.max_abs_error > 0.1 and r.n_exceeding > 100, r


# --- 5. backpropagation ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_backprop_matches_autograd(depth, activation):
    gen = torch.Generator().manual_seed(depth)
    sizes = [13] + [17] * (depth - 1) + [5]
    params = ident.init_mlp(sizes, generator=gen)
    assert [tuple(w.shape) for w, _ in params] == list(zip(sizes[1:], sizes[:-1]))
    x = torch.randn(31, 13, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 5, (31,), generator=gen)
    loss_h, grads_h = ident.mlp_backprop(params, x, y, activation)
    loss_a, grads_a = ident.mlp_autograd(params, x, y, activation)
    torch.testing.assert_close(loss_h, loss_a, rtol=1e-12, atol=0)
    for (dw_h, db_h), (dw_a, db_a) in zip(grads_h, grads_a):
        assert dw_h.abs().max() > 0  # a real gradient, not zeros matching zeros
        torch.testing.assert_close(dw_h, dw_a, rtol=1e-9, atol=1e-14)
        torch.testing.assert_close(db_h, db_a, rtol=1e-9, atol=1e-14)
    r = ident.check_backprop(params, x, y, activation)
    assert r.holds and r.n_values == 1 + sum(w.numel() + b.numel() for w, b in params), r


@SETTINGS
@given(
    st.lists(st.integers(1, 9), min_size=2, max_size=6),
    st.integers(1, 8),
    st.sampled_from(list(ident.MLP_ACTIVATIONS)),
    st.integers(0, 2**31 - 1),
)
def test_backprop_random_shapes(sizes, batch, activation, seed):
    gen = torch.Generator().manual_seed(seed)
    params = ident.init_mlp(sizes, generator=gen)
    x = torch.randn(batch, sizes[0], generator=gen, dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (batch,), generator=gen)
    r = ident.check_backprop(params, x, y, activation)
    assert r.holds, r


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_backprop_check_catches_a_missing_derivative(monkeypatch, activation):
    # Forgetting s'(z) in the hidden layers must make the check fail.
    s, _ = ident._ACT[activation]
    monkeypatch.setitem(ident._ACT, activation, (s, lambda z, a: torch.ones_like(z)))
    gen = torch.Generator().manual_seed(0)
    params = ident.init_mlp([10, 8, 8, 3], generator=gen)
    x = torch.randn(16, 10, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (16,), generator=gen)
    assert not ident.check_backprop(params, x, y, activation).holds


# --- all checks together ---------------------------------------------------------------------

COLUMNS = ["identity", "input", "max_abs_error", "tolerance", "holds", "expected", "as_expected", "n_values", "n_exceeding", "dtype"]


def _assert_table(df, n_mlp_rows):
    assert list(df.columns) == COLUMNS
    assert (df["holds"] == (df["max_abs_error"] <= df["tolerance"])).all()
    assert df["as_expected"].all(), df[~df["as_expected"]].to_string()
    failing = df[~df["holds"]]
    assert failing["identity"].str.startswith("square").all() and len(failing) >= 1
    assert df["identity"].str.startswith("backprop").sum() == n_mlp_rows
    assert df["identity"].str.startswith("grayscale").sum() == 1


def test_run_all_checks_on_real_mnist(mnist):
    rgb, path = ident.load_sample_rgb()
    df = ident.run_all_checks(
        mnist["test_images"][:300], mnist["test_labels"][:300], rgb[::4, ::4], rgb_name=path.name,
        pool_sizes=(2, 28), mlp_depths=(2, 3, 4), mlp_hidden=16, mlp_batch=64,
    )
    _assert_table(df, n_mlp_rows=6)
    assert len(df) == 2 + 2 * 2 + 1 + len(ident.MONOTONE_ACTIVATIONS) + 1 + 6


def test_run_all_checks_synthetic():
    gen = torch.Generator().manual_seed(3)
    imgs = torch.randint(0, 256, (20, 28, 28), generator=gen, dtype=torch.uint8)
    imgs[torch.rand(imgs.shape, generator=gen) < 0.7] = 0  # mostly background, like MNIST
    labels = torch.randint(0, 10, (20,), generator=gen)
    rgb = torch.randint(0, 256, (9, 7, 3), generator=gen, dtype=torch.uint8)
    df = ident.run_all_checks(imgs, labels, rgb, pool_sizes=(2, 3, 28), maxpool_sizes=(2, 4), mlp_depths=(1, 2, 3), mlp_hidden=8)
    _assert_table(df, n_mlp_rows=6)


def test_figures(mnist_pt, tmp_path):
    """The identities figures, drawn and saved as their rules draw them (scripts/figure.py)."""
    from mnistrepro.outputs.figures import PLOTS, save

    fig = PLOTS["identities_mnist"](mnist=mnist_pt, index=3, pool_size=4)
    assert len(fig.axes) >= 4 and "Y1" in fig.axes[1].get_title() and "test image 3" in fig.axes[0].get_title()
    save(fig, tmp_path / "mnist.png")
    save(PLOTS["identities_rgb"](sample="grace_hopper.jpg"), tmp_path / "rgb.png")
    for name in ("mnist.png", "rgb.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
