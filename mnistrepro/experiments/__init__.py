"""The experiments: logistic regression, LeNet-5 (its ops, training, evaluation, calibration), the identities.
May import mnistrepro.study, .data and .analysis (an evaluation's ECE is analysis.stats'); never the report."""
