"""The study's figures, drawn with seaborn in one style (:func:`theme`, :func:`save`).

A figure is one function here, registered in :data:`PLOTS` with :func:`figure` under its name, and one entry
of the same name in FIGURES of workflow/rules/figures.smk (the figure's rule, input files and caption), whose
rule calls it through scripts/figure.py with the rule's named input files and settings as keyword arguments
and saves the Figure it returns.
Accuracies are plotted in percent.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import functools  # noqa: E402
from typing import Callable, Sequence  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from mnistrepro.experiments import identities as ident  # noqa: E402
from mnistrepro.outputs.aggregate import lenet_history  # noqa: E402
from mnistrepro.report import figures as words  # noqa: E402
from mnistrepro.report.numbers import pair_label  # noqa: E402
from mnistrepro.study.choices import C3_VARIANTS, LOSS_VARIANTS, SCALING_VARIANTS, variant_label  # noqa: E402
from mnistrepro.study.io import read_json  # noqa: E402

DPI = 120


def c3_labels(c3: pd.Series) -> tuple[pd.Series, list[str]]:
    """The C3 kinds of ``c3`` by their registry labels, and the labels in the registry's order (a hue order)."""
    present = set(c3)
    return c3.map(lambda kind: variant_label("c3", kind)), [v.label for k, v in C3_VARIANTS.items() if k in present]


def logreg_variant(loss: pd.Series, scaling: pd.Series) -> pd.Series:
    """``MSE, raw pixels``: a logistic-regression variant by its loss's short name and its scaling's label."""
    return (loss.map(lambda name: LOSS_VARIANTS[name].short) + ", "
            + scaling.map(lambda name: SCALING_VARIANTS[name].label))


# The plotting functions, by figure name (the ``plot`` param of a figure's rule).
PLOTS: dict[str, Callable[..., plt.Figure]] = {}


def figure(plot: Callable[..., plt.Figure]) -> Callable[..., plt.Figure]:
    """Register ``plot`` in :data:`PLOTS` under its own name, the name its rule's ``plot`` param gives; it draws
    in the study's :func:`theme`."""

    @functools.wraps(plot)
    def draw(*args, **kwargs) -> plt.Figure:
        theme()
        return plot(*args, **kwargs)

    PLOTS[plot.__name__] = draw
    return draw


def theme() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.15)


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(fig)


def _load_mnist(path) -> dict[str, torch.Tensor]:
    # Imported here: mnistrepro.data.tensors pulls in torchvision (1-2 s), which only the figures of MNIST images need.
    from mnistrepro.data.tensors import load_mnist

    return load_mnist(path)


def _percent(df: pd.DataFrame, column: str = "test_accuracy") -> pd.DataFrame:
    df = df.copy()
    df["test accuracy (%)"] = 100 * df[column]
    return df


def pair_title(runs: pd.DataFrame) -> str:
    """The digit pair of the runs, as titles write it ("3 vs 5"); the main grid runs one pair (``runs.pair``)."""
    return pair_label(runs["pair"].iloc[0])


@figure
def accuracy_vs_params(runs, summary) -> plt.Figure:
    """LeNet-5 variants: every seed as a point (from runs.csv), the mean with its 95% CI (from
    summary.csv), against trainable parameters."""
    runs, summary = pd.read_csv(runs), pd.read_csv(summary)
    lenet = _percent(runs[runs["experiment"] == "lenet"])
    lenet = lenet[lenet["epochs"] == lenet["epochs"].max()]
    intervals = summary[(summary["experiment"] == "lenet") & (summary["epochs"] == lenet["epochs"].max())]
    methods = intervals.set_index("c3")["ci_method"].to_dict() if "ci_method" in intervals else {}
    intervals = intervals.set_index("c3")[["mean", "ci95_low", "ci95_high"]] * 100
    fig, ax = plt.subplots(figsize=(7, 5))
    kinds = [k for k in C3_VARIANTS if k in set(lenet["c3"])]
    palette = dict(zip(kinds, sns.color_palette(n_colors=len(kinds))))
    for c3, group in lenet.groupby("c3"):
        params = group["trainable_params"].iloc[0]
        mean, low, high = intervals.loc[c3]
        ax.scatter(np.full(len(group), params), group["test accuracy (%)"], color=palette[c3], alpha=0.5, s=40,
                   label=words.seeds_label(variant_label("c3", c3), len(group)))
        yerr = None if np.isnan(low) else [[mean - low], [high - mean]]
        method = str(methods.get(c3, "")).split(" (")[0]
        ax.errorbar([params], [mean], yerr=yerr, fmt="D", color=palette[c3], capsize=8, markersize=9,
                    label=words.mean_interval_label(variant_label("c3", c3), method, len(group)))
    ax.set_xlim(lenet["trainable_params"].min() - 500, lenet["trainable_params"].max() + 500)
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("LeNet-5: test accuracy vs trainable parameters")
    ax.legend(fontsize=9)
    return fig


@figure
def lenet_epochs(training: Sequence, history: Sequence) -> plt.Figure:
    """Test accuracy per epoch, mean over seeds with a min-max band, per C3 variant, from each run's
    training.json and history.csv (in the same order)."""
    history = lenet_history((read_json(t), pd.read_csv(h)) for t, h in zip(training, history, strict=True))
    history["C3"], order = c3_labels(history["c3"])
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.lineplot(data=_percent(history), x="epoch", y="test accuracy (%)", hue="C3", hue_order=order,
                 errorbar=("pi", 100), marker="o", ax=ax)
    ax.set_title("LeNet-5: test accuracy per epoch (line: mean; band: min-max over seeds)")
    ax.set_xlabel("epoch")
    ax.legend(title="C3")
    return fig


@figure
def lenet_loss(training: Sequence, history: Sequence) -> plt.Figure:
    """Training and test loss per epoch, mean over seeds with a min-max band, per C3 variant, from each
    run's training.json and history.csv (in the same order)."""
    history = lenet_history((read_json(t), pd.read_csv(h)) for t, h in zip(training, history, strict=True))
    history["C3"], order = c3_labels(history["c3"])
    loss = history.melt(id_vars=["epoch", "C3", "seed"], value_vars=["train_loss", "test_loss"],
                        var_name="set", value_name="cross-entropy loss")
    loss["set"] = loss["set"].map({"train_loss": "training (mean over the epoch)", "test_loss": "test (after the epoch)"})
    grid = sns.relplot(data=loss, x="epoch", y="cross-entropy loss", hue="C3", hue_order=order, col="set",
                       kind="line", errorbar=("pi", 100), marker="o", height=4.5, aspect=1.1,
                       facet_kws={"sharey": True})
    grid.set(yscale="log")
    grid.set_titles("{col_name}")
    grid.legend.set_title("C3")
    grid.figure.suptitle("LeNet-5: loss per epoch (line: mean; band: min-max over seeds)", y=1.04)
    return grid.figure


def _comparison_label(row: pd.Series) -> str:
    """``a - b`` and, where the table has them, the metric (when it is not accuracy) and the step count or epochs
    the comparison is at."""
    label = f"{row['a']} - {row['b']}"
    if "metric" in row.index and row["metric"] not in ("test_accuracy", None) and not pd.isna(row["metric"]):
        label += f" ({row['metric'].replace('_', ' ')})"  # e.g. the calibration comparison: ECE, not accuracy
    if "steps" in row.index and not pd.isna(row["steps"]):
        label += f", {int(row['steps']):,} steps"
    elif "epochs" in row.index and not pd.isna(row["epochs"]):
        label += f", {int(row['epochs'])} epochs"
    return label


@figure
def comparisons_forest(comparisons) -> plt.Figure:
    """Every row of comparisons.csv: the difference a - b in test accuracy with its 95% interval, grouped by
    family (the confirmatory families, then the descriptive rows), filled where significant after Holm's
    adjustment within the family, with the Holm p. Uses only the columns family, comparison, a, b, difference,
    ci95_low, ci95_high, significant, p_holm and p_holm_bound (and steps, epochs where present), so new rows and
    columns need no change."""
    table = pd.read_csv(comparisons)
    group = "family" if "family" in table.columns else "comparison"
    table = table.sort_values(group, kind="stable", ignore_index=True)
    table["significant"] = table["significant"].astype(str).str.lower().isin(["true", "1"])
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.42 * (len(table) + table[group].nunique())))
    labels, y, position, last_group = [], [], 0, None
    for row in table.itertuples(index=False):
        row = pd.Series(row._asdict())
        if row[group] != last_group:  # a header line per group
            labels.append(f"{row[group]}")
            y.append(position)
            position += 1
            last_group = row[group]
        labels.append("    " + _comparison_label(row))
        y.append(position)
        diff, low, high = (100 * row[c] for c in ("difference", "ci95_low", "ci95_high"))
        color = "tab:red" if row["significant"] else "tab:blue"
        # (-1, 1), every possible difference, is mnistrepro.analysis.stats' interval where no test could reject.
        if not (np.isnan(low) or np.isnan(high) or (low <= -100 and high >= 100)):
            ax.plot([low, high], [position, position], color=color, linewidth=2)
        ax.plot(diff, position, "o", markersize=7, color=color, markerfacecolor=color if row["significant"] else "white")
        bound = "p_holm_bound" in row.index and bool(row["p_holm_bound"])
        ax.annotate(words.holm_annotation(float(row["p_holm"]), bound), (1.01, position),
                    xycoords=("axes fraction", "data"), va="center", fontsize=9)
        position += 1
    ax.set_yticks(y, labels)
    for tick, text in zip(ax.get_yticklabels(), labels):
        tick.set_fontweight("normal" if text.startswith("    ") else "bold")
    ax.invert_yaxis()
    ax.axvline(0, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(words.COMPARISONS_XLABEL)
    ax.set_title(words.COMPARISONS_TITLE)
    return fig


@figure
def logreg_steps(runs) -> plt.Figure:
    """Logistic regression: test accuracy vs SGD steps per loss and scaling, with seed bands (runs.csv)."""
    runs = pd.read_csv(runs)
    logreg = _percent(runs[runs["experiment"] == "logreg"]).astype({"steps": int})
    logreg["loss"] = logreg["loss"].map(lambda name: variant_label("loss", name))
    logreg["scaling"] = logreg["scaling"].map(lambda name: variant_label("scaling", name))
    grid = sns.relplot(data=logreg, x="steps", y="test accuracy (%)", hue="loss", col="scaling", kind="line",
                       errorbar=("pi", 100), marker="o", height=4.5, aspect=1.1, facet_kws={"sharey": True})
    for ax, (scaling, group) in zip(grid.axes.flat, logreg.groupby("scaling", sort=True)):
        sns.scatterplot(data=group, x="steps", y="test accuracy (%)", hue="loss", ax=ax, legend=False,
                        alpha=0.35, s=18)
        ax.set_xscale("log")
        ax.set_xlabel("SGD steps (one sample each, log scale)")
        ax.axhline(50, color="grey", linestyle=":", linewidth=1)
    grid.set_titles("{col_name}")
    grid.figure.suptitle(f"Logistic regression, {pair_title(logreg)}: test accuracy vs steps "
                         "(band: min-max over seeds)", y=1.04)
    return grid.figure


@figure
def logreg_distribution(runs, escape) -> plt.Figure:
    """Final test accuracy of every logistic-regression run (runs.csv), one strip per (loss, scaling), with
    the escape threshold, the escape rate of each variant and the reference's single runs (escape.csv)."""
    runs, escape = pd.read_csv(runs), pd.read_csv(escape)
    logreg = runs[runs["experiment"] == "logreg"]
    steps = int(logreg["steps"].max())
    final = _percent(logreg[logreg["steps"] == steps])
    final["variant"] = logreg_variant(final["loss"], final["scaling"])
    order = sorted(final["variant"].unique())
    fig, ax = plt.subplots(figsize=(9, 5.5))
    sns.stripplot(data=final, x="variant", y="test accuracy (%)", order=order, hue="variant", hue_order=order,
                  jitter=0.3, size=3, alpha=0.5, legend=False, ax=ax)
    at = escape[escape["steps"] == steps].copy()
    at["variant"] = logreg_variant(at["loss"], at["scaling"])
    threshold = float(at["threshold"].iloc[0])
    ax.axhline(100 * threshold, color="grey", linestyle="--", linewidth=1, label=words.escape_threshold_label(threshold))
    top = ax.get_ylim()[1]
    for i, variant in enumerate(order):
        row = at[at["variant"] == variant].iloc[0]
        ax.text(i, top, words.escape_annotation(row["escaped"], row["n"], row["escape_ci95_low"], row["escape_ci95_high"]),
                ha="center", va="bottom", fontsize=9)
        if not np.isnan(row["reference_accuracy"]):
            ax.scatter([i], [100 * row["reference_accuracy"]], marker="*", s=250, color="black", zorder=5,
                       label=words.reference_label(row["reference_accuracy"]))
    ax.set_xlabel("")
    ax.set_title(f"Logistic regression, {pair_title(final)}: final test accuracy of every run ({steps:,} steps)",
                 pad=38)
    ax.legend(loc="lower right", fontsize=9)
    return fig


@figure
def scale_grid(table) -> plt.Figure:
    """The exploratory pixel-scale grid (scale_grid.csv): escape rate with its Wilson 95% interval and mean test
    accuracy with its 95% interval, against the pixel divisor (log scale), one line per loss."""
    grid = pd.read_csv(table).sort_values(["loss", "divisor"])
    fig, (rate_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.8), sharex=True)
    palette = dict(zip(LOSS_VARIANTS, sns.color_palette(n_colors=len(LOSS_VARIANTS))))
    panels = [(rate_ax, "escape_rate", "escape_ci95", words.SCALE_GRID_RATE_YLABEL),
              (acc_ax, "mean_accuracy", "accuracy_ci95", "mean test accuracy (%)")]
    for ax, value, interval, ylabel in panels:
        for loss, rows in grid.groupby("loss", sort=True):
            x, y = rows["divisor"], 100 * rows[value]
            ax.plot(x, y, marker="o", color=palette[loss], label=variant_label("loss", loss))
            ax.fill_between(x, 100 * rows[f"{interval}_low"], 100 * rows[f"{interval}_high"], color=palette[loss],
                            alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_xticks(sorted(grid["divisor"].unique()), labels=[f"{d:g}" for d in sorted(grid["divisor"].unique())])
        ax.minorticks_off()
        ax.set_xlabel("pixel values divided by (log scale; 1: raw, 255: unit)")
        ax.set_ylabel(ylabel)
    rate_ax.axhline(50, color="grey", linestyle=":", linewidth=1)
    rate_ax.set_ylim(-3, 103)
    rate_ax.set_title(words.SCALE_GRID_RATE_TITLE)
    acc_ax.set_title(words.SCALE_GRID_ACCURACY_TITLE)
    acc_ax.legend(loc="lower right")
    first = grid.iloc[0]
    fig.suptitle(f"EXPLORATORY: logistic regression, {pair_label(first['pair'])}, "
                 f"{int(first['steps']):,} steps, {int(first['n'])} seeds: pixel scale", y=1.02)
    return fig


@figure
def pair_difficulty(pairs) -> plt.Figure:
    """Mean test accuracy of the logistic loss for every pair of digits (a 10 x 10 symmetric grid), one grid
    per step count of the sweep, from pair_difficulty.csv."""
    table = pd.read_csv(pairs)
    steps = sorted(table["steps"].unique())
    fig, axes = plt.subplots(1, len(steps), figsize=(8 * len(steps), 6.5), squeeze=False)
    for ax, s in zip(axes[0], steps):
        grid = np.full((10, 10), np.nan)
        for row in table[table["steps"] == s].itertuples(index=False):
            grid[row.a, row.b] = grid[row.b, row.a] = 100 * row.mean
        sns.heatmap(pd.DataFrame(grid, index=range(10), columns=range(10)), annot=True, fmt=".1f", cmap="rocket",
                    cbar_kws={"label": "mean test accuracy (%)"}, ax=ax, annot_kws={"size": 8})
        ax.set_xlabel("digit")
        ax.set_ylabel("digit")
        ax.set_title(f"After {s:,} steps (n = {int(table.loc[table['steps'] == s, 'n'].min())} seeds per pair)")
    fig.suptitle(words.PAIR_GRID_TITLE)
    fig.tight_layout()
    return fig


@figure
def pair_ranks(pairs, main_pair: Sequence[int] = (4, 9), top: int = 12) -> plt.Figure:
    """The hardest ``top`` digit pairs of each step count of the sweep (pair_difficulty.csv): each pair's
    rank (1 = hardest) with its 95% bootstrap interval, P(rank 1) beside it; filled: in the 95% confidence
    set of the hardest pair (max-T bootstrap); the main pair in red."""
    table = pd.read_csv(pairs)
    steps = sorted(table["steps"].unique())
    main = f"{main_pair[0]}-{main_pair[1]}"
    fig, axes = plt.subplots(1, len(steps), figsize=(6.5 * len(steps), 0.45 * top + 1.8), squeeze=False)
    for ax, s in zip(axes[0], steps):
        at = table[table["steps"] == s].sort_values("mean").head(top).reset_index(drop=True)
        y = np.arange(len(at))[::-1]
        for yi, row in zip(y, at.itertuples(index=False)):
            colour = "tab:red" if row.pair == main else "tab:blue"
            if not np.isnan(row.rank_low):
                ax.plot([row.rank_low, row.rank_high], [yi, yi], color=colour, linewidth=2)
            filled = str(row.in_hardest_set) in ("True", "1.0")  # NaN where the sweep has too few seeds
            ax.scatter([row.rank], [yi], s=60, color=colour if filled else "white", edgecolor=colour, zorder=3)
            if row.share_rank1 == row.share_rank1 and row.share_rank1 > 0:
                ax.text(at["rank_high"].max() + 0.6, yi, f"share ranked 1st {row.share_rank1:.2f}",
                        va="center", fontsize=8)
        ax.set_yticks(y, [words.pair_mean_label(p, m) for p, m in zip(at["pair"], at["mean"])])
        ax.set_xlabel(words.PAIR_RANKS_XLABEL)
        ax.set_xlim(0.5, at["rank_high"].max() + 3.5 if at["rank_high"].notna().any() else len(at) + 1)
        ax.set_title(f"After {s:,} steps (n = {int(at['n'].min())} seeds per pair)")
    fig.suptitle(words.PAIR_RANKS_TITLE)
    fig.tight_layout()
    return fig


@figure
def lenet_confusion(evaluations: Sequence) -> plt.Figure:
    """Confusion matrices (rows: true digit, columns: predicted), summed over seeds, per variant, from the
    runs' evaluation records (lenet_eval/{c3}/seed{seed}.json)."""
    matrices: dict[str, np.ndarray] = {}
    for path in evaluations:
        m = read_json(path)
        matrices[m["c3"]] = matrices.get(m["c3"], 0) + np.asarray(m["confusion_matrix"])
    fig, axes = plt.subplots(1, len(matrices), figsize=(7 * len(matrices), 6), squeeze=False)
    for ax, (name, matrix) in zip(axes.flat, matrices.items()):
        off = matrix.astype(float).copy()
        np.fill_diagonal(off, np.nan)  # the diagonal dwarfs the errors; annotate it, colour the errors
        sns.heatmap(off, annot=matrix, fmt="d", cmap="Reds", cbar_kws={"label": "errors (off-diagonal)"},
                    ax=ax, annot_kws={"size": 8})
        ax.set_xlabel("predicted digit")
        ax.set_ylabel("true digit")
        ax.set_title(f"LeNet-5, {variant_label('c3', name)}: confusion matrix (all seeds)")
    return fig


@figure
def lenet_calibration(evaluations: Sequence) -> plt.Figure:
    """LeNet-5 calibration next to accuracy, per C3 variant, from the runs' evaluation records (lenet_eval/{c3}/seed{seed}.json).

    Left and middle: test accuracy and expected calibration error of every seed (points) and their mean
    (line). Right: the reliability diagram, test images pooled over seeds: accuracy per confidence bin against
    the bin's mean confidence (the diagonal is perfect calibration; below it, overconfidence).
    """
    evaluations = [read_json(path) for path in evaluations]
    runs = pd.DataFrame([{"c3": e["c3"], "seed": e["seed"], "test accuracy": 100 * e["test_accuracy"],
                          "top-2 accuracy": 100 * e["top2_accuracy"], "ECE": 100 * e["ece"]} for e in evaluations])
    order = [c for c in C3_VARIANTS if c in set(runs["c3"])]
    palette = dict(zip(order, sns.color_palette(n_colors=len(order))))
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
        ax.set_xticks(range(len(order)), [variant_label("c3", c3) for c3 in order])
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
                label=words.calibration_label(variant_label("c3", c3),
                                              float(np.mean([e["ece"] for e in evaluations if e["c3"] == c3]))))
    ax.plot([0, 100], [0, 100], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    ax.set_xlabel("mean confidence in bin (%)")
    ax.set_ylabel("accuracy in bin (%)")
    ax.set_title(f"reliability diagram ({len(bins[0]['count'])} bins, seeds pooled)")
    ax.legend(fontsize=9)
    fig.suptitle("LeNet-5: calibration next to accuracy")
    fig.tight_layout()
    return fig


@figure
def misclassified(evaluations: Sequence, mnist, per_variant: int = 20, columns: int = 10) -> plt.Figure:
    """The first ``per_variant`` misclassified test digits of each run (its evaluation record), with their true
    and predicted labels, read from mnist.pt."""
    test = _load_mnist(mnist)
    digits, true, predicted, titles = [], [], [], []
    for path in evaluations:
        m = read_json(path)
        index = m["misclassified_test_indices"][:per_variant]
        digits.append(test["test_images"][index])
        true += test["test_labels"][index].tolist()
        predicted += m["misclassified_predicted"][:per_variant]
        titles.append(f"{variant_label('c3', m['c3'])} seed {m['seed']}: {len(m['misclassified_test_indices'])} errors")
    images = torch.cat(digits)
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.55 * rows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].numpy(), cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(f"true {true[i]}\npred {predicted[i]}", fontsize=9)
    fig.suptitle("LeNet-5 misclassified test digits (the first of each run)\n" + "; ".join(titles), fontsize=12)
    fig.tight_layout()
    return fig


@figure
def train_time(runs) -> plt.Figure:
    """Training seconds per variant (points: seeds; bars: mean), from runs.csv."""
    df = pd.read_csv(runs)
    # Logistic regression at its own last step count (the sweep's may be another).
    logreg = df[df["experiment"] == "logreg"]
    df = df[(df["experiment"] == "lenet") | ((df["experiment"] == "logreg") & (df["steps"] == logreg["steps"].max()))]
    lenet = df["experiment"] == "lenet"
    df["variant"] = ""
    df.loc[lenet, "variant"] = "LeNet-5 " + df.loc[lenet, "c3"].map(lambda c3: variant_label("c3", c3))
    df.loc[~lenet, "variant"] = logreg_variant(df.loc[~lenet, "loss"], df.loc[~lenet, "scaling"])
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


@figure
def rule_resources(benchmarks, top: int = 25) -> plt.Figure:
    """Wall time and peak memory (RSS) of the slowest jobs, from rule_benchmarks.csv (slowest first)."""
    df = pd.read_csv(benchmarks).head(top)
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


# Experiment C: what the convolution operators of mnistrepro.experiments.identities do.


def _show(fig: plt.Figure, ax, img: np.ndarray, title: str, *, cmap: str, vmin: float, vmax: float) -> None:
    """``img`` on ``ax``, pixel for pixel, with a colour bar (no grid: it would hide the pixels)."""
    im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.grid(False)
    ax.set_title(title)
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


@figure
def identities_mnist(mnist, index: int = 0, pool_size: int = 4) -> plt.Figure:
    """MNIST test image ``index`` (from mnist.pt), its two finite-difference maps and its ``pool_size``
    average-pooled version.

    Every map is computed by the convolution of :mod:`mnistrepro.experiments.identities` (float64, pixels / 255)
    and shown on its valid region: Y1 ``[H-1, W]``, Y2 ``[H, W-1]``, pooled ``[H // k, W // k]``.
    """
    test = _load_mnist(mnist)
    image, label = test["test_images"][index], int(test["test_labels"][index])
    x = image.to(torch.float64).reshape(1, 1, *image.shape[-2:]) / 255.0
    h, w = x.shape[-2:]
    with torch.no_grad():
        d = ident.finite_difference_conv()(x)[0]
        pooled = ident.avg_pool_conv(1, pool_size)(x)[0, 0]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.6), layout="constrained")
    _show(fig, axes[0], x[0, 0].numpy(), f"MNIST test image {index} (label {label})\nX (pixels / 255)",
          cmap="gray_r", vmin=0, vmax=1)
    _show(fig, axes[1], d[0, : h - 1, :].numpy(), "Y1[i,j] = X[i+1,j] − X[i,j]\n(conv channel 0: row differences)",
          cmap="RdBu_r", vmin=-1, vmax=1)
    _show(fig, axes[2], d[1, :, : w - 1].numpy(), "Y2[i,j] = X[i,j+1] − X[i,j]\n(conv channel 1: column differences)",
          cmap="RdBu_r", vmin=-1, vmax=1)
    _show(fig, axes[3], pooled.numpy(), f"{pool_size}×{pool_size} average pool, stride {pool_size}\n"
          f"(depthwise conv, {pooled.shape[0]}×{pooled.shape[1]})", cmap="gray_r", vmin=0, vmax=1)
    fig.suptitle("Finite differences and average pooling computed as convolutions", fontsize="x-large")
    return fig


@figure
def identities_rgb(sample: str = "grace_hopper.jpg") -> plt.Figure:
    """An RGB photo of matplotlib's sample data and its grayscale version from the 1x1 convolution."""
    rgb, path = ident.load_sample_rgb(sample)
    x = ident.rgb_hwc_to_nchw(rgb)
    with torch.no_grad():
        gray = ident.grayscale_conv()(x)[0, 0].numpy()
    err = ident.check_grayscale(x)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.6), layout="constrained")
    axes[0].imshow(x[0].permute(1, 2, 0).numpy(), interpolation="nearest")
    axes[0].grid(False)
    axes[0].set_title(f"{path.name}: R, G, B ({x.shape[2]}×{x.shape[3]})")
    axes[0].set_xlabel("column j")
    axes[0].set_ylabel("row i")
    _show(fig, axes[1], gray, "1×1 conv, weights [0.299, 0.587, 0.114]", cmap="gray", vmin=0, vmax=1)
    fig.suptitle(f"RGB to grayscale as a 1×1 convolution (max |conv − formula| = {err.max_abs_error:.1e})",
                 fontsize="x-large")
    return fig


# Exploratory looks at the LeNet-5 runs (mnistrepro.analysis.exploratory): they describe, and test nothing.


@figure
def lenet_pair_confusions(confusions, ranking, top: int = 12) -> plt.Figure:
    """Left: the ``top`` digit pairs LeNet-5 confuses most over all runs of both C3 kinds (lenet_pair_confusions.csv),
    each rate with its 95% bootstrap interval over seeds. Then one panel per step count of the sweep
    (pair_ranking_models.csv): every shared pair's rank by LeNet-5 (1 = most confused) against its rank by logistic
    regression (1 = lowest accuracy), the Spearman correlation in the title. Without the sweep, the left panel alone."""
    confusions, ranking = pd.read_csv(confusions), pd.read_csv(ranking)
    steps = sorted(ranking["steps"].unique())
    fig, axes = plt.subplots(1, 1 + len(steps), figsize=(7 + 5.5 * len(steps), 0.4 * top + 2.2), squeeze=False)
    ax = axes[0, 0]
    both = confusions[confusions["c3"] == "both"].sort_values("rank").head(top).reset_index(drop=True)
    y = np.arange(len(both))[::-1]
    rate, low, high = (100 * both[c].to_numpy(dtype=float) for c in ("rate", "ci95_low", "ci95_high"))
    has_interval = ~np.isnan(low)
    ax.errorbar(rate[has_interval], y[has_interval], xerr=[rate[has_interval] - low[has_interval],
                high[has_interval] - rate[has_interval]], fmt="o", color="tab:purple", capsize=4)
    ax.plot(rate[~has_interval], y[~has_interval], "o", color="tab:purple")
    ax.set_yticks(y, [pair_label(p) for p in both["pair"]])
    ax.set_xlabel(words.CONFUSIONS_XLABEL)
    n_seeds = int(both["n_seeds"].iloc[0]) if len(both) else 0
    ax.set_title(f"LeNet-5: most confused pairs ({n_seeds} seeds, both C3 kinds)")
    for ax, s in zip(axes[0, 1:], steps):
        at = ranking[ranking["steps"] == s]
        ax.scatter(at["logreg_rank"], at["lenet_rank"], color="tab:blue", s=35)
        for row in at[(at["lenet_rank"] <= 3) | (at["logreg_rank"] <= 3)].itertuples(index=False):
            ax.annotate(pair_label(row.pair), (row.logreg_rank, row.lenet_rank), fontsize=8,
                        xytext=(4, 3), textcoords="offset points")
        n = len(at)
        ax.plot([1, n], [1, n], color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("logistic regression rank (1 = lowest accuracy)")
        ax.set_ylabel("LeNet-5 rank (1 = most confused)")
        first = at.iloc[0]
        ax.set_title(words.spearman_title(s, float(first["spearman"]), float(first["spearman_ci95_low"]),
                                          float(first["spearman_ci95_high"]), n))
    fig.suptitle(words.CONFUSIONS_TITLE)
    fig.tight_layout()
    return fig


@figure
def c3_per_epoch(per_epoch) -> plt.Figure:
    """The C3 claim's paired difference ``a - b`` in test accuracy after every epoch (c3_per_epoch.csv), in
    percentage points, with its 95% interval as a band and a zero line: looks at the same runs, so it describes
    their course."""
    table = pd.read_csv(per_epoch)
    difference = f"{table['a'].iloc[0]} - {table['b'].iloc[0]}"
    fig, ax = plt.subplots(figsize=(8, 5))
    epoch = table["epoch"].to_numpy()
    diff, low, high = (100 * table[c].to_numpy(dtype=float) for c in ("difference", "ci95_low", "ci95_high"))
    # (-1, 1), every possible difference, is mnistrepro.analysis.stats' interval where no sign pattern could reject: no
    # band.
    bounded = ~np.isnan(low) & ~((low <= -100) & (high >= 100))
    ax.fill_between(epoch, np.where(bounded, low, np.nan), np.where(bounded, high, np.nan), color="tab:blue",
                    alpha=0.25, label="95% interval (the final comparison's method)")
    ax.plot(epoch, diff, "o-", color="tab:blue", label=f"mean {difference} (n = {int(table['n_pairs'].min())} pairs)")
    ax.axhline(0, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel(words.per_epoch_ylabel(difference))
    ax.set_xticks(epoch)
    ax.set_title(words.per_epoch_title(difference))
    ax.legend(fontsize=9)
    return fig
