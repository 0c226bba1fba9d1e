"""The figures (mnistrepro.outputs.figures), drawn from small tables shaped like the default study's and unlike it: what
each panel draws, the loss-per-epoch and forest figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mnistrepro.outputs.aggregate import run_columns
from mnistrepro.outputs.figures import PLOTS, save


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
    pd.DataFrame(rows, columns=run_columns()).to_csv(path, index=False)
    return path


def test_train_time_draws_logreg_at_its_own_last_step_when_the_sweep_runs_longer(tmp_path):
    """pair_sweep.steps > logreg.steps: the logistic-regression panel still shows every main-grid run at
    logreg.steps (not the sweep's step count, at which the main grid has no runs)."""
    fig = PLOTS["train_time"](runs=runs_csv(tmp_path, logreg_steps=200, sweep_steps=500))
    lenet_ax, logreg_ax = fig.axes
    assert lenet_ax.get_visible() and logreg_ax.get_visible()
    assert [t.get_text() for t in logreg_ax.get_xticklabels()] == ["MSE, raw pixels", "logistic, raw pixels"]
    # One point per main-grid run at its last step (2 losses x 3 seeds), none of the sweep's or earlier steps.
    points = sum(len(c.get_offsets()) for c in logreg_ax.collections)
    assert points == 6


def test_train_time_with_the_sweep_shorter_than_the_main_grid(tmp_path):
    fig = PLOTS["train_time"](runs=runs_csv(tmp_path, logreg_steps=500, sweep_steps=200))
    assert sum(len(c.get_offsets()) for c in fig.axes[1].collections) == 6


def default_shaped_comparisons() -> pd.DataFrame:
    """comparisons.csv shaped like a small study's: sparse vs full C3 over 3 seeds (no interval), and
    at 5 step counts logistic vs MSE loss per scaling and unit vs raw pixels, 200 seeds each."""
    rng = np.random.default_rng(0)
    rows = [{"comparison": "C3 connection table", "a": "sparse C3", "b": "full C3", "epochs": 10, "n_a": 3, "n_b": 3,
             # ci95 (-1, 1): 3 pairs cannot bound the difference (mnistrepro.analysis.stats.sign_flip_interval)
             "difference": -0.002, "ci95_low": -1.0, "ci95_high": 1.0, "p_value": 0.25, "p_holm": 0.25,
             "significant": False}]
    for steps in (100, 300, 1000, 3000, 10000):
        for a, b, comparison in [("logistic loss (raw)", "MSE loss (raw)", "loss"),
                                 ("logistic loss (unit)", "MSE loss (unit)", "loss"),
                                 ("MSE loss (unit)", "MSE loss (raw)", "input scaling")]:
            diff = rng.normal(0.2, 0.1)
            rows.append({"comparison": comparison, "a": a, "b": b, "steps": steps, "n_a": 200, "n_b": 200,
                         "difference": diff, "ci95_low": diff - 0.02, "ci95_high": diff + 0.02, "p_value": 0.0002,
                         "p_holm": 0.0032, "significant": True})
    return pd.DataFrame(rows)


def draw(name: str, tmp_path, **inputs) -> Image.Image:
    path = tmp_path / f"{name}.png"
    save(PLOTS[name](**inputs), path)
    image = Image.open(path)
    assert image.size[0] > 400 and image.size[1] > 200
    assert len(image.convert("L").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20  # something was drawn
    return image


def test_forest_plot_of_the_default_shaped_comparisons(tmp_path):
    table = default_shaped_comparisons()
    table.to_csv(tmp_path / "comparisons.csv", index=False)
    short = draw("comparisons_forest", tmp_path, comparisons=tmp_path / "comparisons.csv")
    # One row per comparison: a table with more rows gives a taller figure.
    pd.concat([table, table.assign(comparison="more")]).to_csv(tmp_path / "more.csv", index=False)
    tall = draw("comparisons_forest", tmp_path, comparisons=tmp_path / "more.csv")
    assert tall.size[1] > short.size[1]


def test_forest_plot_tolerates_new_rows_and_columns(tmp_path):
    """The statistics may add an experiment column, new columns and new kinds of comparisons."""
    table = default_shaped_comparisons()
    table["experiment"] = np.where(table["comparison"] == "C3 connection table", "B. LeNet-5", "A. logistic regression")
    table["effect_size"] = 1.0
    table = pd.concat([table, pd.DataFrame([{"experiment": "D. new", "comparison": "new", "a": "x", "b": "y",
                                             "difference": 0.01, "ci95_low": -0.01, "ci95_high": 0.03,
                                             "p_holm": np.nan, "significant": "False"}])])
    table.drop(columns=["steps"]).to_csv(tmp_path / "comparisons.csv", index=False)
    draw("comparisons_forest", tmp_path, comparisons=tmp_path / "comparisons.csv")


@pytest.mark.parametrize("seeds, epochs", [(3, 10), (2, 1)])
def test_loss_per_epoch_with_seed_spread(tmp_path, seeds, epochs):
    """Shaped like a small study (3 seeds, 10 epochs) and like a one-epoch test config."""
    training, history = [], []
    for c3 in ("sparse", "full"):
        for seed in range(seeds):
            run = tmp_path / f"{c3}{seed}"
            run.mkdir()
            (run / "training.json").write_text(json.dumps({"c3": c3, "seed": seed}))
            epoch = np.arange(1, epochs + 1)
            pd.DataFrame({"epoch": epoch, "train_loss": 0.5 / epoch + 0.01 * seed, "train_accuracy": 0.9,
                          "test_loss": 0.4 / epoch + 0.02, "test_accuracy": 0.95}).to_csv(run / "history.csv",
                                                                                            index=False)
            training.append(run / "training.json")
            history.append(run / "history.csv")
    draw("lenet_loss", tmp_path, training=training, history=history)


@pytest.mark.parametrize("losses, divisors", [(["mse", "ce"], [1, 255]), (["mse"], [1, 4, 16])])
def test_scale_grid_figure_of_any_grid(tmp_path, losses, divisors):
    """The exploratory grid's figure draws two divisors or more, one loss or both."""
    from mnistrepro.analysis.scale_grid import SCALE_GRID_COLUMNS

    rows = [{"status": "EXPLORATORY", "loss": loss, "divisor": float(d), "pair": "3-5", "steps": 500, "n": 4,
             "escaped": 2, "escape_rate": 0.5, "escape_ci95_low": 0.15, "escape_ci95_high": 0.85, "escape_alpha": 0.01,
             "chance": 0.53, "mean_accuracy": 0.8, "accuracy_ci95_low": 0.7, "accuracy_ci95_high": 0.9,
             "ci_method": "Student t (n < 30)"} for loss in losses for d in divisors]
    path = tmp_path / "scale_grid.csv"
    pd.DataFrame(rows, columns=SCALE_GRID_COLUMNS).to_csv(path, index=False)
    draw("scale_grid", tmp_path, table=path)
