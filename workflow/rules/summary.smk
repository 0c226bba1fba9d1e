# What a run says (gathered by mnistrepro/study/estimate.py, mnistrepro/outputs/progress.py and run_summary.py, worded
# by mnistrepro/report/): before its first job, how long it will take on this machine; while it runs, where it stands
# in time (LeNet-5 runs done, time left), with Snakemake's routine per-job lines kept in its log (.snakemake/log/)
# instead of the console; at the end, on success the findings, where the tables and figures are and the report command
# for this configuration; on failure each failed rule and its log, gathered from Snakemake's own log, since Snakemake
# prints them mid-run where they scroll away.
import sys

from mnistrepro.outputs.progress import start_study_console, stop_progress
from mnistrepro.outputs.run_summary import failure_summary, success_summary


onstart:
    start_study_console(workflow, config, lenet_on_gpu=bool(LENET_GPU), seeds_per_job=LENET_SEEDS_PER_JOB)


onsuccess:
    stop_progress()
    print(
        "\n".join(success_summary(config, workflow.overwrite_configfiles, workflow.config_settings.config)),
        file=sys.stderr,
    )


onerror:
    stop_progress()
    print("\n".join(failure_summary(log)), file=sys.stderr)
