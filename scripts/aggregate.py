"""Rule aggregate: every run record (and the identities table) -> runs, summary, comparisons (a family per claim),
LeNet-5 test-set uncertainty, report facts (with the exploratory analyses' facts, from the tables of rules
exploratory_lenet and scale_grid; none of their numbers enter the comparisons):
mnistrepro.outputs.aggregate.aggregate_study.
"""
import pandas as pd

from mnistrepro.analysis.facts import left_out_parts, write_facts
from mnistrepro.outputs.aggregate import aggregate_study
from mnistrepro.report.not_run import not_run_parts
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
tables, facts = aggregate_study(
    logreg=[read_json(p) for p in snakemake.input.logreg],
    sweep=[record for p in snakemake.input.sweep for record in read_json(p)],  # a file per pair
    trainings=[read_json(p) for p in snakemake.input.lenet_training],
    evaluations=[read_json(p) for p in snakemake.input.lenet],
    identities=pd.read_csv(snakemake.input.identities),
    exploratory={name: pd.read_csv(snakemake.input[f"exploratory_{name}"])
                 for name in ("confusions", "ranking", "per_epoch")},
    # The exploratory scale grid's table where the config runs it (else its facts read "not run":
    # mnistrepro.analysis.facts).
    scale_grid=pd.read_csv(snakemake.input.scale_grid) if snakemake.input.scale_grid else None,
    pair=params.pair,
    logreg_steps=params.logreg_steps,
    stats=params.stats,
)
comparisons = tables["comparisons"]
tested = comparisons[comparisons["family"] != "descriptive"]
log.info("%d run rows, %d variants, %d confirmatory tests in %d families", len(tables["runs"]),
         len(tables["summary"]), len(tested), tested["family"].nunique())
for row in comparisons.itertuples(index=False):
    log.info("%s (%s vs %s): %s", row.comparison, row.a, row.b, row.verdict)
for name, table in tables.items():
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
# With the configuration they were made under and the parts of the study it left out (mnistrepro.analysis.facts finds
# them, mnistrepro.report.not_run words them).
write_facts(snakemake.output.facts, facts, not_run_parts(left_out_parts(snakemake.config)), snakemake.config)
