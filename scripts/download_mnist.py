"""Rule download_mnist: the four verified IDX files, from the first configured source that works."""
from pathlib import Path

from mnistrepro.data.acquisition import acquire_mnist, acquisition_record
from mnistrepro.study.io import write_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
source = acquire_mnist(
    Path(snakemake.output.idx[0]).parent,
    snakemake.params.sources,
    official_mirrors=snakemake.params.official_mirrors,
    local_dir=snakemake.params.local_dir,
    timeout_s=snakemake.params.timeout_s,
)
log.info("MNIST served by source: %s", source)
write_json(acquisition_record(source), snakemake.output.record)
