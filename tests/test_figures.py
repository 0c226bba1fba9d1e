"""The loss-per-epoch and forest figures, drawn from tables shaped like the default study's and unlike it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mnistrepro.figures import FIGURES, save


def default_shaped_comparisons() -> pd.DataFrame:
    """comparisons.csv as the default config writes it: sparse vs full C3 over 3 seeds (no interval), and
    at 5 step counts logistic vs MSE loss per scaling and unit vs raw pixels, 200 seeds each."""
    rng = np.random.default_rng(0)
    rows = [{"comparison": "C3 connection table", "a": "sparse C3", "b": "full C3", "epochs": 10, "n_a": 3, "n_b": 3,
             "difference": -0.002, "ci95_low": -1.0, "ci95_high": 1.0,  # mnistrepro.stats: no bound possible "p_value": 0.25, "p_holm": 0.25,
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
    save(FIGURES[name](**inputs), path)
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
    """Shaped like the default study (3 seeds, 10 epochs) and like a one-epoch test config."""
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
