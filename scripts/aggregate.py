"""Rule aggregate: every run record (and the identities table) -> runs, summary, escape rates, comparisons, pair
difficulty, report facts."""
import numpy as np
import pandas as pd

from mnistrepro.aggregate import (calibration_facts, comparisons_table, escape_table, headline_facts, pair_difficulty,
                                  runs_table, summary_table)
from mnistrepro.io import atomic_path, read_json, write_json
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
logreg = [read_json(p) for p in snakemake.input.logreg]
runs = runs_table(
    logreg=logreg,
    sweep=[read_json(p) for p in snakemake.input.sweep],
    lenet=[(read_json(t), read_json(e)) for t, e in zip(snakemake.input.lenet_training, snakemake.input.lenet)],
)
# Bootstrap resamples and permutations: one generator, seeded from the config.
rng = np.random.default_rng(params.seed)
summary = summary_table(runs, rng, params.resamples)
escape = escape_table(runs, chance=logreg[0]["chance_accuracy"])
comparisons = comparisons_table(runs, params.logreg_steps, rng, params.resamples)
pairs = pair_difficulty(runs)
log.info("%d run rows, %d variants, %d comparisons, %d digit pairs",
         len(runs), len(summary), len(comparisons), len(pairs))
if not escape.empty:
    log.info("escape threshold %.4f (chance %.4f)", escape["threshold"].iloc[0], escape["chance"].iloc[0])
for row in escape.itertuples(index=False):
    log.info("%s/%s %d steps: %d of %d escaped (%.3f, Wilson 95%% CI %.3f to %.3f)", row.loss, row.scaling, row.steps,
             row.escaped, row.n, row.escape_rate, row.escape_ci95_low, row.escape_ci95_high)
for row in comparisons.itertuples(index=False):
    log.info("%s (%s vs %s): %s", row.comparison, row.a, row.b, row.verdict)
for name, table in [("runs", runs), ("summary", summary), ("escape", escape), ("comparisons", comparisons),
                    ("pairs", pairs)]:
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
facts = headline_facts(summary, comparisons, pairs, escape, pd.read_csv(snakemake.input.identities))
write_json({**facts, **calibration_facts(runs, rng, params.resamples)}, snakemake.output.facts)
