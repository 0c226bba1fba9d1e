# Experiment A: logistic regression on a digit pair (mse vs ce loss, raw vs unit pixels), and the
# logistic loss on all 45 digit pairs.
#
# These jobs always train on the CPU, with one thread: each step is one 784-long dot product and
# one update, far less work than a GPU kernel launch, so a GPU would only slow them down. A job
# runs all the seeds of one (loss, scaling), stepping them together (one gather, dot and update
# over all seeds per step); the sweep is one job for all its pairs, because Python + torch start-up
# (seconds) costs more than a pair's whole batch of runs. Each run still gets its own JSON record.
# Both rules take their digit pairs from mnist.pt the same way (params.pairs; scripts/train_logreg.py).


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
    threads: 1
    params:
        loss=lambda wc: wc.loss,
        scaling=lambda wc: wc.scaling,
        seeds=LOGREG["seeds"],
        steps=LOGREG["steps"],
        lr=LOGREG["lr"],
        eval_steps=LOGREG["eval_steps"],
        pairs=[PAIR],
    script:
        "../../scripts/train_logreg.py"


# The sweep's rule exists only when the config enables it.
if SWEEP["enabled"]:

    rule train_logreg_sweep:
        input:
            rules.idx_to_tensors.output.mnist,
        output:
            records=logreg_sweep_files(),
        log:
            f"{LOGS}/logreg/sweep.log",
        benchmark:
            f"{BENCHMARKS}/logreg/sweep.tsv"
        threads: 1
        params:
            loss=SWEEP["loss"],
            scaling=SWEEP["scaling"],
            seeds=SWEEP["seeds"],
            steps=SWEEP["steps"],
            lr=SWEEP["lr"],
            eval_steps=[SWEEP["steps"]],
            pairs=[list(p) for p in SWEEP_PAIRS],
        script:
            "../../scripts/train_logreg.py"
