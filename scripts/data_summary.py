"""Rule data_summary: where MNIST came from, its verified checksums, and the image counts (worded by
mnistrepro.report.data_summary)."""
import pandas as pd

from mnistrepro.data.tensors import load_mnist, load_pair, pair_counts
from mnistrepro.report.data_summary import data_summary_rows
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
record = read_json(snakemake.input.record)
mnist = load_mnist(snakemake.input.mnist)
pair = load_pair(snakemake.input.pair)
rows = data_summary_rows(record["source"], record["md5"], mnist["train_labels"].numel(),
                         mnist["test_labels"].numel(), pair["digits"], pair_counts(pair))
table = pd.DataFrame(rows, columns=["item", "value"])
log.info("\n%s", table.to_string(index=False))
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
