"""The SLURM path, end to end: a real single-node cluster, the workflow submitted with the profile.

A session fixture starts munged, slurmctld and slurmd from Debian's packages (one fake GPU gres,
no accounting database; see tests/slurm/minicluster.py). Three workflows then run at once through
``snakemake --executor slurm`` with workflow/profiles/slurm: a tiny configuration of the whole
workflow (.test/config_slurm.yaml); the same with ``device: cuda``, which makes the LeNet jobs fail
on the fake GPU while everything else succeeds; and one LeNet run cancelled with ``scancel`` after
its first epoch, which the profile's retries must resubmit and the checkpoint resume.

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
from conftest import job_counts, lenet_job_paths, run_snakemake  # noqa: E402
from mnistrepro.data.mnist_files import IDX_FILES  # noqa: E402
from mnistrepro.study.studies import lenet_run_paths  # noqa: E402

# A real SLURM cluster running the workflow: the slow tier.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "workflow" / "profiles" / "slurm"
TEST_CONFIG = REPO / ".test" / "config_slurm.yaml"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# Rules whose jobs must ask SLURM for a GPU (the profile's set-resources that name one); every other
# submitted job must not.
GPU_RULES = {rule for rule, resources in yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"].items()
             if "gpu" in resources or "gpu" in str(resources.get("gres", ""))}
# Rules that must go to the cluster (training, the identities) and rules that must not (the data rules:
# compute nodes may be offline); which other rules are local is the workflow's own say (rule_locality).
MUST_SUBMIT = {"train_logreg", "train_lenet", "evaluate_lenet", "identities"}
MUST_RUN_LOCALLY = {"download_mnist", "idx_to_tensors", "extract_pair", "environment"}

# Loads the workflow as the SLURM executor would run it and prints, per rule, whether Snakemake runs its jobs
# itself (`localrule: True`, or a rule that runs nothing, such as `all`) rather than submitting them. No
# command-line option says this (a dry run prints `rule X:` for both), so it asks the API's parsed workflow,
# with the SLURM executor plugin set on it, for Snakemake's own decision (Workflow.is_local).
RULE_LOCALITY = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.enums import Quietness
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

snakefile, workdir = map(Path, sys.argv[1:])
with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
    workflow = api.workflow(ResourceSettings(), ConfigSettings(), snakefile=snakefile, workdir=workdir)._workflow
    workflow._executor_plugin = ExecutorPluginRegistry().get_plugin("slurm")
    print(json.dumps({rule.name: workflow.is_local(rule) for rule in workflow.rules}))
"""


def rule_locality(workdir: Path) -> dict[str, bool]:
    """Every rule of the workflow with ``workdir``'s config.yaml -> whether its jobs run on the submitting host."""
    import json

    result = subprocess.run([sys.executable, "-c", RULE_LOCALITY, str(REPO / "Snakefile"), str(workdir)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


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

    def __init__(self, workdir: Path, config: dict, *targets: str, extra_args: tuple[str, ...] = ()) -> None:
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
            *extra_args,
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
        seen: dict[str, int] = {}
        for m in SUBMITTED.finditer(output):
            job = SlurmJob(int(m.group(1)), m.group(2), Path(m.group(3)))
            # The sbatch line names the log as .../rule_<rule>/<wildcards>/%j.log; a retried job's
            # attempts share it, in submission order.
            template = str(job.log).replace(f"/{job.slurm_id}.log", "/%j.log")
            matching = [c for c in calls if f"--output {template} " in c]
            attempt = seen[template] = seen.get(template, -1) + 1
            job.sbatch = matching[attempt] if attempt < len(matching) else ""
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


def resume_config(idx_dir: Path) -> dict:
    """One LeNet run long enough to be cancelled between its first checkpoint and its end."""
    config = tiny_config(idx_dir)
    config["lenet"].update(c3=["sparse"], seeds=[0], epochs=3, train_limit=20000, test_limit=1000)
    return config


# The shared LeNet-5 run directories (mnistrepro.study.studies): the tiny config's sparse seed 0, which the
# failed run leaves empty, and the resume config's, whose job is cancelled and resumed.
# The failed run asks for `device: cuda`, so the submitting host groups its seeds (seeds_per_job auto: a GPU).
LENET_FAIL_PATHS = lenet_job_paths({**tiny_config(), "device": "cuda"}, True, "sparse", 0)
LENET_FAIL_DIR = LENET_FAIL_PATHS["run"]
RESUME_TARGET = lenet_run_paths(resume_config(None))["run"].format(c3="sparse", seed=0) + "/model.pt"
RESUME_CHECKPOINT = lenet_run_paths(resume_config(None))["checkpoint"].format(c3="sparse", seeds=0)
RESUME_LOG = lenet_run_paths(resume_config(None))["log"].format(c3="sparse", seeds=0)


def cancel_after_first_checkpoint(submission: Submission, timeout: float = 300) -> str:
    """Wait for the LeNet job's first checkpoint, then ``scancel`` that SLURM job; return its id."""
    checkpoint = submission.workdir / RESUME_CHECKPOINT
    deadline = time.monotonic() + timeout
    while not checkpoint.exists():
        if time.monotonic() > deadline or submission.proc.poll() is not None:
            pytest.fail(f"no LeNet checkpoint appeared:\n{submission.log_path.read_text()[-5000:]}")
        time.sleep(0.1)
    submitted = [m for m in SUBMITTED.finditer(submission.log_path.read_text()) if "rule_train_lenet" in m.group(3)]
    assert len(submitted) == 1, submission.log_path.read_text()[-5000:]
    slurm_id = submitted[0].group(2)
    subprocess.run(["scancel", slurm_id], check=True, timeout=30)
    return slurm_id


@pytest.fixture(scope="module")
def slurm_runs(slurm_cluster, mnist_idx_dir, tmp_path_factory) -> dict:
    """Three workflows submitted to the cluster at once (they share it, as users do).

    good: the tiny configuration, the whole workflow. Its download_mnist job (on the submitting
    host) takes the IDX files from the `local` source, so nothing is fetched from the network.
    fail: the same with ``device: cuda`` and ``--keep-going``: torch sees no CUDA on the node's fake
    GPU, so every LeNet attempt must fail, and everything else must succeed.
    resume: one longer LeNet run, cancelled with ``scancel`` after its first epoch: the profile's
    ``retries`` must resubmit it, and the retry must resume from the checkpoint.
    With 2 CPUs in the test cluster, the three share it: this takes a few minutes.
    """
    good_config = tiny_config(mnist_idx_dir)
    fail_config = tiny_config(mnist_idx_dir)
    fail_config["device"] = "cuda"

    resume = Submission(tmp_path_factory.mktemp("slurm-resume"), resume_config(mnist_idx_dir), RESUME_TARGET)
    good = Submission(tmp_path_factory.mktemp("slurm-run"), good_config)
    # No retries here: they would only repeat the same failure (the resume run tests retries).
    fail = Submission(tmp_path_factory.mktemp("slurm-fail"), fail_config, extra_args=("--keep-going", "--retries", "0"))
    cancelled = cancel_after_first_checkpoint(resume)
    return {"good": good.finish(timeout=600), "fail": fail.finish(timeout=600),
            "resume": resume.finish(timeout=600), "cancelled": cancelled}


@pytest.fixture(scope="module")
def good_run(slurm_runs) -> Run:
    return slurm_runs["good"]


@pytest.fixture(scope="module")
def failed_run(slurm_runs) -> Run:
    return slurm_runs["fail"]


@dataclass
class Plan:
    """What the workflow itself says a run of the tiny configuration does: its jobs per rule (a dry run),
    and which rules run on the submitting host."""

    jobs: dict[str, int]
    local: set[str]
    submitted: set[str]


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory) -> Plan:
    config = tmp_path_factory.mktemp("slurm-plan") / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    workdir = config.parent / "work"
    dry = run_snakemake(workdir, "-n", "--quiet", "rules", config=config)
    assert dry.returncode == 0, dry.stderr[-3000:]
    locality = rule_locality(workdir)
    return Plan(job_counts(dry.stdout), {r for r, local in locality.items() if local},
                {r for r, local in locality.items() if not local})


def expected_outputs(config: dict) -> list[str]:
    """The contract paths (docs/CONTRACTS.md) this configuration must produce."""
    a, b = config["pair"]
    lr = config["logreg"]
    paths = [
        *(f"results/data/idx/{f.name}" for f in IDX_FILES),
        "results/data/mnist.pt",
        f"results/data/pair_{a}_{b}.pt",
    ]
    paths += [f"results/logreg/main/{loss}_{sc}/seed{s}.json" for loss in lr["losses"] for sc in lr["scalings"] for s in lr["seeds"]]
    for c3 in config["lenet"]["c3"]:
        for s in config["lenet"]["seeds"]:
            run = lenet_run_paths(config)["run"].format(c3=c3, seed=s)
            paths += [f"{run}/{f}" for f in ("training.json", "history.csv", "model.pt")]
            paths.append(f"results/lenet_eval/{c3}/seed{s}.json")  # the default study's evaluation
    return paths


# --------------------------------------------------------------------------- tests
def test_plan_submits_training_and_identities_only(tiny_plan):
    """Without a cluster: the workflow submits training and the identities, with the GPU jobs among them,
    and runs the data rules on the submitting host (the one with internet access)."""
    assert MUST_SUBMIT <= tiny_plan.submitted, tiny_plan
    assert MUST_RUN_LOCALLY <= tiny_plan.local, tiny_plan
    assert GPU_RULES and GPU_RULES <= tiny_plan.submitted, (GPU_RULES, tiny_plan)
    assert set(tiny_plan.jobs) <= tiny_plan.local | tiny_plan.submitted


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


def test_only_training_and_identities_go_through_sbatch(good_run, tiny_plan):
    assert good_run.returncode == 0, tail(good_run)
    # Exactly the rules the workflow does not mark local went to SLURM, each with all its jobs.
    rules = {j.rule for j in good_run.jobs}
    assert rules == tiny_plan.submitted, f"submitted to SLURM: {sorted(rules)}; expected {sorted(tiny_plan.submitted)}"
    expected_jobs = sum(tiny_plan.jobs[rule] for rule in tiny_plan.submitted)
    assert len(SBATCH_CALL.findall(good_run.output)) == len(good_run.jobs) == expected_jobs
    # Every other job Snakemake finished ran on the submitting host: every local rule's.
    finished = {int(i): r for i, r in re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", good_run.output)}
    submitted = {j.snakemake_id for j in good_run.jobs}
    assert submitted <= set(finished), (submitted, finished)
    local = {r for i, r in finished.items() if i not in submitted}
    assert local == tiny_plan.local, f"ran outside SLURM: {sorted(local)}; expected {sorted(tiny_plan.local)}"
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


def test_gpu_jobs_get_the_gres_and_cpu_jobs_do_not(good_run, tiny_plan):
    assert good_run.returncode == 0, tail(good_run)
    gpu_jobs = [j for j in good_run.jobs if j.rule in GPU_RULES]
    cpu_jobs = [j for j in good_run.jobs if j.rule not in GPU_RULES]
    assert len(gpu_jobs) == sum(tiny_plan.jobs[rule] for rule in GPU_RULES)  # LeNet-5 training + evaluation
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
            run_dir = lenet_run_paths(config)["run"].format(c3=c3, seed=s)
            metrics = json.loads((good_run.workdir / run_dir / "training.json").read_text())
            assert metrics["device"] == "cpu", metrics
            hardware = metrics["hardware"]
            assert str(hardware["cuda_visible_devices"]) == "0", hardware
            assert hardware["slurm_job_id"] == job.slurm_id and hardware["device"] == "cpu", hardware
            assert hardware["host"] == job.scontrol.get("BatchHost"), (hardware, job.scontrol)
            rule_log = (good_run.workdir / lenet_run_paths(config)["log"].format(c3=c3, seeds=s)).read_text()
            assert re.search(r"device cpu\b", rule_log), rule_log
            assert "CUDA_VISIBLE_DEVICES=0" in rule_log, rule_log
    # The Hardware table gathers what the jobs recorded: the SLURM job ids of every LeNet run.
    import pandas as pd

    table = pd.read_csv(good_run.workdir / "results/tables/hardware.csv", dtype=str)
    lenet_rows = table[table["experiment"] == "lenet"]
    assert lenet_rows["runs"].astype(int).sum() == len(lenet_jobs), table
    assert set(",".join(lenet_rows["slurm_jobs"]).split(",")) == {j.slurm_id for j in lenet_jobs.values()}, table
    lr = config["logreg"]
    for loss in lr["losses"]:
        run = json.loads((good_run.workdir / f"results/logreg/main/{loss}_{lr['scalings'][0]}/seed0.json").read_text())
        assert run["device"] == "cpu", run


def test_device_cuda_without_gpu_fails_only_training(failed_run, tiny_plan):
    """``device: cuda``, the submitting host and the GPU node without CUDA, ``--keep-going``: every
    submit-host rule succeeds, and only LeNet training fails."""
    assert failed_run.returncode != 0, tail(failed_run)
    assert set(re.findall(r"Error in rule (\w+):", failed_run.output)) == {"train_lenet"}, tail(failed_run)
    for table in ("environment.csv", "data.csv", "params.csv", "identities.csv"):
        assert (failed_run.workdir / "results/tables" / table).is_file(), (table, tail(failed_run))
    lenet = failed_run.jobs_of("train_lenet")
    assert len(lenet) == tiny_plan.jobs["train_lenet"], failed_run.jobs
    # The other submitted jobs succeeded: only the LeNet jobs failed.
    others = {j.rule: j.scontrol.get("JobState") for j in failed_run.jobs if j.rule != "train_lenet"}
    assert others and set(others.values()) <= {"COMPLETED"}, others
    for job in lenet:
        # a real SLURM job, with the GPU, recorded by SLURM as failed ...
        assert " --gpus=1" in job.sbatch
        assert job.scontrol.get("JobState") == "FAILED", job.scontrol
        assert job.scontrol.get("ExitCode", "0:0") != "0:0", job.scontrol
        # ... reported by Snakemake, with its SLURM log kept, saying why and what to do.
        assert f"SLURM-job '{job.slurm_id}' failed" in failed_run.output, tail(failed_run)
        text = job.log.read_text(errors="replace")
        assert "torch sees no GPU" in text and "What to do: Set `device: auto`" in text, text[-3000:]
    rule_log = (failed_run.workdir / LENET_FAIL_PATHS["log"]).read_text()
    assert "failed with DeviceUnavailableError" in rule_log and "Traceback" in rule_log, rule_log
    # No output that looks complete is left behind, and the job is still to do.
    out_dir = failed_run.workdir / LENET_FAIL_DIR
    leftovers = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    assert leftovers == [], leftovers
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--workflow-profile", "none",
         f"{LENET_FAIL_DIR}/model.pt"],
        cwd=failed_run.workdir, capture_output=True, text=True, timeout=300,
    )
    assert "train_lenet" in dry.stdout, dry.stdout[-3000:]


# One LeNet-5 run, uninterrupted, in a fresh process: argv idx_dir, output path, then its LeNetRun's settings as JSON.
_UNINTERRUPTED = """
import json, sys
import torch
from mnistrepro.data.tensors import read_idx_dir
from mnistrepro.experiments.lenet_training import LeNetRun, to_device_data, train_group
torch.set_num_threads(1)
run = LeNetRun(**json.loads(sys.argv[3]))
data = to_device_data(read_idx_dir(sys.argv[1]), "cpu", run.train_limit, run.test_limit)
model = train_group([run], data, stacked=False)[0].model
torch.save({k: v.cpu().contiguous() for k, v in model.state_dict().items()}, sys.argv[2])
"""


def test_cancelled_lenet_job_is_resubmitted_and_resumes_to_the_same_weights(slurm_runs, mnist_idx_dir, tmp_path):
    import json

    import torch

    from mnistrepro.study.cpu_kernels import KERNEL_VARIABLES, kernel_environment

    run: Run = slurm_runs["resume"]
    assert run.returncode == 0, tail(run)
    lenet = run.jobs_of("train_lenet")
    assert [j.slurm_id for j in lenet][:1] == [slurm_runs["cancelled"]], lenet
    assert [j.scontrol.get("JobState") for j in lenet] == ["CANCELLED", "COMPLETED"], [j.scontrol for j in lenet]
    rule_log = (run.workdir / RESUME_LOG).read_text()
    # Snakemake clears a job's log before each attempt: the retry's log says where it resumed.
    assert re.search(r"resumed from epoch [123] \(checkpoint", rule_log), rule_log
    assert not (run.workdir / RESUME_CHECKPOINT).exists()

    # The same run, uninterrupted (CPU, one thread, as the job ran), in a fresh process with the CPU kernels the
    # workflow's jobs use (config cpu_kernels acts when torch loads).
    config = resume_config(None)
    settings = config["lenet"]
    lenet_run = {"c3": "sparse", "seed": 0, **{key: settings[key] for key in
                                                ("epochs", "batch_size", "lr", "train_limit", "test_limit")}}
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARIABLES} | kernel_environment(config["cpu_kernels"])
    reference = tmp_path / "uninterrupted.pt"
    subprocess.run([sys.executable, "-c", _UNINTERRUPTED, str(mnist_idx_dir), str(reference), json.dumps(lenet_run)],
                   env=env, check=True, capture_output=True, text=True, timeout=900)
    expected = torch.load(reference, weights_only=True)
    saved = torch.load(run.workdir / RESUME_TARGET, weights_only=True)["state_dict"]
    assert expected.keys() == saved.keys()
    for name, tensor in expected.items():
        assert torch.equal(saved[name], tensor), name
