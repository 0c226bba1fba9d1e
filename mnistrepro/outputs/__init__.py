"""The study's outputs: its tables (aggregate), figures, end-of-run summary, and two studies side by side.
May import every other layer: they are computed by mnistrepro.analysis and worded by mnistrepro.report."""
