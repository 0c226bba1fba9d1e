"""LeNet-5 (experiment B): architecture, sparse C3 equivalence, training determinism, kill-and-resume."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import signal
import subprocess
import sys
import time
from typing import Sequence

import pytest
import torch
import torch.nn.functional as F
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mnistrepro.experiments.lenet import (C3_TABLE, C3Layer, LeNet5, SparseC3, analytic_param_counts, count_trainable,
                                          make_c3, measured_param_counts)
from mnistrepro.outputs.aggregate import RECORD_FIELDS
from reference_impl import SixteenConvC3, lenet5_sixteen
from mnistrepro.analysis.stats import expected_calibration_error
from mnistrepro.experiments.lenet_eval import (calibration_bins, eval_batch_size, evaluate, load_model,
                                               evaluation_record, load_trained_model, top_k_correct)
from mnistrepro.experiments.lenet_training import (HISTORY_FIELDS, LeNetRun, build_model, epoch_permutation, save_model,
                                                   to_device_data, training_record, write_history_csv)
from mnistrepro.study.choices import C3_IN_MAPS, C3_KINDS, experiment_metrics
from mnistrepro.study.io import file_sha256, write_json
from mnistrepro.study.logs import ArtefactMismatchError
from mnistrepro.study.records import LenetEvaluationRecord, LenetTrainingRecord

from conftest import REPO, record_keys, run_snakemake, train_alone


def c3_connection_mask(table: Sequence[Sequence[int]] = C3_TABLE, in_maps: int = C3_IN_MAPS) -> torch.Tensor:
    """Boolean ``[out_maps, in_maps]``: ``mask[o, i]`` is True when output map ``o`` reads input map ``i``."""
    mask = torch.zeros(len(table), in_maps, dtype=torch.bool)
    for o, inputs in enumerate(table):
        mask[o, list(inputs)] = True
    return mask

TIMING_KEYS = {"epoch_seconds", "images_per_s", "eval_seconds", "train_seconds"}


@pytest.fixture
def one_thread():
    """Pin torch to one thread (bitwise comparisons between runs need the same thread count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synthetic_mnist(n_train: int = 600, n_test: int = 200, seed: int = 0) -> dict[str, torch.Tensor]:
    """MNIST-format tensors that a CNN can learn: class c is a bright 8x8 square at one of 10 places, plus noise."""
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, 10, (n,), generator=g)
        images = torch.randint(0, 60, (n, 28, 28), generator=g).to(torch.uint8)
        for i, c in enumerate(labels.tolist()):
            r, col = 2 + 12 * (c // 5), 1 + 5 * (c % 5)
            images[i, r:r + 8, col:col + 8] = 255
        return images, labels

    train_x, train_y = split(n_train)
    test_x, test_y = split(n_test)
    return {"train_images": train_x, "train_labels": train_y, "test_images": test_x, "test_labels": test_y}


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ----------------------------------------------------------------------------------------------
# Architecture


def test_c3_table_is_lecuns_in_spec_order():
    spec = [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
        [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5], [0, 1, 3, 4],
        [1, 2, 4, 5], [0, 2, 3, 5],
        [0, 1, 2, 3, 4, 5],
    ]
    assert [list(t) for t in C3_TABLE] == spec
    assert int(c3_connection_mask().sum()) == 60


@pytest.mark.parametrize("c3, total, c3_params", [("sparse", 60_806, 1_516), ("full", 61_706, 2_416)])
def test_parameter_counts(c3, total, c3_params):
    model = LeNet5(c3)
    assert count_trainable(model) == total
    assert count_trainable(model.c3) == c3_params
    assert measured_param_counts(model) == analytic_param_counts(c3)
    assert analytic_param_counts(c3)["total"] == total
    # The 16-convolution reference has the sparse C3's count.
    assert c3 != "sparse" or measured_param_counts(lenet5_sixteen()) == analytic_param_counts("sparse")


@pytest.mark.parametrize("c3", C3_KINDS)
def test_every_registered_c3_kind_has_its_registered_count(c3):
    assert measured_param_counts(LeNet5(c3)) == analytic_param_counts(c3)


def test_unknown_c3_kind_is_an_error():
    with pytest.raises(ValueError, match=rf"c3: unknown c3 'dense'; expected one of {re.escape(str(list(C3_KINDS)))}"):
        LeNet5("dense")
    with pytest.raises(ValueError, match=r"unknown c3 'sixteen'"):
        analytic_param_counts("sixteen")


def test_layer_shapes():
    x = torch.rand(3, 1, 28, 28)
    model = LeNet5("sparse")
    h = torch.tanh(model.p2(torch.tanh(model.c1(x))))
    assert h.shape == (3, 6, 14, 14)
    h = torch.tanh(model.p4(torch.tanh(model.c3(h))))
    assert h.shape == (3, 16, 5, 5)
    assert model(x).shape == (3, 10)


def test_sparse_init_bounds_follow_fan_in():
    """Each map's kernels and bias are drawn within 1/sqrt(25 * its number of inputs), like Conv2d's default."""
    torch.manual_seed(0)
    c3 = SparseC3()
    start = 0
    for o, inputs in enumerate(C3_TABLE):
        bound = 1 / (25 * len(inputs)) ** 0.5
        w = c3.weight[start:start + len(inputs)]
        assert w.abs().max() <= bound and w.abs().max() > 0.8 * bound
        assert abs(float(c3.bias[o].detach())) <= bound
        start += len(inputs)


@pytest.mark.parametrize("kind", C3_KINDS)
def test_every_c3_kind_meets_the_c3_layer_interface(kind):
    """mnistrepro.experiments.lenet.C3Layer: [N, 6, H, W] -> [N, 16, H-4, W-4], the same map NCHW from a channels-last
    layer, and parameters drawn afresh from a generator, the same for the same generator state."""
    layer = make_c3(kind)
    assert isinstance(layer, C3Layer)
    x = torch.randn(2, 6, 14, 14)
    y = layer(x)
    assert y.shape == (2, 16, 10, 10)
    torch.testing.assert_close(layer.to(memory_format=torch.channels_last).forward_nchw(x), y)
    states = []
    for _ in range(2):
        layer.reset_parameters(generator=torch.Generator().manual_seed(3))
        states.append({k: v.clone() for k, v in layer.state_dict().items()})
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not torch.equal(layer(x), y)


def test_the_reference_sixteen_convolutions_draw_the_sparse_c3s_parameters():
    sixteen, sparse = SixteenConvC3(), SparseC3()
    assert isinstance(sixteen, C3Layer)
    sixteen.reset_parameters(torch.Generator().manual_seed(5))
    sparse.reset_parameters(torch.Generator().manual_seed(5))
    converted = sixteen.to_sparse()
    assert torch.equal(converted.weight, sparse.weight) and torch.equal(converted.bias, sparse.bias)


def test_a_c3_factory_whose_layer_misses_the_interface_is_an_error(monkeypatch):
    from mnistrepro.study import choices

    monkeypatch.setitem(choices._IMPLEMENTATIONS["c3"], "full", lambda: torch.nn.Conv2d(6, 16, 5))
    with pytest.raises(TypeError, match="C3Layer"):
        make_c3("full")


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 4), height=st.integers(5, 16), width=st.integers(5, 16), seed=st.integers(0, 2**31 - 1))
def test_sparse_c3_equals_sixteen_convolutions(batch, height, width, seed):
    """Same weights -> same output and same gradients (input, kernels, biases) as the 16-conv construction."""
    torch.manual_seed(seed)
    sparse = SparseC3().double()
    with torch.no_grad():  # arbitrary weights, not just the init's range
        sparse.weight.normal_()
        sparse.bias.normal_()
    sixteen = SixteenConvC3().double().load_sparse(sparse)
    x1 = torch.randn(batch, 6, height, width, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = sparse(x1), sixteen(x2)
    assert y1.shape == (batch, 16, height - 4, width - 4)
    torch.testing.assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    upstream = torch.randn_like(y1)
    y1.backward(upstream)
    y2.backward(upstream)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-12, atol=1e-12)
    # The 16 convolutions' kernel gradients, in SparseC3's layout (map by map, inputs in table order).
    torch.testing.assert_close(sparse.weight.grad, torch.cat([c.weight.grad[0] for c in sixteen.convs]),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(sparse.bias.grad, torch.cat([c.bias.grad for c in sixteen.convs]),
                               rtol=1e-12, atol=1e-12)
    assert torch.equal(sixteen.to_sparse().weight, sparse.weight)  # the conversion round-trips


def test_sparse_c3_dense_weight_is_the_table():
    c3 = SparseC3()
    dense = c3.dense_weight()
    mask = c3_connection_mask()
    assert dense.shape == (16, 6, 5, 5)
    assert torch.all(dense[~mask] == 0)
    assert torch.all(dense[mask] != 0)
    # Kernel of map o for input i sits at dense[o, i]: compare with the 16-conv layout.
    sixteen = SixteenConvC3().load_sparse(c3)
    for o, inputs in enumerate(C3_TABLE):
        assert torch.equal(dense[o, list(inputs)], sixteen.convs[o].weight[0])


def test_whole_model_sparse_equals_sixteen():
    torch.manual_seed(1)
    a = LeNet5("sparse").double()
    b = lenet5_sixteen().double()
    state = {k: v for k, v in a.state_dict().items() if not k.startswith("c3.")}
    b.load_state_dict(state, strict=False)
    b.c3.load_sparse(a.c3)
    x = torch.rand(5, 1, 28, 28, dtype=torch.float64)
    y = torch.randint(0, 10, (5,))
    la, lb = a(x), b(x)
    torch.testing.assert_close(la, lb, rtol=1e-12, atol=1e-12)
    F.cross_entropy(la, y).backward()
    F.cross_entropy(lb, y).backward()
    torch.testing.assert_close(a.c1.weight.grad, b.c1.weight.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a.c3.weight.grad, torch.cat([c.weight.grad[0] for c in b.c3.convs]),
                               rtol=1e-10, atol=1e-12)


def test_masked_weights_stay_zero_after_training_steps(one_thread):
    data = to_device_data(synthetic_mnist(300, 50), "cpu")
    run = LeNetRun(c3="sparse", seed=3, epochs=2, batch_size=50)
    before = build_model("sparse", 3).c3.dense_weight().detach()
    model = train_alone(run, data).model
    after = model.c3.dense_weight().detach()
    mask = c3_connection_mask()
    assert torch.all(after[~mask] == 0)
    assert not torch.equal(after[mask], before[mask])  # the real kernels did train
    assert count_trainable(model.c3) == 1_516


# ----------------------------------------------------------------------------------------------
# Data, shuffling, evaluation


def test_device_data_scaling_matches_to_tensor():
    from PIL import Image
    from torchvision.transforms import ToTensor

    mnist = synthetic_mnist(20, 5)
    data = to_device_data(mnist, "cpu", train_limit=7, test_limit=3)
    assert data.train_x.shape == (7, 1, 28, 28) and data.test_x.shape == (3, 1, 28, 28)
    for i in range(7):
        expected = ToTensor()(Image.fromarray(mnist["train_images"][i].numpy(), mode="L"))
        assert torch.equal(data.train_x[i], expected)
    assert torch.equal(data.train_y, mnist["train_labels"][:7])


def test_epoch_permutation():
    p = epoch_permutation(0, 0, 1000)
    assert torch.equal(torch.sort(p).values, torch.arange(1000))
    assert torch.equal(p, epoch_permutation(0, 0, 1000))
    assert not torch.equal(p, epoch_permutation(0, 1, 1000))
    assert not torch.equal(p, epoch_permutation(1, 0, 1000))


class FixedLogits(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits[x[:, 0, 0, 0].long()]


def test_evaluate_counts():
    y = torch.tensor([0, 1, 2, 2, 9, 9, 9])
    pred = torch.tensor([0, 2, 2, 2, 9, 1, 9])
    logits = F.one_hot(pred, 10).double() * 5
    x = torch.arange(7.0).view(7, 1, 1, 1)  # the model looks up row i of logits
    m = evaluate(FixedLogits(logits), x, y, batch_size=3)
    assert m["correct"] == 5 and m["test_accuracy"] == pytest.approx(5 / 7)
    assert m["misclassified_test_indices"] == [1, 5]
    assert m["misclassified_predicted"] == [2, 1] and m["misclassified_true"] == [1, 9]
    cm = torch.tensor(m["confusion_matrix"])
    assert cm.sum() == 7 and cm[1, 2] == 1 and cm[9, 1] == 1 and cm[2, 2] == 2
    assert m["per_class_accuracy"][0] == 1.0 and m["per_class_accuracy"][1] == 0.0
    assert m["per_class_accuracy"][9] == pytest.approx(2 / 3) and m["per_class_accuracy"][5] is None
    assert m["test_loss"] == pytest.approx(float(F.cross_entropy(logits, y)))


def test_top_2_counts_the_runner_up():
    y = torch.tensor([0, 1, 2, 3])
    logits = torch.tensor([
        [5.0, 4, 0, 0, 0, 0, 0, 0, 0, 0],  # true class first
        [5.0, 4, 0, 0, 0, 0, 0, 0, 0, 0],  # true class second
        [5.0, 4, 3, 0, 0, 0, 0, 0, 0, 0],  # true class third
        [0.0, 0, 0, 0, 0, 0, 0, 0, 0, 9],  # true class among the tied last
    ])
    assert top_k_correct(logits, y, 1).tolist() == [True, False, False, False]
    assert top_k_correct(logits, y, 2).tolist() == [True, True, False, False]
    assert top_k_correct(logits, y, 10).all()
    m = evaluate(FixedLogits(logits), torch.arange(4.0).view(4, 1, 1, 1), y)
    assert m["correct"] == 1 and m["top2_correct"] == 2 and m["top2_accuracy"] == 0.5


def confident_logits(pred: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
    """Logits ``[N, 10]`` whose softmax gives class ``pred`` probability ``confidence``, the others the rest evenly."""
    rest = ((1 - confidence) / 9).log().unsqueeze(1).expand(-1, 10).clone()
    rest[torch.arange(len(pred)), pred] = confidence.log()
    return rest


def test_ece_of_a_hand_built_case_is_its_textbook_value():
    # 10 predictions in two of the 15 bins: 4 at confidence 0.9 (bin (13/15, 14/15]), 3 of them right;
    # 6 at 0.55 (bin (8/15, 9/15]), 3 right. ECE = 4/10 |0.75 - 0.9| + 6/10 |0.5 - 0.55| = 0.06 + 0.03.
    confidence = torch.tensor([0.9] * 4 + [0.55] * 6, dtype=torch.float64)
    correct = torch.tensor([1, 1, 1, 0, 1, 1, 1, 0, 0, 0], dtype=torch.bool)
    # To the fixed-point grid of the ECE's exact sums (mnistrepro.analysis.stats.FIXED_POINT_BITS: 2^-33 per
    # confidence).
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.09, abs=2**-32)
    bins = calibration_bins(confidence, correct)
    assert [i for i, k in enumerate(bins["count"]) if k] == [8, 13] and sum(bins["count"]) == 10
    assert bins["accuracy"][13] == 0.75 and bins["confidence"][8] == pytest.approx(0.55)
    assert bins["accuracy"][0] is None and bins["upper"][-1] == 1.0
    # Perfectly calibrated: 70% right at confidence 0.7. Bins are right-closed: 1.0 is in the last one.
    seventy = torch.full((10,), 0.7, dtype=torch.float64)
    assert expected_calibration_error(seventy, torch.arange(10) < 7) == pytest.approx(0, abs=2**-32)
    edges = torch.tensor([1.0, 1 / 15], dtype=torch.float64)
    assert calibration_bins(edges, torch.tensor([True, True]))["count"] == [1] + [0] * 13 + [1]
    # The same case through evaluate: the confidence is the softmax probability of the predicted class.
    y = torch.tensor([3, 3, 3, 5, 1, 1, 1, 2, 2, 2])
    pred = torch.where(correct, y, (y + 1) % 10)
    m = evaluate(FixedLogits(confident_logits(pred, confidence)), torch.arange(10.0).view(10, 1, 1, 1), y)
    assert m["correct"] == 6 and m["ece_bins"] == 15
    assert m["ece"] == pytest.approx(0.09, abs=1e-6)
    assert m["mean_confidence"] == pytest.approx(0.69, abs=1e-6)


@pytest.mark.parametrize("c3", C3_KINDS)
def test_evaluating_the_saved_model_gives_the_training_time_evaluation(one_thread, mnist, tmp_path, c3):
    """On real MNIST: the evaluation step (weights read back from model.pt) gives exactly the numbers the
    training job's own evaluation gave, i.e. the last epoch's test monitoring and evaluate() on the
    in-memory model, as train_lenet computed metrics.json before evaluation was its own step."""
    run = LeNetRun(c3=c3, seed=3, epochs=2, batch_size=100, lr=0.1, train_limit=6000, test_limit=2500)
    data = to_device_data(mnist, "cpu", run.train_limit, run.test_limit)
    result = train_alone(run, data)
    batch = eval_batch_size(torch.device("cpu"))
    in_training = evaluate(result.model, data.test_x, data.test_y, batch)
    save_model(result.model, run, tmp_path / "model.pt")
    model, _ = load_model(tmp_path / "model.pt", torch.device("cpu"))
    from_disk = evaluate(model, data.test_x, data.test_y, batch)
    assert from_disk == in_training
    last = result.history[-1]
    assert from_disk["test_accuracy"] == last["test_accuracy"] and from_disk["test_loss"] == last["test_loss"]
    assert 0.5 < from_disk["test_accuracy"] <= from_disk["top2_accuracy"] < 1 and 0 < from_disk["ece"] < 0.5


# ----------------------------------------------------------------------------------------------
# Training: learning, determinism, resume


def test_training_learns_and_reports(one_thread, tmp_path):
    data = to_device_data(synthetic_mnist(1000, 300), "cpu")
    run = LeNetRun(c3="full", seed=0, epochs=3, batch_size=50, lr=0.1)
    result = train_alone(run, data)
    h = result.history
    assert [r["epoch"] for r in h] == [1, 2, 3]
    assert set(h[0]) == set(HISTORY_FIELDS)
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert h[-1]["test_accuracy"] > 0.9  # chance is 0.1
    model_sha256 = save_model(result.model, run, tmp_path / "model.pt")
    record = training_record(run, result, data, {"device": "cpu"}, tmp_path / "model.pt", model_sha256, threads=1)
    assert record["experiment"] == "lenet" and record["device"] == "cpu" and record["hardware"] == {"device": "cpu"}
    assert record["model"] == {"path": str(tmp_path / "model.pt"), "sha256": file_sha256(tmp_path / "model.pt")}
    assert record["trainable_params"] == record["trainable_params_analytic"] == 61_706
    assert record["train_images"] == 1000 and record["epochs"] == 3 and record["resumed_from_epoch"] is None
    assert record["train_seconds"] > 0 and "test_accuracy" not in record  # evaluation is its own step
    write_history_csv(h, tmp_path / "history.csv")
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == ",".join(HISTORY_FIELDS) and len(lines) == 4
    reloaded, saved_run = load_model(tmp_path / "model.pt", torch.device("cpu"))
    assert saved_run == dataclasses.asdict(run)
    metrics = evaluate(reloaded, data.test_x, data.test_y)
    # What the runs table copies from it: the registry's LeNet-5 metrics and the other record fields.
    assert {m.name for m in experiment_metrics("lenet")} | set(RECORD_FIELDS) <= set(metrics)
    assert metrics["test_accuracy"] == h[-1]["test_accuracy"] and metrics["total"] == 300
    assert len(metrics["misclassified_test_indices"]) == 300 - metrics["correct"]


def test_damaged_model_is_refused_naming_the_file(one_thread, tmp_path):
    """64 zeroed bytes in the middle of a trained model.pt: the evaluation's load refuses it, naming the file
    and its training record, instead of evaluating whatever the damaged weights compute."""
    data = to_device_data(synthetic_mnist(200, 50), "cpu")
    run = LeNetRun(c3="sparse", seed=0, epochs=1, batch_size=50)
    result = train_alone(run, data)
    model_path, training_path = tmp_path / "model.pt", tmp_path / "training.json"
    sha = save_model(result.model, run, model_path)
    write_json(training_record(run, result, data, {"device": "cpu"}, model_path, sha), training_path)
    model, saved_run, training = load_trained_model(training_path, model_path, torch.device("cpu"))  # intact: loads
    assert training["model"]["sha256"] == sha
    # Both records follow the schema (mnistrepro.study.records): its keys and the run's settings, nothing else.
    evaluation = evaluation_record(saved_run, training, evaluate(model, data.test_x, data.test_y), "cpu", 1, 0.1)
    for record, record_type in ((training, LenetTrainingRecord), (evaluation, LenetEvaluationRecord)):
        required, optional = record_keys(record_type)
        assert required <= set(record) <= required | optional | set(saved_run), record_type
    assert evaluation["model"] == training["model"] and evaluation["experiment"] == "lenet"
    raw = bytearray(model_path.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 64] = bytes(64)
    model_path.write_bytes(bytes(raw))
    with pytest.raises(ArtefactMismatchError) as err:
        load_trained_model(training_path, model_path, torch.device("cpu"))
    assert str(model_path) in str(err.value) and str(training_path) in str(err.value)
    assert "rerun" in err.value.action


@pytest.mark.parametrize("c3", C3_KINDS)
def test_same_seed_same_metrics_on_cpu(one_thread, c3):
    data = to_device_data(synthetic_mnist(400, 100), "cpu")
    runs = [LeNetRun(c3=c3, seed=s, epochs=2, batch_size=50) for s in (7, 7, 8)]
    results = [train_alone(r, data) for r in runs]
    metrics = [without_timing(training_record(r, res, data, {"device": "cpu"}, "model.pt", "-"))
               | evaluate(res.model, data.test_x, data.test_y)
               for r, res in zip(runs, results)]
    assert metrics[0] == metrics[1]
    assert without_timing(results[0].history) == without_timing(results[1].history)
    assert_same_weights(results[0].model, results[1].model)
    assert not torch.equal(results[0].model.f7.weight, results[2].model.f7.weight)  # the seed matters


class Crash(Exception):
    pass


def test_resume_after_crash_gives_same_weights(one_thread, tmp_path, caplog):
    data = to_device_data(synthetic_mnist(500, 100), "cpu")
    run = LeNetRun(c3="sparse", seed=5, epochs=3, batch_size=50)
    reference = train_alone(run, data)

    ckpt = tmp_path / "ckpt.pt"

    def crash_after_2(epoch, row):
        if epoch == 2:
            raise Crash

    with pytest.raises(Crash):
        train_alone(run, data, checkpoint_path=ckpt, on_epoch_end=crash_after_2)
    assert ckpt.exists()
    with caplog.at_level(logging.INFO, logger="mnistrepro"):
        resumed = train_alone(run, data, checkpoint_path=ckpt)
    assert resumed.resumed_from_epoch == 2
    assert "resumed from epoch 2" in caplog.text
    assert_same_weights(resumed.model, reference.model)
    assert without_timing(resumed.history) == without_timing(reference.history)


def test_checkpoint_of_another_run_is_ignored(one_thread, tmp_path, caplog):
    data = to_device_data(synthetic_mnist(200, 50), "cpu")
    run = LeNetRun(c3="full", seed=1, epochs=1, batch_size=50)
    other = LeNetRun(c3="full", seed=2, epochs=1, batch_size=50)
    ckpt = tmp_path / "ckpt.pt"
    train_alone(other, data, checkpoint_path=ckpt)
    with caplog.at_level(logging.INFO, logger="mnistrepro"):
        result = train_alone(run, data, checkpoint_path=ckpt)
    assert result.resumed_from_epoch is None
    assert "ignoring checkpoint" in caplog.text
    assert_same_weights(result.model, train_alone(run, data).model)


KILL_CHILD = """
import sys, torch
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, train_group
torch.set_num_threads(1)
data = to_device_data(torch.load(sys.argv[1]), "cpu")
train_group([LeNetRun(c3="sparse", seed=11, epochs=5, batch_size=50)], data, checkpoint_path=sys.argv[2], stacked=False)
print("finished", flush=True)
"""


def test_sigkill_and_resume_gives_same_weights(one_thread, tmp_path):
    """Kill a training process with SIGKILL after its first checkpoint; the rerun resumes and matches."""
    mnist = synthetic_mnist(1500, 100, seed=2)
    torch.save(mnist, tmp_path / "mnist.pt")
    ckpt = tmp_path / "ckpt.pt"
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(tmp_path / "mnist.pt"), str(ckpt)],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not ckpt.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    out = child.communicate()[0].decode()
    assert ckpt.exists(), out
    assert "finished" not in out, "the child finished before it could be killed"
    run = LeNetRun(c3="sparse", seed=11, epochs=5, batch_size=50)
    data = to_device_data(mnist, "cpu")
    resumed = train_alone(run, data, checkpoint_path=ckpt)
    assert resumed.resumed_from_epoch is not None and 1 <= resumed.resumed_from_epoch < 5
    reference = train_alone(run, data)
    assert_same_weights(resumed.model, reference.model)


# ----------------------------------------------------------------------------------------------
# The Snakemake rule


@pytest.mark.parametrize("device, gpu", [("cpu", 0), ("cuda", 1)])
def test_rule_declares_gpu_resource(tmp_path, device, gpu):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["device"] = device
    config["lenet"].update(c3=list(C3_KINDS), seeds=[0, 4], threads=2)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config))
    targets = [f"results/lenet_eval/{c3}/seed{seed}.json" for c3 in C3_KINDS for seed in (0, 4)]  # the default study
    out = run_snakemake(tmp_path / "work", "-n", "--cores", "2", *targets, config=tmp_path / "cfg.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout + out.stderr
    jobs = [block for block in text.split("rule train_lenet:")[1:]]
    # seeds_per_job auto: one seed per job on the CPU, the two seeds together on a GPU.
    assert len(jobs) == (2 if gpu else 4)
    for job in jobs:
        resources = next(line for line in job.splitlines() if "resources:" in line)
        assert f"gpu={gpu}" in resources
        assert "threads: 2" in job
        assert "results/checkpoints" not in job.split("log:")[0]  # the checkpoint is no output
    # Evaluation: one job per variant, on the training device; on a CPU machine no gpu resource at all.
    evals = [block.split("\n\n")[0] for block in text.split("rule evaluate_lenet:")[1:]]
    assert len(evals) == 2
    for job in evals:
        resources = next(line for line in job.splitlines() if "resources:" in line)
        assert ("gpu=1" in resources) if gpu else ("gpu" not in resources), resources
        assert "threads: 2" in job
    for target in targets:
        assert target in text


# ----------------------------------------------------------------------------------------------
# CUDA (skipped without a GPU)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_training_matches_eager():
    data = to_device_data(synthetic_mnist(1050, 100), "cuda")  # 1050: a partial last batch too
    run = LeNetRun(c3="sparse", seed=0, epochs=2, batch_size=100)
    graphed = train_alone(run, data, cuda_graph=True)
    eager = train_alone(run, data, cuda_graph=False)
    for (k, a), b in zip(graphed.model.state_dict().items(), eager.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=k)
    assert graphed.history[-1]["train_loss"] == pytest.approx(eager.history[-1]["train_loss"], rel=1e-4)
    mask = c3_connection_mask().cuda()
    assert torch.all(graphed.model.c3.dense_weight()[~mask] == 0)
