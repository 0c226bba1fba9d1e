"""Rule exploratory_lenet: LeNet-5's evaluation records and per-epoch histories (and the sweep's runs with its
ranking) -> the two exploratory tables of mnistrepro.analysis.exploratory: the digit pairs' confusion rates and their
ranking next to logistic regression's, and the sparse - full difference after every epoch. They describe; none
enters comparisons.csv. Rule aggregate reads them for the facts."""
import pandas as pd

from mnistrepro.analysis.exploratory import confusion_table, per_epoch_table, ranking_table
from mnistrepro.outputs.aggregate import lenet_history, runs_table, table_rng
from mnistrepro.study.choices import claim_pair
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
params = snakemake.params
evaluations = [read_json(p) for p in snakemake.input.evaluations]
sweep = [record for p in snakemake.input.sweep for record in read_json(p)]  # a file per pair
sweep_runs = runs_table(sweep=sweep)
history = lenet_history((read_json(t), pd.read_csv(h))
                        for t, h in zip(snakemake.input.training, snakemake.input.history, strict=True))
tables = {
    "confusions": confusion_table(evaluations, table_rng(params.seed, "lenet_pair_confusions"), params.resamples),
    "ranking": ranking_table(evaluations, pd.read_csv(snakemake.input.pairs), sweep_runs,
                             table_rng(params.seed, "pair_ranking_models"), params.resamples),
    # Empty where one C3 kind ran: no seed has both to difference.
    "per_epoch": per_epoch_table(history, claim_pair("c3"), params.resamples),
}
for name, table in tables.items():
    log.info("%s: %d rows", name, len(table))
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False)
