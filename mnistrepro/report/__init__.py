"""The report layer: every sentence the study writes for people, and the one set of number formatters.

The other modules compute numbers and tables (mnistrepro.analysis.stats, mnistrepro.outputs.aggregate,
mnistrepro.analysis.exploratory, mnistrepro.analysis.scale_grid, ...); the modules here turn them into words: the facts'
sentences and verdicts, the figures' words that state a result, the parts of the study a configuration left out, the
data summary, the estimate and progress of a running study, the end-of-run summary and the side-by-side comparison of
two studies. Numbers are formatted by :mod:`mnistrepro.report.numbers` alone, so a percentage, an interval, a p-value
or a digit pair reads the same everywhere.

No torch, and no statistics: no numpy, scipy or mnistrepro.analysis.stats (the levels, thresholds and result records
it words are mnistrepro.analysis.definitions'; the sample size, intervals and bootstraps are computed below it, by
mnistrepro.analysis). Importing the layer stays cheap, and a test (tests/test_report_layer.py) checks that no module
outside it words a result and that it imports neither torch nor a statistics library. The command that prints the
findings and writes the README's files is mnistrepro.outputs.findings.
"""
