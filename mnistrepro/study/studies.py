"""Where a study writes, and where the runs that studies share live.

A *study* is one configuration's tables, figures, logs, benchmarks, run records and report. The default
study (``study: default``) writes to ``results/`` itself, as before studies had names; any other study
writes to ``results/<study>/``, so that running one configuration never overwrites another's files.
Shared by every study: the MNIST files (``results/data/``) and the LeNet-5 training runs, which live
in a directory named after every parameter that defines a run (:func:`lenet_run_key`), so that two
studies asking for the same run (say, seed 0 of the default study and of configs/lenet_power.yaml)
train it once.

Torch-free: the Snakefile, the tests and ``python -m mnistrepro.outputs.compare_studies`` import it.
"""

from __future__ import annotations

from typing import Any, Mapping

RESULTS = "results"
DEFAULT_STUDY = "default"
# Names under results/ that the default study and the shared runs use: no other study may take one.
RESERVED_STUDY_NAMES = frozenset({
    "data", "lenet", "lenet_eval", "logreg", "logs", "benchmarks", "checkpoints", "tables", "figures",
    "report.html",
})


def study_dir(study: str) -> str:
    """The directory of every output of ``study`` (``results`` for the default study)."""
    return RESULTS if study == DEFAULT_STUDY else f"{RESULTS}/{study}"


def seeds_per_job(lenet: Mapping[str, Any], on_gpu: bool) -> int:
    """How many seeds one LeNet-5 training job trains (the config's ``lenet.seeds_per_job``): ``auto`` is 1 where
    the jobs train on the CPU (grouping is slower there) and 10 on a GPU (one seed leaves it idle)."""
    value = lenet.get("seeds_per_job", "auto")
    return (10 if on_gpu else 1) if value == "auto" else int(value)




def lenet_run_key(lenet: Mapping[str, Any], cpu_kernels: str, grouped: bool = False) -> str:
    """The directory name shared by every LeNet-5 run with these defining parameters (the config's
    ``lenet`` section and ``cpu_kernels``); the C3 variant and the seed name the directories below it.

    Every parameter that changes what a run computes belongs here, and nothing else (``threads``
    and ``seeds`` do not: a run is the same run whichever job, or how many threads, trains it).
    ``cpu_kernels``: the instruction set of torch's CPU kernels (mnistrepro.study.cpu_kernels), which sum in its own
    order. ``grouped``: trained stacked with other seeds (mnistrepro.experiments.lenet_training.StackedLeNet), whose
    kernels add in another order than one seed's, whichever the other seeds are. This is the one place that lists them.
    """
    def limit(value):
        return "all" if value is None else str(value)

    return "_".join([
        f"epochs{lenet['epochs']}",
        f"batch{lenet['batch_size']}",
        f"lr{lenet['lr']!r}",
        f"train{limit(lenet['train_limit'])}",
        f"test{limit(lenet['test_limit'])}",
        f"cpu{cpu_kernels}",
        *(["grouped"] if grouped else []),
    ])


def lenet_run_paths(config: Mapping[str, Any], grouped: bool = False) -> dict[str, str]:
    """Patterns of the shared LeNet-5 training runs: ``run``, one run's directory (wildcards ``{c3}`` and
    ``{seed}``: ``training.json``, ``history.csv``, ``model.pt``); ``group``, the directory one training job
    writes for a group of seeds (``{c3}`` and ``{seeds}``, a :func:`mnistrepro.study.seeds.group_label`), and that
    job's ``log``, ``benchmark`` and ``checkpoint``; ``collect_log``, the log of copying one run out of its group."""
    key = lenet_run_key(config["lenet"], config["cpu_kernels"], grouped)
    return {
        "run": f"{RESULTS}/lenet/{key}/{{c3}}/seed{{seed}}",
        "group": f"{RESULTS}/lenet/{key}/{{c3}}/group_{{seeds}}",
        "log": f"{RESULTS}/logs/lenet/{key}/{{c3}}_group_{{seeds}}.log",
        "collect_log": f"{RESULTS}/logs/lenet/{key}/collect_{{c3}}_seed{{seed}}.log",
        "benchmark": f"{RESULTS}/benchmarks/lenet/{key}/{{c3}}_group_{{seeds}}.tsv",
        "checkpoint": f"{RESULTS}/checkpoints/lenet/{key}/{{c3}}_group_{{seeds}}.pt",
    }
