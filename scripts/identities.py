"""Rule `identities` (experiment C): run every convolution / backprop check on real data."""

import hashlib
import logging

import torch

from mnistrepro.data.tensors import load_mnist
from mnistrepro.experiments import identities as ident
from mnistrepro.study.io import atomic_path
from mnistrepro.study.logs import setup_logging

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0]).getChild("identities")
p = snakemake.params
torch.set_num_threads(snakemake.threads)
device = torch.device(p.device)

mnist = load_mnist(snakemake.input.mnist)
n = p.n_images if p.n_images is not None else mnist["test_images"].shape[0]
images, labels = mnist["test_images"][:n], mnist["test_labels"][:n]
rgb, rgb_path = ident.load_sample_rgb(p.rgb_sample)
log.info("MNIST test images: %s; RGB photo %s %s, sha256 %s", tuple(images.shape), rgb_path, rgb.shape,
         hashlib.sha256(rgb_path.read_bytes()).hexdigest())

table = ident.run_all_checks(
    images, labels, rgb,
    rgb_name=rgb_path.name,
    pool_sizes=p.pool_sizes,
    maxpool_sizes=p.maxpool_sizes,
    mlp_depths=p.mlp_depths,
    mlp_hidden=p.mlp_hidden,
    mlp_batch=p.mlp_batch,
    seed=p.seed,
    device=device,
)
for row in table.itertuples():
    level = logging.INFO if row.as_expected else logging.ERROR
    log.log(level, "%s | %s: max |err| %.3g, tolerance %.3g, holds %s (expected %s, %d of %d values over)",
            row.identity, row.input, row.max_abs_error, row.tolerance, row.holds, row.expected,
            row.n_exceeding, row.n_values)
unexpected = int((~table["as_expected"]).sum())
if unexpected:
    log.error("%d check(s) did not come out as expected; see the table", unexpected)
else:
    log.info("all %d checks came out as expected", len(table))

with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
log.info("wrote %s", snakemake.output.table)
