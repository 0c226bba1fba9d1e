# Data: verified MNIST IDX files -> tensors -> the binary digit-pair subset.
# These jobs run on the submitting host (localrule): on a cluster it is the machine with internet
# access (compute nodes often have none), and the jobs take seconds.
from mnistrepro.mnist_files import IDX_FILES


rule download_mnist:
    output:
        idx=expand(f"{DATA}/idx/{{name}}", name=[f.name for f in IDX_FILES]),
        record=f"{DATA}/acquisition.json",
    log:
        "results/logs/data/download_mnist.log",
    benchmark:
        "results/benchmarks/data/download_mnist.tsv"
    localrule: True
    params:
        sources=config["data"]["sources"],
        official_mirrors=config["data"]["official_mirrors"],
        local_dir=config["data"]["local_dir"],
        timeout_s=config["data"]["timeout_s"],
    script:
        "../../scripts/download_mnist.py"


rule idx_to_tensors:
    input:
        idx=rules.download_mnist.output.idx,
        record=rules.download_mnist.output.record,
    output:
        f"{DATA}/mnist.pt",
    log:
        "results/logs/data/idx_to_tensors.log",
    benchmark:
        "results/benchmarks/data/idx_to_tensors.tsv"
    localrule: True
    script:
        "../../scripts/idx_to_tensors.py"


rule extract_pair:
    input:
        f"{DATA}/mnist.pt",
    output:
        f"{DATA}/pair_{{a}}_{{b}}.pt",
    log:
        "results/logs/data/extract_pair_{a}_{b}.log",
    benchmark:
        "results/benchmarks/data/extract_pair_{a}_{b}.tsv"
    wildcard_constraints:
        a=r"\d",
        b=r"\d",
    localrule: True
    script:
        "../../scripts/extract_pair.py"


rule data_summary:
    input:
        record=f"{DATA}/acquisition.json",
        mnist=f"{DATA}/mnist.pt",
        pair=f"{DATA}/pair_{PAIR[0]}_{PAIR[1]}.pt",
    output:
        report(
            "results/tables/data.csv",
            caption="../report/data.rst",
            category="Data",
            labels={"result": "table", "shows": "MNIST source, checksums, counts"},
        ),
    log:
        "results/logs/data/data_summary.log",
    localrule: True
    script:
        "../../scripts/data_summary.py"
