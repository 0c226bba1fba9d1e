# Experiment B: LeNet-5, sparse C3 (LeCun's table) vs full C3, replicated over seeds.
# Training writes the weights; evaluation is its own rule, so a new metric needs no retraining.
# A job declares gpu=1 when it will run on a GPU (LENET_GPU, common.smk), so that
# `--resources gpu=N` bounds how many GPU jobs run at once; inside the job, the script claims a
# free GPU slot (mnistrepro.gpu_slots), so that concurrent jobs spread over the machine's GPUs.
# On SLURM the profile requests the GPU itself, and the job only sees the GPU it was given.


rule train_lenet:
    input:
        mnist=rules.idx_to_tensors.output.mnist,
    output:
        training=f"{LENET_RUN}/training.json",
        history=f"{LENET_RUN}/history.csv",
        model=f"{LENET_RUN}/model.pt",
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
        device=config["device"],
        gpu=config["gpu"],
        # Resumable state after every epoch; not an output, so a failed or killed job keeps it.
        checkpoint=LENET_PATHS["checkpoint"],
    script:
        "../../scripts/train_lenet.py"


# All seeds of a C3 variant in one job: torch's start-up (2-3 s) is paid once per variant, not per run.
rule evaluate_lenet:
    input:
        mnist=rules.idx_to_tensors.output.mnist,
        models=expand(rules.train_lenet.output.model, seed=LENET["seeds"], allow_missing=True),
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
