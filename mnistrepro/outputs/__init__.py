"""The study's outputs: tables (aggregate), figures, findings command and README files, progress, run summary, two
studies side by side. May import every other layer: computed below it and worded by mnistrepro.report."""
