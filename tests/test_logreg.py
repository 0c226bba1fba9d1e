"""Experiment A's model, losses and training loops (mnistrepro.experiments.logreg)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl
from mnistrepro.experiments import logreg
from mnistrepro.outputs.aggregate import RECORD_FIELDS
from conftest import record_keys
from mnistrepro.study.choices import LOSSES, experiment_metrics
from mnistrepro.study.records import LogregEval, LogregRunRecord

LR = 1e-4
# Logits: moderate ones for comparisons with autograd, extreme ones for stability.
logits = st.floats(min_value=-60.0, max_value=60.0, allow_nan=False)
labels = st.sampled_from([-1.0, 1.0])


def evaluate_one(weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor,
                 loss: str) -> dict:
    """Test metrics of the linear model ``z = x @ weight + bias`` (:func:`mnistrepro.experiments.logreg.evaluate_batch`,
    one run).

    ``weight``: ``[784]``, ``bias``: ``[]``, ``x``: ``[M, 784]``, ``y``: ``[M]`` in {-1, +1},
    ``index``: ``int64 [M]``, each test sample's row in the full MNIST test split. Returns the
    :data:`TEST_METRICS` (:func:`run_metrics`) and ``misclassified`` (sorted original test rows).
    """
    m = logreg.evaluate_batch(weight.reshape(1, -1), bias.reshape(1), x, y, loss)
    return {**logreg.run_metrics(m, 0), "misclassified": sorted(int(i) for i in index.cpu()[m["wrong"][:, 0]].tolist())}


def synthetic_pair(n_train: int = 400, n_test: int = 150, seed: int = 0, digits=(4, 9)) -> dict:
    """A pair dict in extract_pair's format, MNIST-like: uint8 images, ~19% non-zero pixels.

    The labels depend on the images (which half holds more ink), so the problem is learnable.
    """
    gen = torch.Generator().manual_seed(seed)

    def split(n: int, offset: int):
        mask = torch.rand(n, 28, 28, generator=gen) < 0.19
        images = (torch.randint(1, 256, (n, 28, 28), generator=gen) * mask).to(torch.uint8)
        top = images[:, :14].double().sum((1, 2))
        bottom = images[:, 14:].double().sum((1, 2))
        labels = torch.where(top > bottom, 1, -1).to(torch.int64)
        # Rows of a pretend full split: every third row, shifted.
        index = torch.arange(n, dtype=torch.int64) * 3 + offset
        return images, labels, index

    tr_x, tr_y, tr_i = split(n_train, 1)
    te_x, te_y, te_i = split(n_test, 2)
    return {"digits": tuple(digits), "train_images": tr_x, "train_labels": tr_y, "train_index": tr_i,
            "test_images": te_x, "test_labels": te_y, "test_index": te_i}


@pytest.fixture(scope="module")
def pair() -> dict:
    return synthetic_pair()


# ------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------

# (z, y, mse, dmse/dz, ce, dce/dz) worked out by hand: at z = 0, s = 1/2; at z = ln 3, s = 3/4.
HAND = [
    (0.0, 1.0, 1.0, -1.0, math.log(2), -0.5),
    (0.0, -1.0, 1.0, 1.0, math.log(2), 0.5),
    # y=+1: 4 (3/4 - 1)^2 = 1/4; 8 (3/4 - 1)(3/4)(1/4) = -3/8; log(1 + 1/3); -s(-z) = -1/4
    (math.log(3), 1.0, 0.25, -0.375, math.log(4 / 3), -0.25),
    # y=-1: 4 (3/4)^2 = 9/4; 8 (3/4)(3/4)(1/4) = 9/8; log(1 + 3); s(z) = 3/4
    (math.log(3), -1.0, 2.25, 1.125, math.log(4), 0.75),
    (-math.log(3), 1.0, 2.25, -1.125, math.log(4), -0.75),
]


@pytest.mark.parametrize("z, y, mse, dmse, ce, dce", HAND)
def test_losses_match_hand_computation(z, y, mse, dmse, ce, dce):
    zt, yt = torch.tensor(z, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    for loss, value, grad in (("mse", mse, dmse), ("ce", ce, dce)):
        assert float(logreg.loss_value(loss, zt, yt)) == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert float(reference_impl.loss_spec(loss, zt, yt)) == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert float(logreg.loss_grad(loss, zt, yt)) == pytest.approx(grad, rel=1e-12, abs=1e-15)
        # The scalar derivative the fast loop uses: dl/dz = y * dl/dm at m = y z.
        assert y * reference_impl.dmargin(loss)(y * z) == pytest.approx(grad, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("loss", LOSSES)
@settings(max_examples=200, deadline=None)
@given(z=logits, y=labels)
def test_gradient_matches_autograd(loss, z, y):
    yt = torch.tensor(y, dtype=torch.float64)
    for fn in (reference_impl.loss_spec, logreg.loss_value):
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        fn(loss, zt, yt).backward()
        expected = float(zt.grad)
        got = float(logreg.loss_grad(loss, zt.detach(), yt))
        # Absolute slack: autograd through sigmoid uses s (1 - s), which cancels to 0 once s
        # rounds to 1 (|z| > ~37 in float64), where the exact gradient is ~exp(-|z|).
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)
        assert y * reference_impl.dmargin(loss)(y * z) == pytest.approx(got, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_registered_form_of_a_loss_is_the_same_loss(loss):
    """The forms a loss is registered in (mnistrepro.experiments.logreg.LossForms) agree: grad is the derivative of
    value (autograd), dmargin (NumPy) is grad / y, and step is the SGD coefficient -lr dl/dz."""
    forms = logreg.loss_forms(loss)
    z = torch.linspace(-40, 40, 801, dtype=torch.float64)
    for y in (-1.0, 1.0):
        yt = torch.full_like(z, y)
        zg = z.clone().requires_grad_(True)
        forms.value(yt * zg).sum().backward()
        grad = forms.grad(yt, yt * z)
        torch.testing.assert_close(grad, zg.grad, rtol=1e-6, atol=1e-12)
        m = (yt * z).numpy()
        np.testing.assert_allclose(y * forms.dmargin(m), grad.numpy(), rtol=1e-12, atol=1e-300)
        with np.errstate(over="ignore"):
            step = forms.step(m, yt.numpy(), LR)
        np.testing.assert_allclose(step, -LR * grad.numpy(), rtol=1e-12, atol=1e-300)


def test_unknown_loss_is_an_error_never_another_loss(pair):
    z, y = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for call in (lambda: logreg.loss_value("no_such_loss", z, y), lambda: logreg.loss_grad("sq", z, y),
                 lambda: logreg.run_seeds(pair, "no_such_loss", "raw", [0], steps=10, lr=LR, eval_steps=[])):
        with pytest.raises(ValueError, match=r"loss: unknown loss '\w+'; expected one of \['mse', 'ce'.*\]"):
            call()


@settings(max_examples=200, deadline=None)
@given(z=logits, y=labels)
def test_mse_equals_the_spec_formula(z, y):
    """SPEC.md's two-class squared error equals 4 (s(z) - t)^2 with t = (1 + y) / 2."""
    zt, yt = torch.tensor(z, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    spec = float(reference_impl.loss_spec("mse", zt, yt))
    s = 1 / (1 + math.exp(-z))
    assert float(logreg.loss_value("mse", zt, yt)) == pytest.approx(spec, rel=1e-9, abs=1e-12)
    assert 4 * (s - (1 + y) / 2) ** 2 == pytest.approx(spec, rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(z=st.floats(min_value=-30.0, max_value=30.0), y=labels)
def test_ce_equals_the_naive_formula_where_that_is_finite(z, y):
    value = float(logreg.loss_value("ce", torch.tensor(z, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)))
    assert value == pytest.approx(math.log(1 + math.exp(-y * z)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logistic_loss_is_stable_at_extreme_logits(dtype):
    z = torch.tensor([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype)
    y = torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=dtype)
    # The naive formula overflows: this is what the stable form is for.
    assert torch.isinf(torch.log(1 + torch.exp(-y * z))).any()
    value = logreg.loss_value("ce", z, y)
    assert torch.equal(value, torch.tensor([0.0, 1000.0, 1000.0, 0.0], dtype=dtype))
    grad = logreg.loss_grad("ce", z, y)
    assert torch.equal(grad, torch.tensor([0.0, -1.0, 1.0, 0.0], dtype=dtype).abs() * torch.tensor([1, -1, 1, 1], dtype=dtype))
    zg = z.clone().requires_grad_(True)
    logreg.loss_value("ce", zg, y).sum().backward()
    assert torch.equal(zg.grad, grad)
    for loss in LOSSES:
        for fn in (logreg.loss_value, logreg.loss_grad, reference_impl.loss_spec):
            assert torch.isfinite(fn(loss, z, y)).all(), (loss, fn.__name__)
    assert torch.equal(logreg.loss_value("mse", z, y), torch.tensor([0.0, 4.0, 4.0, 0.0], dtype=dtype))
    for m in (1000.0, -1000.0, 745.0, -745.0, 1e300, -1e300):
        for loss in LOSSES:
            assert math.isfinite(reference_impl.dmargin(loss)(m))
    assert reference_impl.dmargin("ce")(-1000.0) == -1.0


# ------------------------------------------------------------------------------------------
# Initialisation and sampling
# ------------------------------------------------------------------------------------------


def test_init_is_deterministic_per_seed_and_like_nn_linear():
    w, b, idx = logreg.init_run(7, 500, 1000)
    w2, b2, idx2 = logreg.init_run(7, 500, 1000)
    assert torch.equal(w, w2) and torch.equal(b, b2) and torch.equal(idx, idx2)
    w3, _, idx3 = logreg.init_run(8, 500, 1000)
    assert not torch.equal(w, w3) and not torch.equal(idx, idx3)
    assert w.shape == (784,) and b.shape == () and idx.shape == (1000,) and idx.dtype == torch.int64
    bound = 1 / 28
    assert float(w.abs().max()) <= bound and abs(float(b)) <= bound
    assert float(w.abs().max()) > 0.9 * bound  # spread over the whole range
    assert int(idx.min()) >= 0 and int(idx.max()) < 500
    assert len(set(idx.tolist())) < 1000  # with replacement: 1000 draws from 500 repeat
    w32, b32, _ = logreg.init_run(7, 500, 1000, dtype=torch.float32)
    assert torch.equal(w32.double(), w) and torch.equal(b32.double(), b)


def test_scaling(pair):
    raw = logreg.scale_inputs(pair["train_images"], "raw")
    unit = logreg.scale_inputs(pair["train_images"], "unit", torch.float32)
    assert raw.shape == (400, 784) and raw.dtype == torch.float64 and unit.dtype == torch.float32
    assert float(raw.max()) == 255.0 and torch.equal(raw, pair["train_images"].reshape(400, 784).double())
    assert torch.allclose(unit.double(), raw / 255, rtol=1e-6)
    with pytest.raises(ValueError):
        logreg.scale_inputs(pair["train_images"], "std")
    with pytest.raises(ValueError):
        logreg.labels_pm1(torch.tensor([0, 1]))


# ------------------------------------------------------------------------------------------
# Training loops
# ------------------------------------------------------------------------------------------


def test_one_fast_step_is_the_hand_computed_update(pair):
    x = logreg.scale_inputs(pair["train_images"], "raw")
    y = logreg.labels_pm1(pair["train_labels"])
    w0, b0, _ = logreg.init_run(3, 400, 1)
    for loss in LOSSES:
        i = 5
        z = float(x[i] @ w0 + b0)
        yi = float(y[i])
        g = float(logreg.loss_grad(loss, torch.tensor(z, dtype=torch.float64), torch.tensor(yi, dtype=torch.float64)))
        w, b, _ = reference_impl.train_fast(x, y, loss, LR, w0, b0, torch.tensor([i]))
        assert torch.allclose(w, w0 - LR * g * x[i], rtol=0, atol=1e-15)
        assert float(b) == pytest.approx(float(b0) - LR * g, abs=1e-15)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(
    "scaling, steps, atol",
    [
        # Raw pixels: one step moves the sample's own logit by lr |x|^2 dl/dz, lr |x|^2 ~ 300, so
        # rounding differences grow over the steps (chaotic dynamics); compare over a short run.
        ("raw", 50, 1e-6),
        # Unit pixels: stable dynamics, rounding-level agreement over a long run.
        ("unit", 3000, 1e-13),
    ],
)
def test_fast_loop_matches_straightforward_loop(pair, loss, scaling, steps, atol):
    x = logreg.scale_inputs(pair["train_images"], scaling)
    y = logreg.labels_pm1(pair["train_labels"])
    w0, b0, idx = logreg.init_run(11, x.shape[0], steps)
    w_ref, b_ref = reference_impl.train_reference(x, y, loss, LR, w0, b0, idx)
    w_fast, b_fast, stats = reference_impl.train_fast(x, y, loss, LR, w0, b0, idx)
    # The runs did move the weights (else agreeing would prove nothing).
    assert float((w_ref - w0).abs().max()) > 1e3 * atol
    assert torch.allclose(w_fast, w_ref, rtol=0, atol=atol)
    assert float(b_fast) == pytest.approx(float(b_ref), abs=atol)
    assert 0 <= stats["stuck_steps"] <= stats["wrong_steps"] <= steps


@pytest.mark.parametrize("loss", LOSSES)
def test_fast_loop_matches_straightforward_loop_in_float32(pair, loss):
    x = logreg.scale_inputs(pair["train_images"], "unit", torch.float32)
    y = logreg.labels_pm1(pair["train_labels"], torch.float32)
    w0, b0, idx = logreg.init_run(5, x.shape[0], 500, dtype=torch.float32)
    w_ref, b_ref = reference_impl.train_reference(x, y, loss, LR, w0, b0, idx)
    w_fast, b_fast, _ = reference_impl.train_fast(x, y, loss, LR, w0, b0, idx)
    assert w_fast.dtype == torch.float32 and b_fast.dtype == torch.float32
    assert float((w_ref - w0).abs().max()) > 1e-4
    assert torch.allclose(w_fast, w_ref, rtol=0, atol=1e-6)
    assert float(b_fast) == pytest.approx(float(b_ref), abs=1e-6)


def test_a_wrong_gradient_would_be_caught(pair, monkeypatch):
    """The agreement test can fail: a fast loop with the wrong learning rate disagrees."""
    x = logreg.scale_inputs(pair["train_images"], "unit")
    y = logreg.labels_pm1(pair["train_labels"])
    w0, b0, idx = logreg.init_run(11, x.shape[0], 300)
    w_ref, _ = reference_impl.train_reference(x, y, "ce", LR, w0, b0, idx)
    w_bad, _, _ = reference_impl.train_fast(x, y, "ce", LR * 1.01, w0, b0, idx)
    assert not torch.allclose(w_bad, w_ref, rtol=0, atol=1e-13)


def test_eval_callbacks_and_segments_do_not_change_the_run(pair):
    x = logreg.scale_inputs(pair["train_images"], "raw")
    y = logreg.labels_pm1(pair["train_labels"])
    w0, b0, idx = logreg.init_run(2, x.shape[0], 500)
    seen = []
    w1, b1, s1 = reference_impl.train_fast(x, y, "ce", LR, w0, b0, idx, [1, 100, 250],
                                   lambda step, w, b, stats: seen.append((step, stats["wrong_steps"])))
    w2, b2, s2 = reference_impl.train_fast(x, y, "ce", LR, w0, b0, idx)
    assert torch.equal(w1, w2) and torch.equal(b1, b2)
    assert [s for s, _ in seen] == [1, 100, 250]
    assert s1["wrong_steps"] == s2["wrong_steps"]
    assert [n for _, n in seen] == sorted(n for _, n in seen)
    with pytest.raises(ValueError):
        reference_impl.train_fast(x, y, "ce", LR, w0, b0, idx, [501])


@pytest.mark.parametrize("loss", LOSSES)
def test_batched_loop_equals_per_seed_loop_on_unit_pixels(pair, loss):
    """All seeds stepped together make each seed's own updates (float64, stable dynamics)."""
    x = logreg.scale_inputs(pair["train_images"], "unit")
    y = logreg.labels_pm1(pair["train_labels"])
    seeds = [0, 3, 7, 11, 12]
    w0, b0, idx = logreg.init_runs(seeds, x.shape[0], 3000)
    seen = []
    w, b, stats = logreg.train_batched(x, y, loss, LR, w0, b0, idx, [100, 3000],
                                       lambda step, ws, bs, st: seen.append((step, st["wrong_steps"].copy())))
    assert w.shape == (5, 784) and b.shape == (5,) and [s for s, _ in seen] == [100, 3000]
    for k, seed in enumerate(seeds):
        w_seed, b_seed, idx_seed = logreg.init_run(seed, x.shape[0], 3000)
        assert torch.equal(w0[k], w_seed) and torch.equal(idx[k], idx_seed)
        w_fast, b_fast, fast_stats = reference_impl.train_fast(x, y, loss, LR, w_seed, b_seed, idx_seed)
        assert float((w_fast - w_seed).abs().max()) > 1e-3  # the run moved
        assert torch.allclose(w[k], w_fast, rtol=0, atol=1e-13)
        assert float(b[k]) == pytest.approx(float(b_fast), abs=1e-13)
        assert stats["wrong_steps"][k] == fast_stats["wrong_steps"]
        assert stats["stuck_steps"][k] == fast_stats["stuck_steps"]
    assert (seen[0][1] <= seen[1][1]).all()


def test_batched_loop_with_a_wrong_rate_is_caught(pair):
    x = logreg.scale_inputs(pair["train_images"], "unit")
    y = logreg.labels_pm1(pair["train_labels"])
    w0, b0, idx = logreg.init_runs([1, 2], x.shape[0], 300)
    w_ref, _, _ = reference_impl.train_fast(x, y, "ce", LR, w0[1], b0[1], idx[1])
    w_bad, _, _ = logreg.train_batched(x, y, "ce", LR * 1.01, w0, b0, idx)
    assert not torch.allclose(w_bad[1], w_ref, rtol=0, atol=1e-13)


# ------------------------------------------------------------------------------------------
# Evaluation and runs
# ------------------------------------------------------------------------------------------


def test_evaluate_by_hand():
    # z = x0 - 1: samples give z = -1, 0, 2, -3.
    x = torch.tensor([[0.0, 5.0], [1.0, 0.0], [3.0, 1.0], [-2.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    index = torch.tensor([10, 20, 30, 40])
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    b = torch.tensor(-1.0, dtype=torch.float64)
    m = evaluate_one(w, b, x, y, index, "ce")
    # z*y: -1 (wrong), 0 (correct: z*y >= 0), 2 (correct), -3 (wrong)
    assert (m["correct"], m["total"], m["test_accuracy"]) == (2, 4, 0.5)
    assert m["misclassified"] == [10, 40]
    expected = (math.log(1 + math.e) + math.log(2) + math.log(1 + math.exp(-2)) + math.log(1 + math.exp(3))) / 4
    assert m["test_loss"] == pytest.approx(expected, rel=1e-12)
    assert m["saturated_errors"] == 0


def test_run_seeds_records(pair):
    records = logreg.run_seeds(pair, "mse", "raw", [0, 1], steps=300, lr=LR, eval_steps=[100, 300])
    assert [r["seed"] for r in records] == [0, 1]
    for r in records:
        assert (r["experiment"], r["loss"], r["scaling"], r["digits"], r["steps"], r["device"]) == \
            ("logreg", "mse", "raw", [4, 9], 300, "cpu")
        assert [e["step"] for e in r["evals"]] == [100, 300]
        # The record schema (mnistrepro.study.records): exactly its keys, in the record and each evaluation.
        assert set(r) == record_keys(LogregRunRecord)[0] and all(set(e) == set(LogregEval.__annotations__)
                                                                  for e in r["evals"])
        copied = {m.name for m in experiment_metrics("logreg")} | set(RECORD_FIELDS)  # into the runs table
        assert copied <= set(r) and all(copied <= set(e) for e in r["evals"])
        assert r["total"] == 150 and r["test_accuracy"] == r["correct"] / 150
        assert len(r["misclassified"]) == 150 - r["correct"]
        assert set(r["misclassified"]) <= set(pair["test_index"].tolist())
        assert r["evals"][-1]["test_accuracy"] == r["test_accuracy"]
        assert r["train_seconds"] > 0 and r["steps_per_s"] > 0
        assert r["evals"][0]["train_seconds"] <= r["evals"][1]["train_seconds"] == r["train_seconds"]
    # The final metrics equal an independent evaluation of a straightforward run.
    x = logreg.scale_inputs(pair["train_images"], "raw")
    y = logreg.labels_pm1(pair["train_labels"])
    w0, b0, idx = logreg.init_run(1, 400, 300)
    w, b = reference_impl.train_reference(x, y, "mse", LR, w0, b0, idx)
    m = evaluate_one(w, b, logreg.scale_inputs(pair["test_images"], "raw"),
                        logreg.labels_pm1(pair["test_labels"]), pair["test_index"], "mse")
    assert m["test_accuracy"] == pytest.approx(records[1]["test_accuracy"], abs=2 / 150)


TIMING_KEYS = {"train_seconds", "steps_per_s"}


def without_timings(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k not in TIMING_KEYS}
    out["evals"] = [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in record["evals"]]
    return out


@pytest.mark.parametrize("loss, scaling", [("ce", "raw"), ("mse", "unit")])
def test_same_seed_gives_identical_metrics(pair, loss, scaling):
    a = logreg.run_seeds(pair, loss, scaling, [4, 5], steps=400, lr=LR, eval_steps=[50, 400])
    b = logreg.run_seeds(pair, loss, scaling, [5, 4], steps=400, lr=LR, eval_steps=[400, 50])
    assert [without_timings(r) for r in a] == [without_timings(r) for r in reversed(b)]
    assert without_timings(a[0])["evals"] != without_timings(a[1])["evals"]


@pytest.mark.parametrize("loss, scaling, divisor", [("mse", "raw", 1), ("ce", "unit", 255)])
def test_a_divisor_that_is_a_scaling_gives_the_same_runs(pair, loss, scaling, divisor):
    """The scale grid's divisors 1 and 255 are the raw and unit scalings, bit for bit (scale_inputs divides by a
    scaling's divisor), and a record names the scaling and the divisor; another divisor is another run."""
    named = logreg.run_seeds(pair, loss, scaling, [0, 1], steps=400, lr=LR, eval_steps=[100])
    divided = logreg.run_seeds(pair, loss, divisor, [0, 1], steps=400, lr=LR, eval_steps=[100])
    assert [without_timings(r) for r in named] == [without_timings(r) for r in divided]
    assert named[0]["scaling"] == scaling and named[0]["pixel_divisor"] == float(divisor)
    assert torch.equal(logreg.scale_inputs(pair["train_images"], divisor), logreg.scale_inputs(pair["train_images"], scaling))
    (other,) = logreg.run_seeds(pair, loss, 16, [0], steps=400, lr=LR, eval_steps=[100])
    assert other["scaling"] == "divided by 16" and other["pixel_divisor"] == 16.0
    assert other["evals"][-1]["test_loss"] != named[0]["evals"][-1]["test_loss"]
    with pytest.raises(ValueError, match="positive"):
        logreg.scale_inputs(pair["train_images"], -4)


def test_ce_learns_the_synthetic_problem(pair):
    """400 random sparse images, label: more ink in the top half. Chance is ~50%."""
    (r,) = logreg.run_seeds(pair, "ce", "unit", [0], steps=4000, lr=0.01, eval_steps=[1])
    first, last = r["evals"]
    assert first["test_accuracy"] < 0.55 and last["test_accuracy"] > 0.65
    assert last["test_loss"] < first["test_loss"]


# ------------------------------------------------------------------------------------------
# Real MNIST (the conftest acquires it through the pipeline's own code)
# ------------------------------------------------------------------------------------------


def test_real_4_vs_9(mnist):
    from mnistrepro.data.tensors import extract_pair

    real = extract_pair(mnist, (4, 9))
    (ce,) = logreg.run_seeds(real, "ce", "raw", [0], steps=1000, lr=LR, eval_steps=[100])
    (mse,) = logreg.run_seeds(real, "mse", "raw", [0], steps=1000, lr=LR, eval_steps=[100])
    assert ce["total"] == 1991 == mse["total"]
    # The logistic loss learns 4 vs 9 well past chance within 1,000 steps (SPEC: 86-92%).
    assert ce["test_accuracy"] > 0.8
    # Raw pixels: logits of tens to hundreds, so the sigmoid saturates.
    assert ce["median_abs_logit"] > 10
    # The logistic loss never has a vanishing gradient on a misclassified sample; MSE can.
    assert ce["stuck_steps"] == 0 and ce["saturated_errors"] == 0
    assert set(ce["misclassified"]) <= set(real["test_index"].tolist())
    assert all(int(mnist["test_labels"][i]) in (4, 9) for i in ce["misclassified"])


@pytest.mark.slow
def test_batched_loop_escapes_as_often_as_per_seed_loop_on_raw_pixels(mnist):
    """Raw pixels are chaotic (rounding differences grow), so compare outcomes, not weights: MSE
    runs escape chance as often in the batched loop as in the per-seed loop."""
    from mnistrepro.data.tensors import extract_pair
    from mnistrepro.analysis.stats import wilson_interval

    real = extract_pair(mnist, (4, 9))
    seeds = list(range(60))
    steps = 10000
    records = logreg.run_seeds(real, "mse", "raw", seeds, steps=steps, lr=LR, eval_steps=[])
    batched = [r["test_accuracy"] for r in records]
    x = logreg.scale_inputs(real["train_images"], "raw")
    y = logreg.labels_pm1(real["train_labels"])
    x_test = logreg.scale_inputs(real["test_images"], "raw")
    y_test = logreg.labels_pm1(real["test_labels"])
    looped = []
    for seed in seeds:
        w0, b0, idx = logreg.init_run(seed, x.shape[0], steps)
        w, b, _ = reference_impl.train_fast(x, y, "mse", LR, w0, b0, idx)
        looped.append(evaluate_one(w, b, x_test, y_test, real["test_index"], "mse")["test_accuracy"])
    threshold = 0.57  # between chance (50.7%) and the lowest escaped run (about 63%)
    k_batched, k_looped = sum(a > threshold for a in batched), sum(a > threshold for a in looped)
    assert 0 < k_looped < len(seeds)  # the outcome is bimodal here
    low, high = wilson_interval(k_looped, len(seeds))
    assert low <= k_batched / len(seeds) <= high


# ------------------------------------------------------------------------------------------
# The same bits on any CPU
# ------------------------------------------------------------------------------------------

# A raw-pixel MSE batch on real 4 vs 9, as the pipeline trains it: the regime whose saturated dynamics grow a
# last-bit difference into another run. Prints the SHA-256 of its records (timings left out) and the SIMD
# extensions NumPy dispatched to.
_RAW_MSE_BATCH = """
import hashlib, json, sys
import numpy as np
from numpy._core._multiarray_umath import __cpu_features__
from mnistrepro.experiments import logreg
from mnistrepro.data.tensors import extract_pair, read_idx_dir
pair = extract_pair(read_idx_dir(sys.argv[1]), (4, 9))
records = logreg.run_seeds(pair, "mse", "raw", range(40), 10000, 1e-4, [3000])
for record in records:
    record.pop("hardware")
    for part in [record, *record["evals"]]:
        part.pop("train_seconds"); part.pop("steps_per_s", None)
print(hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest())
print(" ".join(name for name in ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR") if __cpu_features__.get(name)) or "none")
"""


def _raw_mse_batch(idx_dir, environ: dict) -> tuple[str, str]:
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "NPY_DISABLE_CPU_FEATURES"} | environ
    done = subprocess.run([sys.executable, "-c", _RAW_MSE_BATCH, str(idx_dir)], capture_output=True, text=True,
                          env=env, timeout=600, check=True)
    digest, features = done.stdout.split("\n")[:2]
    return digest, features


@pytest.mark.slow
def test_raw_pixel_runs_are_bit_identical_whatever_simd_numpy_dispatches_to(mnist_idx_dir):
    """40 raw-pixel MSE runs of 10,000 steps give the same records, bit for bit, with NumPy's AVX-512 kernels,
    with them disabled (an AVX2 laptop's kernels), and with AVX2 disabled too (an older CPU's): the training
    loop's sums and exponentials are in an order the code fixes (mnistrepro.experiments.logreg.row_dot, exp_libm).
    The NumPy dispatch targets it names are those of x86-64 builds."""
    native = _raw_mse_batch(mnist_idx_dir, {})
    avx2 = _raw_mse_batch(mnist_idx_dir, {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"})
    baseline = _raw_mse_batch(mnist_idx_dir, {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"})
    # The variable took effect: no AVX-512 target with it, and no AVX2 one either in the baseline.
    assert avx2[1] in ("X86_V3", "none") and baseline[1] == "none", (native[1], avx2[1], baseline[1])
    assert native[0] == avx2[0] == baseline[0]
