"""Rule aggregate: every run record -> runs, summary, comparisons, pair difficulty, report facts."""
from mnistrepro.aggregate import (calibration_facts, comparisons_table, headline_facts, pair_difficulty, runs_table,
                                  summary_table)
from mnistrepro.io import atomic_path, read_json, write_json
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
runs = runs_table(
    logreg=[read_json(p) for p in snakemake.input.logreg],
    sweep=[read_json(p) for p in snakemake.input.sweep],
    lenet=[(read_json(t), read_json(e)) for t, e in zip(snakemake.input.lenet_training, snakemake.input.lenet)],
)
summary = summary_table(runs)
comparisons = comparisons_table(runs, snakemake.params.logreg_steps)
pairs = pair_difficulty(runs)
log.info("%d run rows, %d variants, %d comparisons, %d digit pairs", len(runs), len(summary), len(comparisons), len(pairs))
for row in comparisons.itertuples(index=False):
    log.info("%s (%s vs %s): %s", row.comparison, row.a, row.b, row.verdict)
for name, table in [("runs", runs), ("summary", summary), ("comparisons", comparisons), ("pairs", pairs)]:
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
write_json({**headline_facts(summary, comparisons, pairs), **calibration_facts(runs)}, snakemake.output.facts)
