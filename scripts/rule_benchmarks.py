"""Rule rule_benchmarks: wall time and peak memory of every job, from the benchmark: files."""
from mnistrepro.study.io import atomic_path
from mnistrepro.study.logs import setup_logging
from mnistrepro.study.rule_benchmarks import rule_benchmarks

log = setup_logging(snakemake.log[0])
table = rule_benchmarks(snakemake.input, root=snakemake.params.roots)
log.info("%d jobs; slowest:\n%s", len(table), table.head(5).to_string(index=False))
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
