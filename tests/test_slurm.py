"""The SLURM path, end to end: a real single-node cluster, the workflow submitted with the profile.

A session fixture starts munged, slurmctld and slurmd from Debian's packages (one fake GPU gres,
no accounting database; see tests/slurm/minicluster.py). A tiny configuration of the whole
workflow (.test/config_slurm.yaml) then runs through ``snakemake --executor slurm`` with
workflow/profiles/slurm, and a second run with ``device: cuda`` makes the LeNet job fail on the
fake GPU.

Skipped only where the cluster cannot exist (not root, or slurm-wlm/munge missing) AND the
environment variable CI is unset; under CI those are failures. A cluster that is possible here but
does not start is always a failure.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
import minicluster  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "workflow" / "profiles" / "slurm"
TEST_CONFIG = REPO / ".test" / "config_slurm.yaml"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# Rules whose jobs must ask SLURM for a GPU; every other submitted job must not.
GPU_RULES = {"train_lenet"}
# Rules marked `localrule: True`: seconds of work, run by Snakemake itself rather than queued.
LOCAL_RULES = {
    "all", "data_summary", "aggregate", "lenet_params", "environment", "rule_benchmarks", "figure_logreg_steps",
    "figure_logreg_distribution",
    "figure_pair_difficulty", "figure_accuracy_vs_params", "figure_lenet_epochs", "figure_lenet_confusion",
    "figure_misclassified", "figure_train_time", "figure_rule_resources",
}


# --------------------------------------------------------------------------- cluster
@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    missing = minicluster.missing_requirements()
    if missing:
        msg = "no SLURM test cluster possible here: missing " + ", ".join(missing) + " (run .ci/slurm-setup.sh as root)"
        if IN_CI:
            pytest.fail(msg + "; CI is set, so this is a failure, not a skip")
        pytest.skip(msg)
    cluster = minicluster.Cluster(tmp_path_factory.mktemp("slurm-cluster"))
    try:
        cluster.start()
    except minicluster.ClusterError as exc:
        pytest.fail(f"the SLURM test cluster did not start: {exc}")
    yield cluster
    cluster.stop()


# --------------------------------------------------------------------------- running
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")
SBATCH_CALL = re.compile(r"^sbatch call: (sbatch .*)$", re.M)


@dataclass
class SlurmJob:
    snakemake_id: int
    slurm_id: str
    log: Path
    rule: str = ""
    sbatch: str = ""
    scontrol: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    workdir: Path
    returncode: int
    output: str
    seconds: float
    jobs: list[SlurmJob]

    def jobs_of(self, rule: str) -> list[SlurmJob]:
        return [j for j in self.jobs if j.rule == rule]


def scontrol_job(slurm_id: str) -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "job", "-o", slurm_id], capture_output=True, text=True, timeout=30).stdout
    # one line of Key=Value pairs; values have no spaces except in a few keys we do not read
    return dict(m.groups() for m in re.finditer(r"(\w[\w/:]*)=(\S*)", out))


class Submission:
    """One ``snakemake --executor slurm`` run in ``workdir``, started now, collected by ``finish``."""

    def __init__(self, workdir: Path, config: dict, *targets: str) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        cmd = [
            sys.executable, "-m", "snakemake",
            "-s", str(REPO / "Snakefile"),
            "--executor", "slurm",
            "--workflow-profile", str(PROFILE),
            # Poll after 2 s, not after the plugin's default 40 s: the jobs here are tiny.
            "--slurm-init-seconds-before-status-checks", "2",
            "--verbose",  # logs every `sbatch call:`
            *targets,
        ]
        # --export=ALL hands this environment to the jobs: drop what would fake a job context or a GPU.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLURM_", "SBATCH_", "SRUN_")) and k != "CUDA_VISIBLE_DEVICES"}
        self.log_path = workdir / "snakemake-slurm.log"
        self.start = time.monotonic()
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def finish(self, timeout: float) -> Run:
        try:
            self.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - self.start)))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
            subprocess.run(["scancel", "--full", "-u", "root"], capture_output=True, timeout=30)
            pytest.fail(f"snakemake on SLURM did not finish in {timeout} s:\n{self.log_path.read_text()[-5000:]}")
        seconds = time.monotonic() - self.start
        output = self.log_path.read_text(errors="replace")
        calls = SBATCH_CALL.findall(output)
        jobs = []
        for m in SUBMITTED.finditer(output):
            job = SlurmJob(int(m.group(1)), m.group(2), Path(m.group(3)))
            # The sbatch line names the log as .../rule_<rule>/<wildcards>/%j.log.
            template = str(job.log).replace(f"/{job.slurm_id}.log", "/%j.log")
            matching = [c for c in calls if f"--output {template} " in c]
            job.sbatch = matching[0] if len(matching) == 1 else ""
            rule_dir = next((p for p in job.log.parts if p.startswith("rule_")), "")
            job.rule = rule_dir[len("rule_"):]
            job.scontrol = scontrol_job(job.slurm_id)
            jobs.append(job)
        return Run(self.workdir, self.proc.returncode, output, seconds, jobs)


def gpu_tres(job: SlurmJob) -> str:
    """The GPU request slurmctld holds for ``job`` ('' if none)."""
    found = [job.scontrol.get(k, "") for k in ("TresPerJob", "TresPerNode", "TresPerTask")]
    return ",".join(v for v in found if "gpu" in v)


def tail(run: Run, n: int = 6000) -> str:
    return run.output[-n:]


def tiny_config(idx_dir: Path | None = None) -> dict:
    """.test/config_slurm.yaml; with ``idx_dir``, its `local` data source set to that directory."""
    config = yaml.safe_load(TEST_CONFIG.read_text())
    if idx_dir is not None:
        config["data"]["sources"] = ["local"]
        config["data"]["local_dir"] = str(idx_dir)
    return config


IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture(scope="module")
def slurm_runs(slurm_cluster, mnist_idx_dir, tmp_path_factory) -> dict[str, Run]:
    """Two workflows submitted to the cluster at once (they share it, as users do).

    good: the tiny configuration, the whole workflow. Its download_mnist job takes the IDX files
    from the `local` source (the verified test copy), so nothing is fetched from the network.
    fail: ``device: cuda`` on a node whose GPU torch cannot see, one LeNet target (and the data
    jobs it needs): the LeNet job must raise.
    """
    good_dir = tmp_path_factory.mktemp("slurm-run")
    good_config = tiny_config(mnist_idx_dir)

    fail_dir = tmp_path_factory.mktemp("slurm-fail")
    fail_config = tiny_config(mnist_idx_dir)
    fail_config["device"] = "cuda"

    good = Submission(good_dir, good_config)
    fail = Submission(fail_dir, fail_config, LENET_FAIL_TARGET)
    return {"good": good.finish(timeout=600), "fail": fail.finish(timeout=600)}


@pytest.fixture(scope="module")
def good_run(slurm_runs) -> Run:
    return slurm_runs["good"]


@pytest.fixture(scope="module")
def failed_run(slurm_runs) -> Run:
    return slurm_runs["fail"]


LENET_FAIL_DIR = "results/lenet/sparse/seed0"
LENET_FAIL_TARGET = f"{LENET_FAIL_DIR}/metrics.json"


def expected_outputs(config: dict) -> list[str]:
    """The contract paths (docs/CONTRACTS.md) this configuration must produce."""
    a, b = config["pair"]
    lr = config["logreg"]
    paths = [
        *(f"results/data/idx/{n}" for n in IDX_NAMES),
        "results/data/mnist.pt",
        f"results/data/pair_{a}_{b}.pt",
    ]
    paths += [f"results/logreg/main/{loss}_{sc}/seed{s}.json" for loss in lr["losses"] for sc in lr["scalings"] for s in lr["seeds"]]
    for c3 in config["lenet"]["c3"]:
        for s in config["lenet"]["seeds"]:
            paths += [f"results/lenet/{c3}/seed{s}/{f}" for f in ("metrics.json", "history.csv", "model.pt")]
    return paths


# --------------------------------------------------------------------------- tests
def test_workflow_completes_on_slurm(good_run):
    assert good_run.returncode == 0, tail(good_run)
    missing = [p for p in expected_outputs(tiny_config()) if not (good_run.workdir / p).is_file()]
    assert not missing, f"missing outputs: {missing}\n{tail(good_run)}"
    # Nothing is left to do: every output of every rule exists and is up to date.
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--workflow-profile", "none"],
        cwd=good_run.workdir, capture_output=True, text=True, timeout=300,
    )
    assert dry.returncode == 0, dry.stderr
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]


def test_every_job_went_through_sbatch(good_run):
    assert good_run.returncode == 0, tail(good_run)
    rules = {j.rule for j in good_run.jobs}
    for rule in ("download_mnist", "idx_to_tensors", "extract_pair", "train_logreg", "train_lenet", "identities"):
        assert rule in rules, f"no SLURM job for {rule}; submitted: {sorted(rules)}"
    # Every job Snakemake finished was submitted, except the local target rule(s).
    finished = {int(i): r for i, r in re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", good_run.output)}
    submitted = {j.snakemake_id for j in good_run.jobs}
    assert submitted <= set(finished), (submitted, finished)
    local = {r for i, r in finished.items() if i not in submitted}
    assert local <= LOCAL_RULES, f"jobs that ran outside SLURM: {local}"
    # Every job: a real SLURM job id, its sbatch line, a kept log file named by the id.
    ids = [j.slurm_id for j in good_run.jobs]
    assert len(ids) == len(set(ids))
    for job in good_run.jobs:
        assert job.slurm_id.isdigit()
        assert job.sbatch.startswith("sbatch "), f"no sbatch line for {job}"
        assert job.log.name == f"{job.slurm_id}.log" and job.log.is_file(), job
        assert job.log.is_relative_to(good_run.workdir / ".snakemake" / "slurm_logs")
        assert job.scontrol.get("JobId") == job.slurm_id, job.scontrol
        assert job.scontrol.get("JobState") == "COMPLETED", job.scontrol
        # The log is the job's own output: the job step ran Snakemake for exactly this rule.
        text = job.log.read_text(errors="replace")
        assert f"rule {job.rule}:" in text or f"localrule {job.rule}:" in text, text[-2000:]
        assert f"--comment rule_{job.rule}" in job.sbatch


def test_gpu_jobs_get_the_gres_and_cpu_jobs_do_not(good_run):
    assert good_run.returncode == 0, tail(good_run)
    gpu_jobs = [j for j in good_run.jobs if j.rule in GPU_RULES]
    cpu_jobs = [j for j in good_run.jobs if j.rule not in GPU_RULES]
    assert len(gpu_jobs) == len(tiny_config()["lenet"]["c3"]) * len(tiny_config()["lenet"]["seeds"])
    assert cpu_jobs
    for job in gpu_jobs:
        assert " --gpus=1" in job.sbatch and " -p gpu " in job.sbatch, job.sbatch
        # what slurmctld recorded for the job (the test cluster has no accounting, so the
        # request shows in TresPerJob for --gpus / TresPerNode for --gres)
        assert gpu_tres(job) == "gres:gpu:1", job.scontrol
        assert job.scontrol.get("Partition") == "gpu"
        # Inside the job, SLURM exposed the (fake) GPU.
        assert "'CUDA_VISIBLE_DEVICES': '0'" in job.log.read_text(errors="replace")
    for job in cpu_jobs:
        assert "--gpus" not in job.sbatch and "--gres" not in job.sbatch, job.sbatch
        assert gpu_tres(job) == "", job.scontrol
        assert job.scontrol.get("Partition") == "cpu"
        assert "CUDA_VISIBLE_DEVICES" not in job.log.read_text(errors="replace")


def test_training_jobs_record_the_device_they_were_given(good_run):
    """device: auto, decided inside the job: SLURM set CUDA_VISIBLE_DEVICES=0 but torch sees no
    CUDA on this fake GPU, so LeNet trained on the CPU; the job logs and records all of that."""
    import json

    assert good_run.returncode == 0, tail(good_run)
    config = tiny_config()
    # the SLURM log directory of a job is named by its wildcards, e.g. sparse_0
    lenet_jobs = {j.log.parent.name: j for j in good_run.jobs_of("train_lenet")}
    for c3 in config["lenet"]["c3"]:
        for s in config["lenet"]["seeds"]:
            job = lenet_jobs[f"{c3}_{s}"]
            metrics = json.loads((good_run.workdir / f"results/lenet/{c3}/seed{s}/metrics.json").read_text())
            assert metrics["device"] == "cpu", metrics
            assert str(metrics["cuda_visible_devices"]) == "0", metrics
            assert str(metrics["slurm_job_id"]) == job.slurm_id, metrics
            rule_log = (good_run.workdir / f"results/logs/lenet/{c3}_seed{s}.log").read_text()
            assert re.search(r"device cpu\b", rule_log), rule_log
            assert "CUDA_VISIBLE_DEVICES=0" in rule_log, rule_log
    lr = config["logreg"]
    for loss in lr["losses"]:
        run = json.loads((good_run.workdir / f"results/logreg/main/{loss}_{lr['scalings'][0]}/seed0.json").read_text())
        assert run["device"] == "cpu", run


def test_failing_job_is_reported_and_leaves_nothing_complete(failed_run):
    assert failed_run.returncode != 0, tail(failed_run)
    lenet = failed_run.jobs_of("train_lenet")
    assert len(lenet) == 1, (failed_run.jobs, tail(failed_run))
    job = lenet[0]
    # The data jobs before it succeeded: only the LeNet job failed.
    others = {j.rule: j.scontrol.get("JobState") for j in failed_run.jobs if j is not job}
    assert set(others.values()) <= {"COMPLETED"}, others
    # It was a real SLURM job, with the GPU, and SLURM recorded it as failed ...
    assert " --gpus=1" in job.sbatch
    assert job.scontrol.get("JobState") == "FAILED", job.scontrol
    assert job.scontrol.get("ExitCode", "0:0") != "0:0", job.scontrol
    # ... Snakemake reported it as failed ...
    assert f"SLURM-job '{job.slurm_id}' failed" in failed_run.output, tail(failed_run)
    assert "Error in rule train_lenet" in failed_run.output, tail(failed_run)
    # ... its SLURM log is kept and says why ...
    assert job.log.is_file()
    assert "no GPU" in job.log.read_text(errors="replace"), job.log.read_text(errors="replace")[-3000:]
    # ... and no output that looks complete is left behind.
    out_dir = failed_run.workdir / LENET_FAIL_DIR
    leftovers = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    assert leftovers == [], leftovers
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--workflow-profile", "none",
         LENET_FAIL_TARGET],
        cwd=failed_run.workdir, capture_output=True, text=True, timeout=300,
    )
    assert "train_lenet" in dry.stdout, dry.stdout[-3000:]
