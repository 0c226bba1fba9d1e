"""The report layer: every sentence the study writes for people, and the one set of number formatters.

The other modules compute numbers and tables (mnistrepro.analysis.stats, mnistrepro.outputs.aggregate,
mnistrepro.analysis.exploratory, mnistrepro.analysis.scale_grid, ...); the modules here turn them into words: the facts'
sentences and verdicts, the figures' words that state a result, the parts of the study a configuration left out, the
data summary, the estimate and progress of a running study, the end-of-run summary and the side-by-side comparison of
two studies. Numbers are formatted by :mod:`mnistrepro.report.numbers` alone, so a percentage, an interval, a p-value
or a digit pair reads the same everywhere.

No torch, and no statistics beyond arithmetic on numbers already computed: importing the layer stays cheap, and
a test (tests/test_report_layer.py) checks both that no module outside it words a result and that it does not
import torch.
"""
