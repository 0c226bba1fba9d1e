"""The analysis: statistics over runs, the registry's comparisons, the exploratory tables, the facts file.
May import mnistrepro.study and mnistrepro.data; never a model (experiments), a sentence (report), an output."""
