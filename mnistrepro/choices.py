"""The values the config's settings and the workflow's wildcards choose from, defined once.

No torch import: the Snakefile reads this (wildcard constraints) and the tests compare the config
schema's enums with it; the modules that implement each choice import their list from here.
"""

from __future__ import annotations

# Logistic-regression losses (mnistrepro.logreg): MSE on the sigmoid, and the logistic (cross-entropy) loss.
LOSSES: tuple[str, ...] = ("mse", "ce")
# Pixel scalings of logistic regression: raw 0-255 values, or divided by 255.
SCALINGS: tuple[str, ...] = ("raw", "unit")
# LeNet-5's C3 layer (mnistrepro.lenet): LeCun's sparse connection table, or a full convolution.
C3_KINDS: tuple[str, ...] = ("sparse", "full")
# Where the MNIST IDX files may come from (mnistrepro.acquisition.acquire_mnist), tried in the config's order.
SOURCES: tuple[str, ...] = ("official", "pypi", "local")
# The config's `device` (mnistrepro.device.resolve_device).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
