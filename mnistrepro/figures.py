"""The study's figures, drawn with seaborn from the aggregated tables.

Each function takes tables (pandas) or tensors and returns a matplotlib Figure; the scripts save
them. Accuracies are plotted in percent.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402


DPI = 120
C3_ORDER = ["sparse", "full"]


def theme() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.15)


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(fig)


def _percent(df: pd.DataFrame, column: str = "test_accuracy") -> pd.DataFrame:
    df = df.copy()
    df["test accuracy (%)"] = 100 * df[column]
    return df


def pair_title(runs: pd.DataFrame) -> str:
    """The digit pair of the runs, as titles write it ("3 vs 5"); the main grid runs one pair (``runs.pair``)."""
    return " vs ".join(runs["pair"].iloc[0].split("-"))


def accuracy_vs_params(runs: pd.DataFrame, summary: pd.DataFrame) -> plt.Figure:
    """LeNet-5 variants: every seed as a point, the mean with its 95% CI (from ``summary``), against
    trainable parameters."""
    theme()
    lenet = _percent(runs[runs["experiment"] == "lenet"])
    lenet = lenet[lenet["epochs"] == lenet["epochs"].max()]
    intervals = summary[(summary["experiment"] == "lenet") & (summary["epochs"] == lenet["epochs"].max())]
    intervals = intervals.set_index("c3")[["mean", "ci95_low", "ci95_high"]] * 100
    fig, ax = plt.subplots(figsize=(7, 5))
    palette = dict(zip(C3_ORDER, sns.color_palette(n_colors=len(C3_ORDER))))
    for c3, group in lenet.groupby("c3"):
        params = group["trainable_params"].iloc[0]
        mean, low, high = intervals.loc[c3]
        ax.scatter(np.full(len(group), params), group["test accuracy (%)"], color=palette[c3], alpha=0.5, s=40,
                   label=f"{c3} C3: seeds (n = {len(group)})")
        yerr = None if np.isnan(low) else [[mean - low], [high - mean]]
        ax.errorbar([params], [mean], yerr=yerr, fmt="D", color=palette[c3], capsize=8, markersize=9,
                    label=f"{c3} C3: mean, 95% CI")
    ax.set_xlim(lenet["trainable_params"].min() - 500, lenet["trainable_params"].max() + 500)
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("LeNet-5: test accuracy vs trainable parameters")
    ax.legend(fontsize=9)
    return fig


def lenet_epochs(history: pd.DataFrame) -> plt.Figure:
    """Test accuracy per epoch, mean over seeds with a min-max band, per C3 variant."""
    theme()
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.lineplot(data=_percent(history), x="epoch", y="test accuracy (%)", hue="c3", hue_order=C3_ORDER,
                 errorbar=("pi", 100), marker="o", ax=ax)
    ax.set_title("LeNet-5: test accuracy per epoch (line: mean; band: min-max over seeds)")
    ax.set_xlabel("epoch")
    ax.legend(title="C3")
    return fig


def logreg_steps(runs: pd.DataFrame) -> plt.Figure:
    """Logistic regression: test accuracy vs SGD steps per loss and scaling, with seed bands."""
    theme()
    logreg = _percent(runs[runs["experiment"] == "logreg"]).astype({"steps": int})
    logreg["loss"] = logreg["loss"].map({"mse": "MSE on sigmoid", "ce": "logistic (CE)"})
    grid = sns.relplot(data=logreg, x="steps", y="test accuracy (%)", hue="loss", col="scaling", kind="line",
                       errorbar=("pi", 100), marker="o", height=4.5, aspect=1.1, facet_kws={"sharey": True})
    for ax, (scaling, group) in zip(grid.axes.flat, logreg.groupby("scaling", sort=True)):
        sns.scatterplot(data=group, x="steps", y="test accuracy (%)", hue="loss", ax=ax, legend=False,
                        alpha=0.35, s=18)
        ax.set_xscale("log")
        ax.set_xlabel("SGD steps (one sample each, log scale)")
        ax.axhline(50, color="grey", linestyle=":", linewidth=1)
    grid.set_titles("pixels: {col_name}")
    grid.figure.suptitle(f"Logistic regression, {pair_title(logreg)}: test accuracy vs steps "
                         "(band: min-max over seeds)", y=1.04)
    return grid.figure


def logreg_distribution(runs: pd.DataFrame, escape: pd.DataFrame) -> plt.Figure:
    """Final test accuracy of every logistic-regression run, one strip per (loss, scaling), with the
    escape threshold, the escape rate of each variant and the reference's single runs."""
    theme()
    logreg = runs[runs["experiment"] == "logreg"]
    steps = int(logreg["steps"].max())
    final = _percent(logreg[logreg["steps"] == steps])
    final["variant"] = final["loss"].map({"mse": "MSE", "ce": "logistic"}) + ", " + final["scaling"] + " pixels"
    order = sorted(final["variant"].unique())
    fig, ax = plt.subplots(figsize=(9, 5.5))
    sns.stripplot(data=final, x="variant", y="test accuracy (%)", order=order, hue="variant", hue_order=order,
                  jitter=0.3, size=3, alpha=0.5, legend=False, ax=ax)
    at = escape[escape["steps"] == steps].copy()
    at["variant"] = at["loss"].map({"mse": "MSE", "ce": "logistic"}) + ", " + at["scaling"] + " pixels"
    threshold = 100 * float(at["threshold"].iloc[0])
    ax.axhline(threshold, color="grey", linestyle="--", linewidth=1,
               label=f"escape threshold {threshold:.1f}% (valley between the modes)")
    top = ax.get_ylim()[1]
    for i, variant in enumerate(order):
        row = at[at["variant"] == variant].iloc[0]
        ax.text(i, top, f"escaped {row['escaped']}/{row['n']}\n({100 * row['escape_ci95_low']:.0f}-"
                f"{100 * row['escape_ci95_high']:.0f}%)", ha="center", va="bottom", fontsize=9)
        if not np.isnan(row["reference_accuracy"]):
            ax.scatter([i], [100 * row["reference_accuracy"]], marker="*", s=250, color="black", zorder=5,
                       label=f"reference's single run ({100 * row['reference_accuracy']:.2f}%)")
    ax.set_xlabel("")
    ax.set_title(f"Logistic regression, {pair_title(final)}: final test accuracy of every run ({steps:,} steps)",
                 pad=38)
    ax.legend(loc="lower right", fontsize=9)
    return fig


def pair_heatmap(pairs: pd.DataFrame) -> plt.Figure:
    """Mean test accuracy of the logistic loss for every pair of digits (a 10 x 10 symmetric grid)."""
    theme()
    grid = np.full((10, 10), np.nan)
    for row in pairs.itertuples(index=False):
        grid[row.a, row.b] = grid[row.b, row.a] = 100 * row.mean
    fig, ax = plt.subplots(figsize=(8, 6.5))
    sns.heatmap(pd.DataFrame(grid, index=range(10), columns=range(10)), annot=True, fmt=".1f", cmap="rocket",
                cbar_kws={"label": "mean test accuracy (%)"}, ax=ax, annot_kws={"size": 8})
    ax.set_xlabel("digit")
    ax.set_ylabel("digit")
    ax.set_title("Which digit pairs are hardest? Logistic loss, mean over seeds")
    return fig


def confusion(matrices: dict[str, np.ndarray]) -> plt.Figure:
    """Confusion matrices (rows: true digit, columns: predicted), summed over seeds, per variant."""
    theme()
    fig, axes = plt.subplots(1, len(matrices), figsize=(7 * len(matrices), 6), squeeze=False)
    for ax, (name, matrix) in zip(axes.flat, matrices.items()):
        off = matrix.astype(float).copy()
        np.fill_diagonal(off, np.nan)  # the diagonal dwarfs the errors; annotate it, colour the errors
        sns.heatmap(off, annot=matrix, fmt="d", cmap="Reds", cbar_kws={"label": "errors (off-diagonal)"},
                    ax=ax, annot_kws={"size": 8})
        ax.set_xlabel("predicted digit")
        ax.set_ylabel("true digit")
        ax.set_title(f"LeNet-5, {name} C3: confusion matrix (all seeds)")
    return fig


def calibration(evaluations: list[dict]) -> plt.Figure:
    """LeNet-5 calibration next to accuracy, per C3 variant, from the runs' evaluation records.

    Left and middle: test accuracy and expected calibration error of every seed (points) and their mean
    (line). Right: the reliability diagram, test images pooled over seeds: accuracy per confidence bin against
    the bin's mean confidence (the diagonal is perfect calibration; below it, overconfidence).
    """
    theme()
    runs = pd.DataFrame([{"c3": e["c3"], "seed": e["seed"], "test accuracy": 100 * e["test_accuracy"],
                          "top-2 accuracy": 100 * e["top2_accuracy"], "ECE": 100 * e["ece"]} for e in evaluations])
    order = [c for c in C3_ORDER if c in set(runs["c3"])]
    palette = dict(zip(C3_ORDER, sns.color_palette(n_colors=len(C3_ORDER))))
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [1, 1, 1.4]})
    for ax, column in zip(axes[:2], ["test accuracy", "ECE"]):
        # A line at the mean, not a bar: the axis does not start at 0 (accuracies sit near 99%).
        sns.stripplot(data=runs, x="c3", y=column, order=order, hue="c3", palette=palette, size=7, ax=ax,
                      legend=False)
        for i, c3 in enumerate(order):
            ax.hlines(runs.loc[runs["c3"] == c3, column].mean(), i - 0.3, i + 0.3, color=palette[c3], linewidth=3)
        low, high = runs[column].min(), runs[column].max()
        pad = max(high - low, 0.1)
        ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad))
        ax.set_xlabel("C3")
        ax.set_ylabel(f"{column} (%)")
        ax.set_title(f"{column} per seed (line: mean)")
    ax = axes[2]
    for c3 in order:
        bins = [e["calibration_bins"] for e in evaluations if e["c3"] == c3]
        count = np.sum([b["count"] for b in bins], axis=0)
        # Pool the seeds: sum correct and confidence per bin, divide by the pooled count.
        correct = np.sum([[a * k if k else 0.0 for a, k in zip(b["accuracy"], b["count"])] for b in bins], axis=0)
        conf = np.sum([[c * k if k else 0.0 for c, k in zip(b["confidence"], b["count"])] for b in bins], axis=0)
        keep = count > 0
        ax.plot(100 * conf[keep] / count[keep], 100 * correct[keep] / count[keep], marker="o", color=palette[c3],
                label=f"{c3} C3 (mean ECE {runs.loc[runs['c3'] == c3, 'ECE'].mean():.2f}%)")
    ax.plot([0, 100], [0, 100], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    ax.set_xlabel("mean confidence in bin (%)")
    ax.set_ylabel("accuracy in bin (%)")
    ax.set_title(f"reliability diagram ({len(bins[0]['count'])} bins, seeds pooled)")
    ax.legend(fontsize=9)
    fig.suptitle("LeNet-5: calibration next to accuracy")
    fig.tight_layout()
    return fig


def misclassified_grid(images: torch.Tensor, true: list, predicted: list, title: str, columns: int = 10) -> plt.Figure:
    """A grid of test digits with their true and predicted labels. ``images``: uint8 ``[N, 28, 28]``."""
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.55 * rows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].numpy(), cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(f"true {true[i]}\npred {predicted[i]}", fontsize=9)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def train_time(runs: pd.DataFrame) -> plt.Figure:
    """Training seconds per variant (points: seeds; bars: mean)."""
    theme()
    df = runs.copy()
    df = df[(df["experiment"] == "lenet") | ((df["experiment"] == "logreg") & (df["steps"] == df["steps"].max()))]
    df["variant"] = np.where(df["experiment"] == "lenet", "LeNet-5 " + df["c3"].astype(str) + " C3",
                             "logreg " + df["loss"].astype(str) + "/" + df["scaling"].astype(str))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 2]})
    for ax, (experiment, group) in zip(axes, [("LeNet-5", df[df["experiment"] == "lenet"]),
                                              ("logistic regression", df[df["experiment"] == "logreg"])]):
        if group.empty:
            ax.set_visible(False)
            continue
        sns.barplot(data=group, x="variant", y="train_seconds", errorbar=None, alpha=0.5, ax=ax)
        sns.stripplot(data=group, x="variant", y="train_seconds", color="black", size=5, ax=ax)
        ax.set_xlabel("")
        ax.set_ylabel("training time (s)")
        ax.set_title(f"{experiment}: training time per run")
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def rule_resources(benchmarks: pd.DataFrame, top: int = 25) -> plt.Figure:
    """Wall time and peak memory (RSS) of the slowest jobs."""
    theme()
    df = benchmarks.head(top)
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.32 * len(df) + 1.8), sharey=True)
    sns.barplot(data=df, y="job", x="seconds", hue="rule_group", dodge=False, ax=axes[0])
    sns.barplot(data=df, y="job", x="max_rss_mb", hue="rule_group", dodge=False, ax=axes[1], legend=False)
    axes[0].set_xlabel("wall time (s)")
    axes[1].set_xlabel("peak memory, RSS (MB)")
    axes[0].set_ylabel("")
    axes[0].legend(title="rule group", fontsize=9)
    fig.suptitle(f"Time and peak memory per job (the {len(df)} slowest)")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Rule name -> figure, from the rule's named input files.


def _lenet_epochs(input) -> plt.Figure:
    from mnistrepro.aggregate import lenet_history
    from mnistrepro.io import read_json

    return lenet_epochs(lenet_history((read_json(t), pd.read_csv(h)) for t, h in zip(input.training, input.history)))


def _lenet_confusion(input) -> plt.Figure:
    from mnistrepro.io import read_json

    matrices: dict[str, np.ndarray] = {}
    for path in input.evaluations:
        m = read_json(path)
        matrices[m["c3"]] = matrices.get(m["c3"], 0) + np.asarray(m["confusion_matrix"])
    return confusion(matrices)


def _lenet_calibration(input) -> plt.Figure:
    from mnistrepro.io import read_json

    return calibration([read_json(path) for path in input.evaluations])


def _misclassified(input, per_variant: int = 20) -> plt.Figure:
    from mnistrepro.data import load_mnist
    from mnistrepro.io import read_json

    test = load_mnist(input.mnist)
    images, true, predicted, titles = [], [], [], []
    for path in input.evaluations:
        m = read_json(path)
        index = m["misclassified_test_indices"][:per_variant]
        images.append(test["test_images"][index])
        true += test["test_labels"][index].tolist()
        predicted += m["misclassified_predicted"][:per_variant]
        titles.append(f"{m['c3']} C3 seed {m['seed']}: {len(m['misclassified_test_indices'])} errors")
    return misclassified_grid(torch.cat(images), true, predicted,
                              "LeNet-5 misclassified test digits (the first of each run)\n" + "; ".join(titles))


FIGURES = {
    "figure_logreg_steps": lambda input: logreg_steps(pd.read_csv(input.runs)),
    "figure_pair_difficulty": lambda input: pair_heatmap(pd.read_csv(input.pairs)),
    "figure_logreg_distribution": lambda input: logreg_distribution(pd.read_csv(input.runs), pd.read_csv(input.escape)),
    "figure_accuracy_vs_params": lambda input: accuracy_vs_params(pd.read_csv(input.runs), pd.read_csv(input.summary)),
    "figure_train_time": lambda input: train_time(pd.read_csv(input.runs)),
    "figure_lenet_epochs": _lenet_epochs,
    "figure_lenet_confusion": _lenet_confusion,
    "figure_lenet_calibration": _lenet_calibration,
    "figure_misclassified": _misclassified,
    "figure_rule_resources": lambda input: rule_resources(pd.read_csv(input.benchmarks)),
}
