# Experiment B: LeNet-5, sparse C3 (LeCun's table) vs full C3, replicated over seeds.
# Training writes the weights; evaluation is its own rule, so a new metric needs no retraining.
# A job declares gpu=1 when it will run on a GPU (LENET_GPU, common.smk), so that
# `--resources gpu=N` bounds how many GPU jobs run at once; inside the job, the script claims a
# free GPU slot (mnistrepro.study.gpu_slots), so that concurrent jobs spread over the machine's GPUs.
# On SLURM the profile requests the GPU itself, and the job only sees the GPU it was given.


# One job trains a group of seeds (config lenet.seeds_per_job; one seed per job on a CPU), vectorised over seeds
# when the group has more than one; its directory holds each seed's run (seed<N>/: training.json, history.csv,
# model.pt), which collect_lenet_run copies to the run's own directory, where everything downstream reads it.
rule train_lenet:
    input:
        mnist=rules.idx_to_tensors.output.mnist,
    output:
        group=directory(LENET_GROUP),
    log:
        LENET_PATHS["log"],
    benchmark:
        LENET_PATHS["benchmark"]
    threads: LENET["threads"]
    resources:
        gpu=LENET_GPU,
    params:
        epochs=LENET["epochs"],
        batch_size=LENET["batch_size"],
        lr=LENET["lr"],
        train_limit=LENET["train_limit"],
        test_limit=LENET["test_limit"],
        # False: the job's one seed alone; True: its seeds stacked (mnistrepro.experiments.lenet_training.train_group),
        # whose kernels add in another order, so their runs have a key of their own.
        together=LENET_SEEDS_PER_JOB > 1,
        # Where the run trains, not what it computes: derived parameters (they take `output`), so that another
        # study's device or GPU-slot settings do not rerun the runs it shares.
        device=lambda wildcards, output: config["device"],
        gpu=lambda wildcards, output: config["gpu"],
        # Where collect_lenet_run copies each seed's run (the training records name the weights there).
        run_dirs=lambda wildcards: expand(LENET_RUN, c3=wildcards.c3, seed=parse_group_label(wildcards.seeds)),
        # Resumable state after every epoch; not an output, so a failed or killed job keeps it.
        checkpoint=LENET_PATHS["checkpoint"],
    script:
        "../../scripts/train_lenet.py"


rule collect_lenet_run:
    input:
        group=lenet_group_of,
    output:
        training=f"{LENET_RUN}/training.json",
        history=f"{LENET_RUN}/history.csv",
        model=f"{LENET_RUN}/model.pt",
    log:
        LENET_PATHS["collect_log"],
    localrule: True
    shell:
        "cp {input.group}/seed{wildcards.seed}/training.json {output.training} 2> {log} && "
        "cp {input.group}/seed{wildcards.seed}/history.csv {output.history} 2>> {log} && "
        "cp {input.group}/seed{wildcards.seed}/model.pt {output.model} 2>> {log}"


# All seeds of a C3 variant in one job: torch's start-up (2-3 s) is paid once per variant, not per run.
rule evaluate_lenet:
    input:
        mnist=rules.idx_to_tensors.output.mnist,
        # Each run's training.json gives its model.pt's SHA-256, checked before the weights are evaluated.
        trainings=expand(rules.collect_lenet_run.output.training, seed=LENET["seeds"], allow_missing=True),
        models=expand(rules.collect_lenet_run.output.model, seed=LENET["seeds"], allow_missing=True),
    output:
        evaluations=expand(LENET_EVALUATION, seed=LENET["seeds"], allow_missing=True),
    log:
        f"{LOGS}/lenet/evaluate_{{c3}}.log",
    benchmark:
        f"{BENCHMARKS}/lenet_eval/{{c3}}.tsv"
    threads: LENET["threads"]  # as in training, whose per-epoch test numbers this reproduces exactly
    resources:
        # No gpu resource at all on a CPU machine.
        **({"gpu": 1} if LENET_GPU else {}),
    params:
        test_limit=LENET["test_limit"],
        device=config["device"],
        gpu=config["gpu"],
    script:
        "../../scripts/evaluate_lenet.py"
