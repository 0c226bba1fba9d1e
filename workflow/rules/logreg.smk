# Experiment A: logistic regression on a digit pair (mse vs ce loss, raw vs unit pixels), the
# logistic loss on all 45 digit pairs, and the exploratory pixel-scale grid.
#
# These jobs always train on the CPU, with one thread: each step is one 784-long dot product and
# one update, far less work than a GPU kernel launch, so a GPU would only slow them down. A job
# runs all the seeds of one (loss, scaling), stepping them together (one gather, dot and update
# over all seeds per step); the sweep is one job for all its pairs, because Python + torch start-up
# (seconds) costs more than a pair's whole batch of runs. Each run still gets its own JSON record.
# All three rules take their digit pairs from mnist.pt the same way (params.pairs; scripts/train_logreg.py).
from mnistrepro.study.logs import ConfigError


rule train_logreg:
    input:
        rules.idx_to_tensors.output.mnist,
    output:
        records=expand(
            f"{STUDY}/logreg/main/{{loss}}_{{scaling}}/seed{{seed}}.json", seed=LOGREG["seeds"], allow_missing=True
        ),
    log:
        f"{LOGS}/logreg/main/{{loss}}_{{scaling}}.log",
    benchmark:
        f"{BENCHMARKS}/logreg/main/{{loss}}_{{scaling}}.tsv"
    priority: CHEAP_FIRST
    threads: 1
    params:
        experiment="logreg",
        loss=lambda wc: wc.loss,
        scaling=lambda wc: wc.scaling,
        seeds=LOGREG["seeds"],
        steps=LOGREG["steps"],
        lr=LOGREG["lr"],
        eval_steps=LOGREG["eval_steps"],
        pairs=[PAIR],
    script:
        "../../scripts/train_logreg.py"


# The sweep's rule exists only when the config enables it. Its seeds train in two groups per pair:
# the first long_seeds to long_steps (evaluated at steps and long_steps; all of them where the config has fewer
# seeds, so that a small `pair_sweep.seeds` on top of config.yaml needs no long_seeds of its own), the others to
# steps only.
# Its pairs are split over pair_sweep.processes processes (one core each), so it takes about
# 1 / processes of the wall time of one core.
# A seed's run is the same whichever group it is in (its own initialisation and sample order).
if SWEEP["enabled"]:
    if SWEEP["long_seeds"] and SWEEP["long_steps"] <= SWEEP["steps"]:
        raise ConfigError(
            f"pair_sweep.long_steps: expected more than pair_sweep.steps "
            f"({SWEEP['steps']}), got {SWEEP['long_steps']}"
        )
    SWEEP_GROUPS = [
        {
            "seeds": SWEEP["seeds"][: SWEEP["long_seeds"]],
            "steps": SWEEP["long_steps"],
            "eval_steps": [SWEEP["steps"], SWEEP["long_steps"]],
        },
        {
            "seeds": SWEEP["seeds"][SWEEP["long_seeds"] :],
            "steps": SWEEP["steps"],
            "eval_steps": [SWEEP["steps"]],
        },
    ]

    rule train_logreg_sweep:
        input:
            rules.idx_to_tensors.output.mnist,
        output:
            records=logreg_sweep_files(),
        log:
            f"{LOGS}/logreg/pair_sweep.log",
        benchmark:
            f"{BENCHMARKS}/logreg/pair_sweep.tsv"
        # Before the other cheap jobs: it needs all its cores at once, and Snakemake does not keep cores free for a
        # waiting job, so once a one-core job runs beside it the sweep would wait for every LeNet-5 job.
        priority: 3 * CHEAP_FIRST
        # Its pairs split over this many processes, one core each (scripts/train_logreg.py).
        threads: SWEEP["processes"]
        params:
            experiment="pair_sweep",
            loss=SWEEP["loss"],
            scaling=SWEEP["scaling"],
            seeds=SWEEP["seeds"],
            lr=SWEEP["lr"],
            groups=[g for g in SWEEP_GROUPS if g["seeds"]],
            pairs=[list(p) for p in SWEEP_PAIRS],
        script:
            "../../scripts/train_logreg.py"


# The exploratory scale grid (exists only when the config enables it): the main grid's losses, seeds, steps and lr
# on the main pair, with the pixels divided by each of scale_grid.divisors; one job per (loss, divisor), all seeds
# together, evaluated at the last step only. Divisors 1 and 255 are trained again rather than read from the main
# grid's raw and unit runs: the same computation (mnistrepro.experiments.logreg.scale_inputs), so the same numbers, for
# seconds of work, and the grid's table needs nothing of the main grid's layout.
if SCALE_GRID["enabled"]:

    rule train_scale_grid:
        input:
            rules.idx_to_tensors.output.mnist,
        output:
            records=f"{STUDY}/logreg/scale_grid/{{loss}}_div{{divisor}}.json",
        log:
            f"{LOGS}/logreg/scale_grid/{{loss}}_div{{divisor}}.log",
        benchmark:
            f"{BENCHMARKS}/logreg/scale_grid/{{loss}}_div{{divisor}}.tsv"
        priority: CHEAP_FIRST
        threads: 1
        params:
            experiment="scale_grid",
            loss=lambda wc: wc.loss,
            scaling=lambda wc: GRID_DIVISORS[wc.divisor],
            seeds=LOGREG["seeds"],
            lr=LOGREG["lr"],
            groups=[{"seeds": LOGREG["seeds"], "steps": LOGREG["steps"], "eval_steps": [LOGREG["steps"]]}],
            pairs=[PAIR],
        script:
            "../../scripts/train_logreg.py"
