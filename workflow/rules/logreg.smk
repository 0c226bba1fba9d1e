# Experiment A: logistic regression on a digit pair (mse vs ce loss, raw vs unit pixels), and the
# logistic loss on all 45 digit pairs.
#
# These jobs always train on the CPU, with one thread: each step is one 784-long dot product and
# one update, far less work than a GPU kernel launch, so a GPU would only slow them down. A job
# runs all the seeds of one (loss, scaling) or one digit pair, because Python + torch start-up
# (seconds) costs more than a whole run (a fraction of a second); each run still gets its own
# JSON record.

rule train_logreg:
    input:
        f"{DATA}/pair_{PAIR[0]}_{PAIR[1]}.pt",
    output:
        expand("results/logreg/main/{{loss}}_{{scaling}}/seed{seed}.json", seed=LOGREG["seeds"]),
    wildcard_constraints:
        loss="mse|ce",
        scaling="raw|unit",
    params:
        loss=lambda wc: wc.loss,
        scaling=lambda wc: wc.scaling,
        seeds=LOGREG["seeds"],
        steps=LOGREG["steps"],
        lr=LOGREG["lr"],
        eval_steps=LOGREG["eval_steps"],
        digits=None,
    threads: 1
    log:
        "results/logs/logreg/main/{loss}_{scaling}.log",
    benchmark:
        "results/benchmarks/logreg/main/{loss}_{scaling}.tsv"
    script:
        "../../scripts/train_logreg.py"


rule train_logreg_pair:
    input:
        f"{DATA}/mnist.pt",
    output:
        expand("results/logreg/sweep/pair_{{a}}_{{b}}/seed{seed}.json", seed=SWEEP["seeds"]),
    wildcard_constraints:
        a=r"\d",
        b=r"\d",
    params:
        loss=SWEEP["loss"],
        scaling=SWEEP["scaling"],
        seeds=SWEEP["seeds"],
        steps=SWEEP["steps"],
        lr=SWEEP["lr"],
        eval_steps=[SWEEP["steps"]],
        digits=lambda wc: [int(wc.a), int(wc.b)],
    threads: 1
    log:
        "results/logs/logreg/sweep/pair_{a}_{b}.log",
    benchmark:
        "results/benchmarks/logreg/sweep/pair_{a}_{b}.tsv"
    script:
        "../../scripts/train_logreg.py"
