"""Rule aggregate: every run record (and the identities table) -> runs, summary, comparisons (a family per claim),
LeNet-5 test-set uncertainty, report facts (with the exploratory analyses' facts, from the tables of rules
exploratory_lenet and scale_grid; none of their numbers enter the comparisons). The logistic-regression tables are
rule aggregate_logreg's; the
comparisons and the facts need them, so they are computed again here from the same rows (mnistrepro.aggregate
.logreg_tables)."""
import pandas as pd

from mnistrepro.aggregate import (comparisons_table, logreg_tables, machine_fact, pair_name, runs_table, study_facts,
                                  summary_table, table_rng)
from mnistrepro.facts import write_facts
from mnistrepro.io import atomic_path, read_json
from mnistrepro.logs import setup_logging
from mnistrepro.report.exploratory import exploratory_facts
from mnistrepro.report.lenet_test_set import lenet_test_set_facts
from mnistrepro.stats import lenet_test_set

log = setup_logging(snakemake.log[0])
params = snakemake.params
logreg = [read_json(p) for p in snakemake.input.logreg]
sweep = [record for p in snakemake.input.sweep for record in read_json(p)]  # a file per pair
evaluations = [read_json(p) for p in snakemake.input.lenet]
trainings = [read_json(p) for p in snakemake.input.lenet_training]
runs = runs_table(logreg=logreg, sweep=sweep, lenet=list(zip(trainings, evaluations)))
main_pair = pair_name(params.pair)
margin = params.equivalence_margin / 100  # config: percentage points; tables: fractions
logreg_only = logreg_tables(runs, logreg[0]["chance_accuracy"], params.seed, params.resamples, params.escape_alpha)
summary = summary_table(runs, table_rng(params.seed, "summary"), params.resamples)
comparisons = comparisons_table(runs, params.logreg_steps, table_rng(params.seed, "comparisons"), params.resamples,
                                main_pair=main_pair, equivalence_margin=margin)
test_set = lenet_test_set(evaluations, table_rng(params.seed, "lenet_test_set"), params.image_resamples)
tested = comparisons[comparisons["family"] != "descriptive"]
log.info("%d run rows, %d variants, %d confirmatory tests in %d families", len(runs), len(summary), len(tested),
         tested["family"].nunique())
for row in comparisons.itertuples(index=False):
    log.info("%s (%s vs %s): %s", row.comparison, row.a, row.b, row.verdict)
for name, table in [("runs", runs), ("summary", summary), ("comparisons", comparisons), ("lenet_test_set", test_set)]:
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
facts = study_facts(
    runs, summary, comparisons, logreg_only, pd.read_csv(snakemake.input.identities), lenet_test_set_facts(test_set),
    main_pair,
    target_difference=params.target_difference / 100,
    planning_sd=None if params.planning_paired_sd is None else params.planning_paired_sd / 100,
    equivalence_margin=margin, paired_sd_notes=params.paired_sd_notes,
    # The exploratory scale grid's table where the config runs it (else its facts read "not run": mnistrepro.facts).
    scale_grid=pd.read_csv(snakemake.input.scale_grid) if snakemake.input.scale_grid else None,
)
facts["machine"] = machine_fact([*logreg, *sweep, *trainings])
# The exploratory analyses' facts (rule exploratory_lenet's tables): descriptions, in no confirmatory family.
facts.update(exploratory_facts({name: pd.read_csv(snakemake.input[f"exploratory_{name}"])
                                for name in ("confusions", "ranking", "per_epoch")}))
# With the configuration they were made under and the parts of the study it left out (mnistrepro.facts).
write_facts(snakemake.output.facts, facts, snakemake.config)
