"""LeNet-5 seeds trained together (stacked: mnistrepro.experiments.lenet_training.train_group), and the common random
numbers that pair C3 variants.

What a seed's numbers may depend on: its own seed and settings, and whether it was trained alone or in a group
(grouped kernels add in another order). Not on which other seeds share its group, and not on the run (the same
group twice gives the same bits).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mnistrepro.experiments.lenet import LAYERS
from mnistrepro.experiments.lenet_training import (LeNetRun, StackedLeNet, build_model, to_device_data,
                                                   train_group)
from mnistrepro.study.choices import C3_KINDS
from mnistrepro.study.seeds import group_label, parse_group_label, seed_groups

from conftest import REPO, train_alone
from test_lenet import assert_same_weights, one_thread, synthetic_mnist  # noqa: F401 (one_thread: a fixture)


@pytest.fixture(scope="module")
def data():
    return to_device_data(synthetic_mnist(600, 200, seed=4), "cpu")


def runs(seeds, c3="sparse", epochs=2):
    return [LeNetRun(c3=c3, seed=s, epochs=epochs, batch_size=50) for s in seeds]


def max_abs_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ----------------------------------------------------------------------------------------------
# Common random numbers: a seed's layers other than C3 are the same for every C3 kind


def test_same_seed_gives_every_c3_kind_the_same_other_layers():
    models = {c3: build_model(c3, 7) for c3 in C3_KINDS}
    reference = models[C3_KINDS[0]]
    for c3, model in models.items():
        for layer in LAYERS:
            if layer == "c3":
                continue
            for (name, a), b in zip(getattr(reference, layer).named_parameters(), getattr(model, layer).parameters()):
                assert torch.equal(a, b), f"{c3}: {layer}.{name} differs from {C3_KINDS[0]}'s"


def test_other_seeds_draw_other_weights_from_the_default_distribution():
    a, b = build_model("full", 1), build_model("full", 2)
    for layer in LAYERS:
        wa, wb = getattr(a, layer).weight, getattr(b, layer).weight
        assert not torch.equal(wa, wb), layer
        bound = 1 / wa[0].numel() ** 0.5  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        assert wa.abs().max() <= bound and wa.abs().max() > 0.9 * bound, layer


def test_build_model_does_not_touch_the_global_random_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model("sparse", 5)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------------------------
# Groups of seeds


def test_group_labels_name_their_seeds():
    for seeds in ([0], [0, 1], [0, 1, 2, 3], [2, 5], [0, 1, 2, 5, 6, 9, 10, 11]):
        assert parse_group_label(group_label(seeds)) == seeds
    assert group_label(range(10)) == "0-9"
    assert seed_groups(range(5), 2) == [[0, 1], [2, 3], [4]]


def test_stacked_forward_equals_each_model(data):
    models = [build_model("sparse", s) for s in (0, 3)]
    x = data.train_x[:20].view(2, 10, 1, 28, 28)
    stacked = StackedLeNet(models)(x)
    for i, model in enumerate(models):
        torch.testing.assert_close(stacked[i], model(x[i]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("c3", C3_KINDS)
def test_a_seed_does_not_depend_on_its_companions(one_thread, data, c3):
    """Seed 2 trained with {0, 1, 2} and with {2, 5}: the same bits, weights and history."""
    in_three = train_group(runs([0, 1, 2], c3), data)[2]
    in_two = train_group(runs([2, 5], c3), data)[0]
    assert_same_weights(in_three.model, in_two.model)
    strip = lambda h: [{k: v for k, v in row.items() if "seconds" not in k and k != "images_per_s"} for row in h]  # noqa: E731
    assert strip(in_three.history) == strip(in_two.history)


def test_the_same_group_twice_gives_the_same_bits(one_thread, data):
    first = train_group(runs([3, 4]), data)
    second = train_group(runs([3, 4]), data)
    for a, b in zip(first, second):
        assert_same_weights(a.model, b.model)


@pytest.mark.parametrize("c3", C3_KINDS)
def test_a_seed_in_a_group_matches_the_seed_alone_to_float32_rounding(one_thread, data, c3):
    """Not bitwise: grouped convolutions add in another order. After 24 SGD steps (2 epochs of 12 batches) the
    weights agree to 1e-5 (float32 rounding accumulated over the steps), and so do the per-epoch losses."""
    grouped = train_group(runs([0, 6], c3), data)[1]
    alone = train_alone(runs([6], c3)[0], data)
    assert max_abs_difference(grouped.model, alone.model) <= 1e-5
    for g, a in zip(grouped.history, alone.history):
        assert g["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
        assert g["test_loss"] == pytest.approx(a["test_loss"], rel=1e-5)
        assert g["train_accuracy"] == a["train_accuracy"] and g["test_accuracy"] == a["test_accuracy"]


def test_a_group_must_share_its_settings(data):
    with pytest.raises(ValueError, match="differ only in their seed"):
        train_group([LeNetRun(c3="sparse", seed=0), LeNetRun(c3="full", seed=1)], data)
    with pytest.raises(ValueError, match="distinct"):
        train_group(runs([1, 1]), data)
    with pytest.raises(ValueError, match="only a stacked group"):
        train_group(runs([0, 1]), data, stacked=False)


KILL_CHILD = """
import sys
import torch
torch.set_num_threads(1)
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, train_group
data = to_device_data(torch.load(sys.argv[1]), "cpu")
train_group([LeNetRun(c3="full", seed=s, epochs=4, batch_size=50) for s in (1, 8)], data, checkpoint_path=sys.argv[2])
print("finished", flush=True)
"""


@pytest.mark.slow  # ten seconds of training; test_lenet's kill -9 test stays in the quick tier
def test_sigkill_and_resume_of_a_group_gives_the_uninterrupted_weights(one_thread, tmp_path, caplog):
    """SIGKILL a group after its first checkpoint; the rerun resumes from it, and every seed's final weights equal
    an uninterrupted run's."""
    mnist = synthetic_mnist(1500, 100, seed=2)
    torch.save(mnist, tmp_path / "mnist.pt")
    ckpt = tmp_path / "group.pt"
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(tmp_path / "mnist.pt"), str(ckpt)],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not ckpt.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    out = child.communicate()[0].decode()
    assert ckpt.exists(), out
    assert "finished" not in out, "the child finished before it could be killed"
    group = [LeNetRun(c3="full", seed=s, epochs=4, batch_size=50) for s in (1, 8)]
    data = to_device_data(mnist, "cpu")
    with caplog.at_level("INFO"):
        resumed = train_group(group, data, checkpoint_path=ckpt)
    assert "resumed from epoch" in caplog.text
    assert all(1 <= r.resumed_from_epoch < 4 and len(r.history) == 4 for r in resumed)
    uninterrupted = train_group(group, data)
    for a, b in zip(resumed, uninterrupted):
        assert_same_weights(a.model, b.model)


def test_a_checkpoint_of_another_group_is_ignored(one_thread, data, tmp_path, caplog):
    ckpt = tmp_path / "group.pt"
    train_group(runs([0, 1], epochs=1), data, checkpoint_path=ckpt)
    with caplog.at_level("WARNING"):
        result = train_group(runs([0, 2], epochs=1), data, checkpoint_path=ckpt)
    assert "ignoring checkpoint" in caplog.text
    assert result[0].resumed_from_epoch is None


def test_a_seed_alone_does_not_resume_its_stacked_checkpoint(one_thread, data, tmp_path, caplog):
    """The same seed stacked (a group of one) and alone add in other orders: one does not continue the other."""
    ckpt = tmp_path / "ckpt.pt"
    train_group(runs([0], epochs=1), data, checkpoint_path=ckpt, stacked=True)
    with caplog.at_level("WARNING"):
        result = train_alone(runs([0], epochs=1)[0], data, checkpoint_path=ckpt)
    assert "ignoring checkpoint" in caplog.text
    assert result.resumed_from_epoch is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_group_training_matches_eager():
    data = to_device_data(synthetic_mnist(1050, 100), "cuda")  # 1050: a partial last batch too
    group = [LeNetRun(c3="sparse", seed=s, epochs=2, batch_size=100) for s in (0, 1, 2)]
    graphed = train_group(group, data, cuda_graph=True)
    eager = train_group(group, data, cuda_graph=False)
    for g, e in zip(graphed, eager):
        for (k, a), b in zip(g.model.state_dict().items(), e.model.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=k)
        assert g.history[-1]["train_loss"] == pytest.approx(e.history[-1]["train_loss"], rel=1e-4)
