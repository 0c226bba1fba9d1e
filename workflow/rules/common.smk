# Checks the JSON schema cannot express, then the names and functions shared by the rule files.
from mnistrepro.config import check_config
from mnistrepro.device import will_use_gpu
from mnistrepro.io import read_facts

check_config(config)

DATA = "results/data"
PAIR = config["pair"]
LOGREG = config["logreg"]
SWEEP = config["pair_sweep"]
LENET = config["lenet"]
# The sweep's digit pairs, (smaller, larger): the first digit is labelled -1, the second +1.
SWEEP_PAIRS = (
    [(a, b) for a in range(10) for b in range(a + 1, 10)]
    if SWEEP["pairs"] is None
    else sorted({tuple(sorted(p)) for p in SWEEP["pairs"]})
)
FACTS = "results/tables/facts.json"
LENET_GPU = 1 if will_use_gpu(config["device"]) else 0


def data_targets():
    return [f"{DATA}/mnist.pt", f"{DATA}/pair_{PAIR[0]}_{PAIR[1]}.pt"]


def identities_targets():
    return ["results/tables/identities.csv", "results/figures/identities_mnist.png", "results/figures/identities_rgb.png"]


def logreg_main_files():
    """Every run record of the main logistic-regression grid (loss x scaling x seed)."""
    return expand(
        "results/logreg/main/{loss}_{scaling}/seed{seed}.json",
        loss=LOGREG["losses"], scaling=LOGREG["scalings"], seed=LOGREG["seeds"],
    )


def logreg_sweep_files():
    """Every run record of the 45-pair sweep (none when pair_sweep.enabled is false)."""
    if not SWEEP["enabled"]:
        return []
    return [
        f"results/logreg/sweep/pair_{a}_{b}/seed{seed}.json" for a, b in SWEEP_PAIRS for seed in SWEEP["seeds"]
    ]


def lenet_run_files(name, seeds=None):
    """One file (``metrics.json``, ``history.csv`` or ``model.pt``) of every LeNet-5 run."""
    return expand(
        "results/lenet/{c3}/seed{seed}/{name}", c3=LENET["c3"], seed=seeds or LENET["seeds"], name=name
    )


def lenet_metrics_files(seeds=None):
    return lenet_run_files("metrics.json", seeds)


def lenet_history_files():
    return lenet_run_files("history.csv")


FIGURE_RULES = [
    "figure_logreg_steps", "figure_pair_difficulty", "figure_accuracy_vs_params", "figure_lenet_epochs",
    "figure_lenet_confusion", "figure_misclassified", "figure_train_time",
]


def job_benchmark_files():
    """The benchmark: file of every job that does real work."""
    bench = "results/benchmarks"
    files = [f"{bench}/data/download_mnist.tsv", f"{bench}/data/idx_to_tensors.tsv",
             f"{bench}/data/extract_pair_{PAIR[0]}_{PAIR[1]}.tsv", f"{bench}/identities.tsv",
             f"{bench}/results/aggregate.tsv"]
    files += expand(f"{bench}/logreg/main/{{loss}}_{{scaling}}.tsv", loss=LOGREG["losses"], scaling=LOGREG["scalings"])
    if SWEEP["enabled"]:
        files += [f"{bench}/logreg/sweep/pair_{a}_{b}.tsv" for a, b in SWEEP_PAIRS]
    files += expand(f"{bench}/lenet/{{c3}}_seed{{seed}}.tsv", c3=LENET["c3"], seed=LENET["seeds"])
    files += [f"{bench}/results/{rule}.tsv" for rule in FIGURE_RULES if rule != "figure_pair_difficulty" or SWEEP["enabled"]]
    return files


def results_targets():
    tables = ["data", "runs", "summary", "comparisons", "params", "environment", "rule_benchmarks"]
    figures = ["logreg_accuracy_vs_steps", "lenet_accuracy_vs_params", "lenet_accuracy_per_epoch",
               "lenet_confusion", "lenet_misclassified", "train_time", "rule_resources"]
    if SWEEP["enabled"]:
        figures.append("pair_difficulty")
    return [f"results/tables/{t}.csv" for t in tables] + [f"results/figures/{f}.png" for f in figures]


def report_facts(wildcards, output):
    """Headline numbers for the report captions' Jinja (empty until the aggregate rule has run).

    Taking ``output`` marks this as a derived parameter, so Snakemake does not rerun a rule
    because the numbers changed.
    """
    return read_facts(FACTS)
