"""The study's machinery: the registry of choices, config, studies, seeds, records, io, logs, devices, estimate.
Imports no other layer: every other subpackage builds on it, and the Snakefile reads it at parse time."""
