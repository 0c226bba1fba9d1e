# Figures: one entry of FIGURES a figure, one rule each (figure_<name>), all drawn by scripts/figure.py
# with the function <name> of mnistrepro.outputs.figures, captioned by workflow/report/<name>.rst.
# These jobs take seconds: on a cluster they run on the submitting host (localrule), not in the queue.
# Captions quote numbers through params.facts (see report_facts in common.smk).

FIGURE_DIR = f"{STUDY}/figures"
# The figures of these categories are drawn from logistic regression or the identities alone: as soon as those
# are done (CHEAP_FIRST, common.smk), not after LeNet-5.
EARLY_CATEGORIES = ("Logistic regression", IDENTITIES_CATEGORY)

FIGURES = {
    "logreg_steps": FigureSpec(
        input={"runs": rules.aggregate_logreg.output.runs},
        png="logreg_accuracy_vs_steps.png",
        category="Logistic regression",
        shows="accuracy vs steps",
    ),
    "logreg_distribution": FigureSpec(
        input={"runs": rules.aggregate_logreg.output.runs, "escape": rules.aggregate_logreg.output.escape},
        png="logreg_accuracy_distribution.png",
        category="Logistic regression",
        shows="final accuracy of every run",
    ),
    "pair_difficulty": FigureSpec(
        input={"pairs": rules.aggregate_logreg.output.pairs},
        png="pair_difficulty.png",
        category="Logistic regression",
        shows="45-pair difficulty heatmap",
        drawn=SWEEP["enabled"],
    ),
    "pair_ranks": FigureSpec(
        input={"pairs": rules.aggregate_logreg.output.pairs},
        settings={"main_pair": PAIR},
        png="pair_ranks.png",
        category="Logistic regression",
        shows="hardest pairs: rank intervals",
        drawn=SWEEP["enabled"],
    ),
    "scale_grid": FigureSpec(
        input={"table": rules.scale_grid.output.table} if SCALE_GRID["enabled"] else {},
        png="scale_grid.png",
        category="Logistic regression",
        shows="escape rate and accuracy vs pixel divisor (exploratory)",
        drawn=SCALE_GRID["enabled"],
    ),
    "accuracy_vs_params": FigureSpec(
        input={"runs": rules.aggregate.output.runs, "summary": rules.aggregate.output.summary},
        png="lenet_accuracy_vs_params.png",
        category="LeNet-5",
        shows="accuracy vs trainable parameters",
    ),
    "lenet_epochs": FigureSpec(
        input={"training": lenet_training_files(), "history": lenet_history_files()},
        png="lenet_accuracy_per_epoch.png",
        category="LeNet-5",
        shows="test accuracy per epoch",
    ),
    "lenet_loss": FigureSpec(
        input={"training": lenet_training_files(), "history": lenet_history_files()},
        png="lenet_loss_per_epoch.png",
        category="LeNet-5",
        shows="training and test loss per epoch",
    ),
    "comparisons_forest": FigureSpec(
        input={"comparisons": rules.aggregate.output.comparisons},
        png="comparisons_forest.png",
        category="Data",
        shows="every comparison, with its interval and verdict",
    ),
    "lenet_confusion": FigureSpec(
        input={"evaluations": lenet_evaluation_files()},
        png="lenet_confusion.png",
        category="LeNet-5",
        shows="confusion matrices",
    ),
    "misclassified": FigureSpec(
        input={
            "evaluations": lenet_evaluation_files(seeds=LENET["seeds"][:1]),
            "mnist": rules.idx_to_tensors.output.mnist,
        },
        png="lenet_misclassified.png",
        category="LeNet-5",
        shows="misclassified test digits",
    ),
    "lenet_calibration": FigureSpec(
        input={"evaluations": lenet_evaluation_files()},
        png="lenet_calibration.png",
        category="LeNet-5",
        shows="calibration next to accuracy",
    ),
    "lenet_pair_confusions": FigureSpec(
        input={
            "confusions": rules.exploratory_lenet.output.confusions,
            "ranking": rules.exploratory_lenet.output.ranking,
        },
        png="lenet_pair_confusions.png",
        category="LeNet-5",
        shows="most confused pairs, rankings of two models (exploratory)",
    ),
    "c3_per_epoch": FigureSpec(
        input={"per_epoch": rules.exploratory_lenet.output.per_epoch},
        png="c3_per_epoch.png",
        category="LeNet-5",
        shows="the C3 claim's difference at every epoch (exploratory)",
        drawn=set(LENET["c3"]) >= set(claim_pair("c3")),
    ),
    "train_time": FigureSpec(
        input={"runs": rules.aggregate.output.runs},
        png="train_time.png",
        category="Environment",
        shows="training time per variant",
    ),
    "rule_resources": FigureSpec(
        input={"benchmarks": rules.rule_benchmarks.output.table},
        png="rule_resources.png",
        category="Environment",
        shows="time and peak memory per job",
    ),
    "identities_mnist": FigureSpec(
        input={"mnist": rules.idx_to_tensors.output.mnist},
        settings={
            "index": config["identities"]["figure_index"],
            "pool_size": config["identities"]["figure_pool_size"],
        },
        png="identities_mnist.png",
        category=IDENTITIES_CATEGORY,
        shows="finite differences, average pooling",
    ),
    "identities_rgb": FigureSpec(
        input={},
        settings={"sample": config["identities"]["rgb_sample"]},
        png="identities_rgb.png",
        category=IDENTITIES_CATEGORY,
        shows="RGB to grayscale",
    ),
}

# The figures under the home page's claims table, embedded in it: only when a report is built, since the config
# rides along into every job.
config["glance_figures"] = (
    embedded_figures(FIGURE_DIR, drawn_figures()) if config["facts"] is not None and report_requested(sys.argv) else []
)


for name, spec in drawn_figures().items():

    rule:
        name:
            f"figure_{name}"
        input:
            **spec.input,
        output:
            report(
                f"{FIGURE_DIR}/{spec.png}",
                caption=f"../report/{name}.rst",
                category=spec.category,
                labels={"result": "figure", "shows": spec.shows},
            ),
        log:
            f"{LOGS}/results/figure_{name}.log",
        benchmark:
            f"{BENCHMARKS}/results/figure_{name}.tsv"
        priority: CHEAP_FIRST if spec.category in EARLY_CATEGORIES else 0
        localrule: True
        params:
            plot=name,
            settings=spec.settings,
            facts=report_facts,
        script:
            "../../scripts/figure.py"
