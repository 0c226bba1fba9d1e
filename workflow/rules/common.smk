# Checks the JSON schema cannot express, then the names and functions shared by the rule files.
import sys

from dataclasses import dataclass, field

from mnistrepro.analysis.facts import Facts, current_facts
from mnistrepro.outputs.run_summary import report_requested
from mnistrepro.report.captions import caption_labels
from mnistrepro.outputs.findings import current_findings, embedded_figures
from mnistrepro.report.glance import glance_rows
from mnistrepro.study.choices import C3_KINDS, LOSSES, SCALINGS, claim_pair
from mnistrepro.study.config import check_config, divisor_label, evaluated_steps, seed_list
from mnistrepro.study.cpu_kernels import pin_cpu_kernels
from mnistrepro.study.device import training_on_gpu
from mnistrepro.study.logs import ConfigError
from mnistrepro.study.seeds import group_label, parse_group_label, seed_groups
from mnistrepro.study.studies import RESULTS, lenet_run_paths, seeds_per_job, study_dir

check_config(config)
# Every job this process starts (locally, or on SLURM, where the job parses this file again) inherits the
# variables that choose torch's CPU kernels; they must be set before a job imports torch.
pin_cpu_kernels(config["cpu_kernels"])
# `seeds: 200` means seeds 0 to 199; a list is taken as it is.
for _section in ("logreg", "pair_sweep", "lenet"):
    config[_section]["seeds"] = seed_list(config[_section]["seeds"])

# Where things go (mnistrepro/study/studies.py): this study's own outputs under STUDY (results/ for the
# default study, results/<study>/ otherwise); the MNIST files, their jobs' logs and benchmarks, and the
# LeNet-5 training runs are shared by all studies, so another study never reruns or overwrites them.
STUDY = study_dir(config["study"])
TABLES = f"{STUDY}/tables"
LOGS = f"{STUDY}/logs"
BENCHMARKS = f"{STUDY}/benchmarks"
DATA = f"{RESULTS}/data"
SHARED_LOGS = f"{RESULTS}/logs"
SHARED_BENCHMARKS = f"{RESULTS}/benchmarks"
# One LeNet-5 run's directory, named after its defining parameters: train_lenet writes its
# training.json, history.csv and model.pt there; LENET_EVALUATION is where evaluate_lenet writes
# this study's evaluation of it.
# LeNet-5 trains on a GPU where torch sees one here (device: auto), with device: cuda, and where a profile sends the
# training jobs to GPU nodes (the SLURM profile's set-resources), which a login node cannot see. A job that runs on
# a cluster node parses this again: it does not look at its node's GPU, so it decides as the submitting host did.
LENET_GPU = int(
    training_on_gpu(
        config["device"],
        workflow.resource_settings.overwrite_resources.get("train_lenet"),
        probe=not workflow.remote_exec,
    )
)
# Seeds per training job: on a GPU a seed alone leaves it idle, on a CPU grouping is slower (benchmarks/bench_lenet.py).
LENET_SEEDS_PER_JOB = seeds_per_job(config["lenet"], on_gpu=bool(LENET_GPU))
LENET_GROUPS = {seed: group for group in seed_groups(config["lenet"]["seeds"], LENET_SEEDS_PER_JOB) for seed in group}
# Seeds trained in a group add in another order than a seed alone, so the two are different runs.
LENET_PATHS = lenet_run_paths(config, grouped=LENET_SEEDS_PER_JOB > 1)
LENET_RUN = LENET_PATHS["run"]
LENET_GROUP = LENET_PATHS["group"]
LENET_EVALUATION = f"{STUDY}/lenet_eval/{{c3}}/seed{{seed}}.json"
PAIR = config["pair"]
LOGREG = config["logreg"]
SWEEP = config["pair_sweep"]
SCALE_GRID = config["scale_grid"]
# The exploratory scale grid's divisors by their label (the {divisor} wildcard, the file names): a job reads its
# exact value here, not back from the label.
GRID_DIVISORS = {divisor_label(d): float(d) for d in SCALE_GRID["divisors"]} if SCALE_GRID["enabled"] else {}
LENET = config["lenet"]
# The sweep's digit pairs, (smaller, larger): the first digit is labelled -1, the second +1.
SWEEP_PAIRS = (
    [(a, b) for a in range(10) for b in range(a + 1, 10)]
    if SWEEP["pairs"] is None
    else sorted({tuple(sorted(p)) for p in SWEEP["pairs"]})
)
FACTS = f"{TABLES}/facts.json"
# The priority of the jobs of logistic regression and the identities, their tables and figures: minutes of work in
# all, run before LeNet-5's training (priority 0, an hour on 2 cores), so that their results are readable early.
CHEAP_FIRST = 10
# Snakemake renders the report's home page (workflow.rst) with the config alone (no params), so the
# facts ride along there; captions get them as params.facts (report_facts). Both read at report time.
# None (and no findings) until this configuration's study has aggregated.
config["facts"], config["findings"] = current_findings(FACTS, config)
# The home page opens with one row per claim of the seed (mnistrepro.report.glance); its figures are embedded by
# figures.smk, and only when a report is built.
config["glance"] = glance_rows(config["facts"]) if config["facts"] is not None else []
# What the captions show of the config (a pair, a step or seed count with its noun), written by the report layer: a
# caption quotes config["labels"] and formats nothing itself (mnistrepro.report.captions).
config["labels"] = caption_labels(config)
if config["facts"] is None and report_requested(sys.argv):
    raise ConfigError(
        f"No report yet: {FACTS} does not exist or was made under another configuration. Run the study first "
        "(the same snakemake command without --report), then build the report."
    )


# What a wildcard may match: the variants are the package's own lists, so a rule cannot run one the
# package does not know (check_config refuses a config that names another).
wildcard_constraints:
    loss="|".join(LOSSES),
    scaling="|".join(SCALINGS),
    c3="|".join(C3_KINDS),
    seed=r"\d+",
    divisor=r"[0-9.e+-]+",
    seeds=r"\d+(-\d+)?(_\d+(-\d+)?)*",
    a=r"\d",
    b=r"\d",


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report, an entry of FIGURES (figures.smk), drawn by the rule figure_<name> with
    the function <name> of mnistrepro.outputs.figures; its caption is workflow/report/<name>.rst.

    input: the function's named input files; settings: its other keyword arguments; png, category,
    shows: the file under the study's figures/ and its report category and label; drawn: False where the
    config does not produce the figure's data (then it has no rule).
    """

    input: dict
    png: str
    category: str
    shows: str
    settings: dict = field(default_factory=dict)
    drawn: bool = True


def logreg_sweep_files():
    """The sweep's run records, one file per digit pair holding its seeds' records (none when pair_sweep.enabled
    is false)."""
    if not SWEEP["enabled"]:
        return []
    return [f"{STUDY}/logreg/pair_sweep/pair_{a}_{b}.json" for a, b in SWEEP_PAIRS]


def scale_grid_files():
    """The scale grid's run records, one file per (loss, divisor) holding its seeds' records (none when
    scale_grid.enabled is false)."""
    return [f"{STUDY}/logreg/scale_grid/{loss}_div{label}.json" for loss in LOGREG["losses"] for label in GRID_DIVISORS]


def lenet_run_files(name, seeds=None):
    """One file (``training.json``, ``history.csv``, ``model.pt``) of every LeNet-5 run."""
    return expand(f"{LENET_RUN}/{name}", c3=LENET["c3"], seed=seeds or LENET["seeds"])


def lenet_training_files():
    return lenet_run_files("training.json")


def lenet_evaluation_files(seeds=None):
    return expand(LENET_EVALUATION, c3=LENET["c3"], seed=seeds or LENET["seeds"])


def lenet_history_files():
    return lenet_run_files("history.csv")


def lenet_group_labels():
    """The group_label of every training group of the config's LeNet-5 seeds."""
    return sorted({group_label(group) for group in LENET_GROUPS.values()})


def lenet_group_of(wildcards):
    """The directory of the training group that trains run ``{c3}/seed{seed}``."""
    return expand(LENET_GROUP, c3=wildcards.c3, seeds=group_label(LENET_GROUPS[int(wildcards.seed)]))


# The functions below read `rules`, so they are called only once the rule files they name are
# included (from a later rule file, from `rule all`, or from an input function).


def logreg_main_files():
    """Every run record of the main logistic-regression grid (loss x scaling x seed)."""
    return expand(rules.train_logreg.output.records, loss=LOGREG["losses"], scaling=LOGREG["scalings"])


def scale_grid_table_file():
    """The scale grid's table, or nothing where the config disables the grid (its facts then read not run)."""
    return rules.scale_grid.output.table if SCALE_GRID["enabled"] else []


def drawn_figures():
    """The entries of FIGURES (figures.smk) that this config draws."""
    return {name: spec for name, spec in FIGURES.items() if spec.drawn}


def figure_rules():
    """The rule of every figure this config draws."""
    return [getattr(rules, f"figure_{name}") for name in drawn_figures()]


def job_benchmark_files(wildcards):
    """The benchmark: file of every job that does real work."""
    files = [
        rules.download_mnist.benchmark,
        rules.idx_to_tensors.benchmark,
        rules.identities.benchmark,
        rules.aggregate_logreg.benchmark,
        rules.aggregate.benchmark,
        rules.exploratory_lenet.benchmark,
    ]
    files += expand(rules.extract_pair.benchmark, a=PAIR[0], b=PAIR[1])
    files += expand(rules.train_logreg.benchmark, loss=LOGREG["losses"], scaling=LOGREG["scalings"])
    if SWEEP["enabled"]:
        files.append(rules.train_logreg_sweep.benchmark)
    if SCALE_GRID["enabled"]:
        files += expand(rules.train_scale_grid.benchmark, loss=LOGREG["losses"], divisor=list(GRID_DIVISORS))
        files.append(rules.scale_grid.benchmark)
    files += expand(rules.train_lenet.benchmark, c3=LENET["c3"], seeds=lenet_group_labels())
    files += expand(rules.evaluate_lenet.benchmark, c3=LENET["c3"])
    # Not the benchmark of a figure drawn from these benchmarks: it would be its own input.
    files += [rule.benchmark for rule in figure_rules() if rules.rule_benchmarks.output.table not in rule.input]
    return files


def study_targets():
    """Every table and figure of the study (the runs, tensors and subset follow as their inputs)."""
    rules_ = [
        rules.data_summary,
        rules.identities,
        rules.aggregate_logreg,
        rules.aggregate,
        rules.exploratory_lenet,
        rules.lenet_params,
        rules.environment,
        rules.hardware,
        rules.rule_benchmarks,
        *([rules.scale_grid] if SCALE_GRID["enabled"] else []),
        *figure_rules(),
    ]
    return [path for rule in rules_ for path in rule.output]


def report_facts(wildcards, output):
    """Headline numbers for the report captions' Jinja (empty until the aggregate rule has run).

    Taking ``output`` marks this as a derived parameter, so Snakemake does not rerun a rule
    because the numbers changed.
    """
    return current_facts(FACTS, config) or Facts(origin=FACTS)
