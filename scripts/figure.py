"""The figure rules: draw the figure named by the rule (see mnistrepro.figures.FIGURES)."""
from mnistrepro.figures import FIGURES, save
from mnistrepro.io import atomic_path
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
figure = FIGURES[snakemake.rule](snakemake.input)
with atomic_path(snakemake.output[0]) as tmp:
    save(figure, tmp)
log.info("wrote %s", snakemake.output[0])
