"""Rule idx_to_tensors: parse the IDX files once into tensors the training jobs load in milliseconds."""
from pathlib import Path

from mnistrepro.data import read_idx_dir, save_mnist
from mnistrepro.logs import setup_logging

log = setup_logging(snakemake.log[0])
mnist = read_idx_dir(Path(snakemake.input[0]).parent)
for name, tensor in mnist.items():
    log.info("%s: %s %s", name, tuple(tensor.shape), tensor.dtype)
save_mnist(mnist, snakemake.output[0])
