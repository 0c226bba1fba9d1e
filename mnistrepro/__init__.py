"""mnistrepro: a reproducible study of classic MNIST experiments (see the README)."""

__version__ = "0.1.0"
