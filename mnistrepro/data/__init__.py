"""MNIST's files: the four IDX files and their checksums, acquired and verified, and read as tensors.
May import mnistrepro.study only."""
