"""Rule data_summary: where MNIST came from, its verified checksums, and the image counts."""
import pandas as pd

from mnistrepro.data.tensors import load_mnist, load_pair, pair_counts
from mnistrepro.study.io import atomic_path, read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
record = read_json(snakemake.input.record)
mnist = load_mnist(snakemake.input.mnist)
pair = load_pair(snakemake.input.pair)
neg, pos = pair["digits"]
rows = [("source that served", record["source"])]
rows += [(f"MD5 {name} (verified)", md5) for name, md5 in record["md5"].items()]
rows += [("training images", mnist["train_labels"].numel()), ("test images", mnist["test_labels"].numel())]
counts = pair_counts(pair)
for split in ("train", "test"):
    rows.append((f"{neg} vs {pos} {split} images ({neg} -> -1 + {pos} -> +1)",
                 f"{counts[split]} ({counts[f'{split}_-1']} + {counts[f'{split}_+1']})"))
table = pd.DataFrame(rows, columns=["item", "value"])
log.info("\n%s", table.to_string(index=False))
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
