"""Rule lenet_params: trainable parameters per layer of each LeNet-5 variant, measured and analytic."""
from mnistrepro.experiments.lenet import LeNet5, analytic_param_counts, measured_param_counts
from mnistrepro.outputs.aggregate import params_table
from mnistrepro.study.io import atomic_path
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
c3s = snakemake.params.c3
table = params_table(
    analytic={c3: analytic_param_counts(c3) for c3 in c3s},
    measured={c3: measured_param_counts(LeNet5(c3)) for c3 in c3s},
)
for row in table.itertuples(index=False):
    log.info("%s C3, %s: measured %d, analytic %d", row.c3, row.layer, row.measured, row.analytic)
if not table["match"].all():
    raise RuntimeError("measured and analytic parameter counts differ:\n" + table[~table["match"]].to_string())
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
