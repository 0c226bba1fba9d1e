"""Rule hardware: where every training run ran (host, SLURM job, device, GPU model, CUDA stack), from the runs' records."""
from mnistrepro.study.environment import hardware_table
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])


def records(path):
    """A file's run records: one record, or a list of them (the sweep's file per digit pair)."""
    content = read_json(path)
    return content if isinstance(content, list) else [content]


table = hardware_table({name: [r for p in snakemake.input[name] for r in records(p)] for name in snakemake.input.keys()})
for row in table.itertuples(index=False):
    log.info("%s: %d run(s) on %s, %s", row.experiment, row.runs, row.host, row.device)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
