"""mnistrepro: a reproducible study of classic MNIST experiments (see the README).

The package is a stack of layers, one subpackage each, lowest first in :data:`LAYERS`: a module imports its own
layer and those below it, never one above (tests/test_layers.py checks it).

- ``study``: the machinery (registry of choices, config, studies, seeds, records, io, logs, devices, estimate);
- ``data``: MNIST's files, acquired, verified and read as tensors;
- ``analysis``: statistics over runs, comparisons, exploratory tables, the facts file;
- ``experiments``: logistic regression, LeNet-5 (trained and evaluated), the convolution identities;
- ``report``: words only;
- ``outputs``: the tables, figures, summaries and the console of a running study, computed below and worded by
  the report.
"""

__version__ = "0.1.0"

# Lowest first: a module may import its own layer and those before it, never one after it.
LAYERS = ("study", "data", "analysis", "experiments", "report", "outputs")
