# Checks the JSON schema cannot express, then the names and functions shared by the rule files.
from mnistrepro.config import check_config, seed_list
from mnistrepro.device import will_use_gpu
from mnistrepro.findings import findings
from mnistrepro.io import read_facts

check_config(config)
# `seeds: 200` means seeds 0 to 199; a list is taken as it is.
for _section in ("logreg", "pair_sweep", "lenet"):
    config[_section]["seeds"] = seed_list(config[_section]["seeds"])

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
# Snakemake renders the report's home page (workflow.rst) with the config alone (no params), so the
# facts ride along there; captions get them as params.facts (report_facts). Both read at report time.
config["facts"] = read_facts(FACTS)
config["findings"] = findings(config, config["facts"])
LENET_GPU = 1 if will_use_gpu(config["device"]) else 0


def logreg_main_files():
    """Every run record of the main logistic-regression grid (loss x scaling x seed)."""
    return expand(
        "results/logreg/main/{loss}_{scaling}/seed{seed}.json",
        loss=LOGREG["losses"],
        scaling=LOGREG["scalings"],
        seed=LOGREG["seeds"],
    )


def logreg_sweep_files():
    """Every run record of the 45-pair sweep (none when pair_sweep.enabled is false)."""
    if not SWEEP["enabled"]:
        return []
    return [f"results/logreg/sweep/pair_{a}_{b}/seed{seed}.json" for a, b in SWEEP_PAIRS for seed in SWEEP["seeds"]]


def lenet_run_files(name, seeds=None):
    """One file (``training.json``, ``evaluation.json``, ``history.csv``, ``model.pt``) of every LeNet-5 run."""
    return expand("results/lenet/{c3}/seed{seed}/{name}", c3=LENET["c3"], seed=seeds or LENET["seeds"], name=name)


def lenet_training_files():
    return lenet_run_files("training.json")


def lenet_evaluation_files(seeds=None):
    return lenet_run_files("evaluation.json", seeds)


def lenet_history_files():
    return lenet_run_files("history.csv")


# The functions below read `rules`, so they are called only once every rule file is included
# (from `rule all`, or from an input function).


def figure_rules():
    """The figure rules the config asks for (the pair heatmap only with the sweep), minus the
    resources figure, which is drawn from the benchmarks of these."""
    names = [
        "figure_logreg_steps",
        "figure_logreg_distribution",
        "figure_accuracy_vs_params",
        "figure_lenet_epochs",
        "figure_lenet_confusion",
        "figure_lenet_calibration",
        "figure_misclassified",
        "figure_train_time",
    ]
    if SWEEP["enabled"]:
        names.append("figure_pair_difficulty")
    return [getattr(rules, name) for name in names]


def job_benchmark_files(wildcards):
    """The benchmark: file of every job that does real work."""
    files = [
        rules.download_mnist.benchmark,
        rules.idx_to_tensors.benchmark,
        rules.identities.benchmark,
        rules.aggregate.benchmark,
    ]
    files += expand(rules.extract_pair.benchmark, a=PAIR[0], b=PAIR[1])
    files += expand(rules.train_logreg.benchmark, loss=LOGREG["losses"], scaling=LOGREG["scalings"])
    if SWEEP["enabled"]:
        files.append(rules.train_logreg_sweep.benchmark)
    files += expand(rules.train_lenet.benchmark, c3=LENET["c3"], seed=LENET["seeds"])
    files += expand(rules.evaluate_lenet.benchmark, c3=LENET["c3"])
    files += [rule.benchmark for rule in figure_rules()]
    return files


def study_targets():
    """Every table and figure of the study (the runs, tensors and subset follow as their inputs)."""
    rules_ = [
        rules.data_summary,
        rules.identities,
        rules.aggregate,
        rules.lenet_params,
        rules.environment,
        rules.hardware,
        rules.rule_benchmarks,
        rules.figure_rule_resources,
        *figure_rules(),
    ]
    return [path for rule in rules_ for path in rule.output]


def report_facts(wildcards, output):
    """Headline numbers for the report captions' Jinja (empty until the aggregate rule has run).

    Taking ``output`` marks this as a derived parameter, so Snakemake does not rerun a rule
    because the numbers changed.
    """
    return read_facts(FACTS)
