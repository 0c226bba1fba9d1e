# mnistrepro: classic MNIST experiments, reproduced and replicated. See README.md.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/logreg.smk"
include: "workflow/rules/lenet.smk"
include: "workflow/rules/identities.smk"
include: "workflow/rules/results.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/summary.smk"


rule all:
    default_target: True
    input:
        study_targets(),
