# Checks the JSON schema cannot express, then the names and functions shared by the rule files.
from mnistrepro.config import check_config
from mnistrepro.io import read_facts

check_config(config)

DATA = "results/data"
PAIR = config["pair"]
LOGREG = config["logreg"]
SWEEP = config["pair_sweep"]
LENET = config["lenet"]
# All unordered digit pairs (a < b): the first digit is labelled -1, the second +1.
SWEEP_PAIRS = [(a, b) for a in range(10) for b in range(a + 1, 10)]
FACTS = "results/tables/facts.json"


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


def report_facts(wildcards, output):
    """Headline numbers for the report captions' Jinja (empty until the aggregate rule has run).

    Taking ``output`` marks this as a derived parameter, so Snakemake does not rerun a rule
    because the numbers changed.
    """
    return read_facts(FACTS)
