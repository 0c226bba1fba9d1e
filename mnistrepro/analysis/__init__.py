"""The analysis: statistics over runs, the sample size, the registry's comparisons, the exploratory tables, the facts.
May import mnistrepro.study and mnistrepro.data; never a model (experiments), a sentence (report), an output."""
