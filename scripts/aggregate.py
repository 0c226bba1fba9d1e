"""Rule aggregate: every run record (and the identities table) -> runs, summary, escape rates and their
sensitivity, comparisons (one Holm family), pair difficulty, LeNet-5 test-set uncertainty, report facts."""
import numpy as np
import pandas as pd

from mnistrepro.aggregate import (comparisons_table, escape_sensitivity, escape_table, headline_facts, lenet_facts,
                                  lenet_test_set, machine_fact, pair_difficulty, pair_name, runs_table, summary_table)
from mnistrepro.facts import write_facts
from mnistrepro.io import atomic_path, read_json
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
logreg = [read_json(p) for p in snakemake.input.logreg]
sweep = [record for p in snakemake.input.sweep for record in read_json(p)]  # a file per pair
evaluations = [read_json(p) for p in snakemake.input.lenet]
trainings = [read_json(p) for p in snakemake.input.lenet_training]
runs = runs_table(logreg=logreg, sweep=sweep, lenet=list(zip(trainings, evaluations)))
# Bootstrap resamples and permutations: one generator, seeded from the config.
rng = np.random.default_rng(params.seed)
main_pair = pair_name(params.pair)
margin = params.equivalence_margin / 100  # config: percentage points; tables: fractions
summary = summary_table(runs, rng, params.resamples)
escape = escape_table(runs, chance=logreg[0]["chance_accuracy"], alpha=params.escape_alpha)
sensitivity = escape_sensitivity(runs)
pairs = pair_difficulty(runs, rng, params.resamples)
comparisons = comparisons_table(runs, params.logreg_steps, rng, params.resamples, pairs=pairs, main_pair=main_pair,
                                equivalence_margin=margin)
test_set, test_set_facts = lenet_test_set(evaluations, rng, params.image_resamples)
log.info("%d run rows, %d variants, %d tests in the Holm family, %d digit pairs x step counts",
         len(runs), len(summary), int(comparisons["p_value"].notna().sum()), len(pairs))
for row in escape.itertuples(index=False):
    log.info("%s/%s %d steps: %d of %d escaped (%.3f, Wilson 95%% CI %.3f to %.3f)", row.loss, row.scaling, row.steps,
             row.escaped, row.n, row.escape_rate, row.escape_ci95_low, row.escape_ci95_high)
for row in comparisons.itertuples(index=False):
    log.info("%s (%s vs %s): %s", row.comparison, row.a, row.b, row.verdict)
for name, table in [("runs", runs), ("summary", summary), ("escape", escape), ("escape_sensitivity", sensitivity),
                    ("comparisons", comparisons), ("pairs", pairs), ("lenet_test_set", test_set)]:
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
planning_sd = None if params.planning_paired_sd is None else params.planning_paired_sd / 100
facts = {
    **headline_facts(summary, comparisons, pairs, escape, pd.read_csv(snakemake.input.identities), sensitivity,
                     main_pair),
    **lenet_facts(runs, comparisons, params.target_difference / 100, planning_sd, equivalence_margin=margin),
    **test_set_facts,
    "machine": machine_fact([*logreg, *sweep, *trainings]),
    # Measured elsewhere and passed in through the config (stats.paired_sd_notes): quoted as given.
    **{f"lenet_paired_sd_{k}": v for k, v in (params.paired_sd_notes or {}).items()},
}
# With the configuration they were made under and the parts of the study it left out (mnistrepro.facts).
write_facts(snakemake.output.facts, facts, snakemake.config)
