# Data: verified MNIST IDX files -> tensors -> the binary digit-pair subset.
# These jobs run on the submitting host (localrule): on a cluster it is the machine with internet
# access (compute nodes often have none), and the jobs take seconds.
from mnistrepro.data.mnist_files import IDX_FILES


rule download_mnist:
    output:
        idx=expand(f"{DATA}/idx/{{name}}", name=[f.name for f in IDX_FILES]),
        record=f"{DATA}/acquisition.json",
    log:
        f"{SHARED_LOGS}/data/download_mnist.log",
    benchmark:
        f"{SHARED_BENCHMARKS}/data/download_mnist.tsv"
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
        mnist=f"{DATA}/mnist.pt",
    log:
        f"{SHARED_LOGS}/data/idx_to_tensors.log",
    benchmark:
        f"{SHARED_BENCHMARKS}/data/idx_to_tensors.tsv"
    localrule: True
    script:
        "../../scripts/idx_to_tensors.py"


rule extract_pair:
    input:
        rules.idx_to_tensors.output.mnist,
    output:
        pair=f"{DATA}/pair_{{a}}_{{b}}.pt",
    log:
        f"{SHARED_LOGS}/data/extract_pair_{{a}}_{{b}}.log",
    benchmark:
        f"{SHARED_BENCHMARKS}/data/extract_pair_{{a}}_{{b}}.tsv"
    localrule: True
    script:
        "../../scripts/extract_pair.py"


# The subset of the main grid's digit pair (config `pair`).
PAIR_FILE = expand(rules.extract_pair.output.pair, a=PAIR[0], b=PAIR[1])[0]


rule data_summary:
    input:
        record=rules.download_mnist.output.record,
        mnist=rules.idx_to_tensors.output.mnist,
        pair=PAIR_FILE,
    output:
        report(
            f"{TABLES}/data.csv",
            caption="../report/data.rst",
            category="Data",
            labels={"result": "table", "shows": "MNIST source, checksums, counts"},
        ),
    log:
        f"{LOGS}/data/data_summary.log",
    localrule: True
    script:
        "../../scripts/data_summary.py"
