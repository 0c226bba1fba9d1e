"""Rule environment: the software stack of the submitting host (each training job records its own hardware)."""
from mnistrepro.study.environment import environment_table
from mnistrepro.study.io import atomic_path
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
table = environment_table(snakemake.params.device)
for item, value in table.itertuples(index=False):
    log.info("%s: %s", item, value)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
