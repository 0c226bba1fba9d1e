"""The figures' data selection (mnistrepro.figures): what each panel draws, from small made-up tables."""

from __future__ import annotations

import pandas as pd

from mnistrepro.aggregate import RUN_COLUMNS
from mnistrepro.figures import FIGURES


def runs_csv(tmp_path, logreg_steps: int, sweep_steps: int, eval_steps=(10,), seeds=(0, 1, 2)):
    """A runs.csv as the aggregate rule writes it: the main grid (mse/ce x raw) evaluated at ``eval_steps`` and
    ``logreg_steps``, a two-pair sweep run for ``sweep_steps``, and two LeNet-5 variants."""
    rows = []
    for loss in ("mse", "ce"):
        for steps in (*eval_steps, logreg_steps):
            rows += [{"experiment": "logreg", "loss": loss, "scaling": "raw", "pair": "4-9", "seed": s,
                      "steps": steps, "test_accuracy": 0.9, "train_seconds": 0.1 * steps / logreg_steps + s}
                     for s in seeds]
    rows += [{"experiment": "pair_sweep", "loss": "ce", "scaling": "unit", "pair": p, "seed": s,
              "steps": sweep_steps, "test_accuracy": 0.95, "train_seconds": 0.2} for p in ("0-1", "3-5") for s in seeds]
    rows += [{"experiment": "lenet", "c3": c3, "seed": s, "epochs": 2, "test_accuracy": 0.98,
              "train_seconds": 5.0 + s} for c3 in ("sparse", "full") for s in seeds]
    path = tmp_path / "runs.csv"
    pd.DataFrame(rows, columns=RUN_COLUMNS).to_csv(path, index=False)
    return path


def test_train_time_draws_logreg_at_its_own_last_step_when_the_sweep_runs_longer(tmp_path):
    """pair_sweep.steps > logreg.steps: the logistic-regression panel still shows every main-grid run at
    logreg.steps (not the sweep's step count, at which the main grid has no runs)."""
    fig = FIGURES["train_time"](runs=runs_csv(tmp_path, logreg_steps=200, sweep_steps=500))
    lenet_ax, logreg_ax = fig.axes
    assert lenet_ax.get_visible() and logreg_ax.get_visible()
    assert [t.get_text() for t in logreg_ax.get_xticklabels()] == ["logreg mse/raw", "logreg ce/raw"]
    # One point per main-grid run at its last step (2 losses x 3 seeds), none of the sweep's or earlier steps.
    points = sum(len(c.get_offsets()) for c in logreg_ax.collections)
    assert points == 6


def test_train_time_with_the_sweep_shorter_than_the_main_grid(tmp_path):
    fig = FIGURES["train_time"](runs=runs_csv(tmp_path, logreg_steps=500, sweep_steps=200))
    assert sum(len(c.get_offsets()) for c in fig.axes[1].collections) == 6
