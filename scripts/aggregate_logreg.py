"""Rule aggregate_logreg: the logistic-regression runs (main grid and sweep) -> escape rates and their sensitivity,
pair difficulty, and the runs of logistic regression for its figures; as soon as those runs are done, long before
LeNet-5's."""
from mnistrepro.outputs.aggregate import logreg_tables, runs_table
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
logreg = [read_json(p) for p in snakemake.input.logreg]
runs = runs_table(logreg=logreg, sweep=[record for p in snakemake.input.sweep for record in read_json(p)])
tables = logreg_tables(runs, logreg[0]["chance_accuracy"], params.seed, params.resamples, params.escape_alpha)
for row in tables["escape"].itertuples(index=False):
    log.info("%s/%s %d steps: %d of %d escaped (%.3f, Wilson 95%% CI %.3f to %.3f)", row.loss, row.scaling, row.steps,
             row.escaped, row.n, row.escape_rate, row.escape_ci95_low, row.escape_ci95_high)
log.info("%d run rows; %d digit pairs x step counts", len(runs), len(tables["pairs"]))
for name, table in {"runs": runs, **tables}.items():
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
