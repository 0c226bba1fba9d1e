# Experiment C: five facts about convolutions and backpropagation, checked on real data.
# Settings: config["identities"] (defaults in the schema).

_IDENTITIES_CATEGORY = "Convolution identities"


rule identities:
    input:
        mnist=f"{DATA}/mnist.pt",
    output:
        table=report(
            "results/tables/identities.csv",
            caption="../report/identities_table.rst",
            category=_IDENTITIES_CATEGORY,
            labels={"result": "table", "shows": "all five identities"},
        ),
        mnist_figure=report(
            "results/figures/identities_mnist.png",
            caption="../report/identities_mnist.rst",
            category=_IDENTITIES_CATEGORY,
            labels={"result": "figure", "shows": "finite differences, average pooling"},
        ),
        rgb_figure=report(
            "results/figures/identities_rgb.png",
            caption="../report/identities_rgb.rst",
            category=_IDENTITIES_CATEGORY,
            labels={"result": "figure", "shows": "RGB to grayscale"},
        ),
    log:
        "results/logs/identities.log",
    benchmark:
        "results/benchmarks/identities.tsv"
    threads: 1
    params:
        **config["identities"],
        device="cpu",  # float64 checks on a few MB of data: no GPU needed
    script:
        "../../scripts/identities.py"
