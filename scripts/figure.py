"""Every figure rule (workflow/rules/figures.smk): draw the figure its `plot` param names, from its
named input files and its settings, with mnistrepro.outputs.figures."""
from mnistrepro.outputs.figures import PLOTS, save
from mnistrepro.study.io import atomic_path
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
plot = PLOTS[snakemake.params.plot]
figure = plot(**dict(snakemake.input.items()), **snakemake.params.settings)
with atomic_path(snakemake.output[0]) as tmp:
    save(figure, tmp)
log.info("wrote %s", snakemake.output[0])
