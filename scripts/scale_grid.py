"""Rule scale_grid: the exploratory pixel-scale grid's run records (a file per loss and divisor) -> its table,
results/tables/scale_grid.csv (mnistrepro.analysis.scale_grid); the log gives the facts the aggregation will quote."""
from mnistrepro.analysis.scale_grid import scale_grid_table
from mnistrepro.outputs.aggregate import table_rng
from mnistrepro.report.scale_grid import scale_grid_facts
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
records = [record for path in snakemake.input.records for record in read_json(path)]
table = scale_grid_table(records, table_rng(params.seed, "scale_grid"), params.resamples, params.escape_alpha)
for row in table.itertuples(index=False):
    log.info("%s, pixels / %g: %d of %d escaped (%.3f, Wilson 95%% CI %.3f to %.3f); mean accuracy %.4f "
             "(95%% CI %.4f to %.4f)", row.loss, row.divisor, row.escaped, row.n, row.escape_rate,
             row.escape_ci95_low, row.escape_ci95_high, row.mean_accuracy, row.accuracy_ci95_low,
             row.accuracy_ci95_high)
for key, text in scale_grid_facts(table).items():
    log.info("%s: %s", key, text)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False)
