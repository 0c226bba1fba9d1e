"""The study's outputs: its tables (aggregate), figures, console while it runs (progress), end-of-run summary, and
two studies side by side. May import every other layer: computed below it and worded by mnistrepro.report."""
