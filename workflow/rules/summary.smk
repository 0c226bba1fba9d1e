# What a run says when it ends (mnistrepro/run_summary.py): on success the findings, where the tables
# and figures are and the report command for this configuration; on failure each failed rule and its
# log, gathered from Snakemake's own log, since Snakemake prints them mid-run where they scroll away.
import sys

from mnistrepro.run_summary import failure_summary, success_summary


onsuccess:
    print(
        "\n".join(success_summary(config, workflow.overwrite_configfiles, workflow.config_settings.config)),
        file=sys.stderr,
    )


onerror:
    print("\n".join(failure_summary(log)), file=sys.stderr)
