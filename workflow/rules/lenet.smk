# Experiment B: LeNet-5, sparse C3 (LeCun's table) vs full C3, replicated over seeds.
# Training writes the weights; evaluation is its own rule, so a new metric needs no retraining.
# A job declares gpu=1 when it will run on a GPU (LENET_GPU, common.smk), so that
# `--resources gpu=N` bounds how many GPU jobs run at once; inside the job, the script claims a
# free GPU slot (mnistrepro.gpu_slots), so that concurrent jobs spread over the machine's GPUs.
# On SLURM the profile requests the GPU itself, and the job only sees the GPU it was given.


rule train_lenet:
    input:
        mnist=f"{DATA}/mnist.pt",
    output:
        training="results/lenet/{c3}/seed{seed}/training.json",
        history="results/lenet/{c3}/seed{seed}/history.csv",
        model="results/lenet/{c3}/seed{seed}/model.pt",
    log:
        "results/logs/lenet/{c3}_seed{seed}.log",
    benchmark:
        "results/benchmarks/lenet/{c3}_seed{seed}.tsv"
    wildcard_constraints:
        c3="sparse|full",
        seed=r"\d+",
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
        checkpoint="results/checkpoints/lenet/{c3}_seed{seed}.pt",
    script:
        "../../scripts/train_lenet.py"


# All seeds of a C3 variant in one job: torch's start-up (2-3 s) is paid once per variant, not per run.
rule evaluate_lenet:
    input:
        mnist=f"{DATA}/mnist.pt",
        models=expand("results/lenet/{{c3}}/seed{seed}/model.pt", seed=LENET["seeds"]),
    output:
        evaluations=expand("results/lenet/{{c3}}/seed{seed}/evaluation.json", seed=LENET["seeds"]),
    log:
        "results/logs/lenet/evaluate_{c3}.log",
    benchmark:
        "results/benchmarks/lenet_eval/{c3}.tsv"
    wildcard_constraints:
        c3="sparse|full",
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
