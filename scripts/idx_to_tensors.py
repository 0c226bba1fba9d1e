"""Rule idx_to_tensors: verify the IDX files against the MD5s recorded at acquisition, then parse them
once into tensors the training jobs load in milliseconds."""
from pathlib import Path

from mnistrepro.data.acquisition import verify_acquired
from mnistrepro.data.tensors import read_idx_dir, save_mnist
from mnistrepro.study.io import read_json
from mnistrepro.study.logs import setup_logging

log = setup_logging(snakemake.log[0])
idx_dir = Path(snakemake.input.idx[0]).parent
verify_acquired(idx_dir, read_json(snakemake.input.record))
log.info("the four IDX files in %s match the MD5s recorded at acquisition", idx_dir)
mnist = read_idx_dir(idx_dir)
for name, tensor in mnist.items():
    log.info("%s: %s %s", name, tuple(tensor.shape), tensor.dtype)
save_mnist(mnist, snakemake.output[0])
