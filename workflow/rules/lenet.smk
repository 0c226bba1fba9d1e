# Experiment B: LeNet-5, sparse C3 (LeCun's table) vs full C3, replicated over seeds.
# A job declares gpu=1 when it will train on a GPU (LENET_GPU, common.smk), so that
# `--resources gpu=N` bounds how many GPU jobs run at once; inside the job, the script claims a
# free GPU slot (mnistrepro.gpu_slots), so that concurrent jobs spread over the machine's GPUs.
# On SLURM the profile requests the GPU itself, and the job only sees the GPU it was given.


rule train_lenet:
    input:
        mnist=f"{DATA}/mnist.pt",
    output:
        metrics="results/lenet/{c3}/seed{seed}/metrics.json",
        history="results/lenet/{c3}/seed{seed}/history.csv",
        model="results/lenet/{c3}/seed{seed}/model.pt",
    wildcard_constraints:
        c3="sparse|full",
        seed=r"\d+",
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
    threads: LENET["threads"]
    resources:
        gpu=LENET_GPU,
    log:
        "results/logs/lenet/{c3}_seed{seed}.log",
    benchmark:
        "results/benchmarks/lenet/{c3}_seed{seed}.tsv"
    script:
        "../../scripts/train_lenet.py"

