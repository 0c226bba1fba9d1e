"""Rule rule_benchmarks: wall time and peak memory of every job, from the benchmark: files."""
from mnistrepro.rule_benchmarks import rule_benchmarks
from mnistrepro.io import atomic_path
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
table = rule_benchmarks(snakemake.input, root=snakemake.params.roots)
log.info("%d jobs; slowest:\n%s", len(table), table.head(5).to_string(index=False))
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
