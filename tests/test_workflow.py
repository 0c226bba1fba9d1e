"""The workflow as a whole: the DAG of the default config, and the lint."""

from __future__ import annotations

import re

from conftest import run_snakemake

# Every rule the default config runs, with its job count.
EXPECTED_JOBS = {
    "download_mnist": 1,
    "idx_to_tensors": 1,
    "extract_pair": 1,
    "all": 1,
}


def job_counts(stdout: str) -> dict[str, int]:
    table = stdout[stdout.index("job "):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def test_dry_run_shows_the_whole_dag(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout) == EXPECTED_JOBS
