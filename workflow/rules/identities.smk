# Experiment C: five facts about convolutions and backpropagation, checked on real data.
# Settings: config["identities"] (defaults in the schema); its figure_* settings are those of the
# figures (figures.smk), so that redrawing a figure does not rerun the checks.

IDENTITIES_CATEGORY = "Convolution identities"


rule identities:
    input:
        mnist=rules.idx_to_tensors.output.mnist,
    output:
        table=report(
            f"{TABLES}/identities.csv",
            caption="../report/identities_table.rst",
            category=IDENTITIES_CATEGORY,
            labels={"result": "table", "shows": "all five identities"},
        ),
    log:
        f"{LOGS}/identities.log",
    benchmark:
        f"{BENCHMARKS}/identities.tsv"
    priority: CHEAP_FIRST
    threads: 1
    params:
        **{key: value for key, value in config["identities"].items() if not key.startswith("figure_")},
        device="cpu",  # float64 checks on a few MB of data: no GPU needed
    script:
        "../../scripts/identities.py"
