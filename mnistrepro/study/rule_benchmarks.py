"""Wall time and peak memory of each job of a study, from Snakemake's ``benchmark:`` files (rule rule_benchmarks)."""

from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd


def rule_benchmarks(paths: Iterable[str], root: str | Sequence[str] = "results/benchmarks") -> pd.DataFrame:
    """Wall time and peak memory of each job, from Snakemake's ``benchmark:`` files.

    Returns ``job`` (the file's path under ``root``, without ``.tsv``; with several roots, such as a
    study's own benchmarks and the shared runs', under the longest that holds it), ``rule_group`` (its
    first directory), ``seconds``, ``max_rss_mb``, ``cpu_seconds``; slowest first.
    """
    roots = sorted([root] if isinstance(root, str) else root, key=len, reverse=True)
    rows = []
    for path in paths:
        bench = pd.read_csv(path, sep="\t")
        under = next((r for r in roots if str(path).startswith(r.rstrip("/") + "/")), "")
        job = str(path).removeprefix(under).strip("/").removesuffix(".tsv")
        rows.append({
            "job": job,
            "rule_group": job.split("/")[0],
            "seconds": float(bench["s"].iloc[0]),
            "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").iloc[0]),
            "cpu_seconds": float(pd.to_numeric(bench["cpu_time"], errors="coerce").iloc[0]),
        })
    table = pd.DataFrame(rows, columns=["job", "rule_group", "seconds", "max_rss_mb", "cpu_seconds"])
    return table.sort_values("seconds", ascending=False, ignore_index=True)


# ---------------------------------------------------------------------------------------------------
# The study's tables, in the two jobs that write them (rules aggregate_logreg and aggregate, results.smk)
