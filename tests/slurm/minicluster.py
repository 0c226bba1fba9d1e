"""A throw-away single-node SLURM cluster on this host, for testing the SLURM profile.

It writes ``/etc/slurm/slurm.conf`` and ``/etc/slurm/gres.conf`` for this host (hostname, CPUs
and RealMemory as ``slurmd -C`` reports them, one fake GPU: ``Gres=gpu:1`` backed by
``/dev/null``), starts ``munged`` (as user munge, unless one already answers), ``slurmctld`` and
``slurmd``, and waits until ``sinfo`` shows the node idle. ``stop()`` shuts the daemons down
again and removes the config files it wrote.

The config has to live at the default path: the jobstep executor of
snakemake-executor-plugin-slurm strips every ``SLURM_*`` variable (``SLURM_CONF`` included)
before it calls ``srun`` inside the job. An existing ``/etc/slurm/slurm.conf`` that this module
did not write is never touched: ``start()`` raises instead.

Needs root and Debian's ``slurm-wlm`` and ``munge`` packages. No accounting database:
``AccountingStorageType=accounting_storage/none``, so job states come from ``squeue``
(``MinJobAge`` keeps finished jobs visible for 5 minutes).

Two partitions share the node: ``cpu`` (the default) and ``gpu``, so that the profile's
per-rule partition choice is exercised too.

Command line (for trying things by hand)::

    python tests/slurm/minicluster.py up [STATE_DIR]
    python tests/slurm/minicluster.py status
    python tests/slurm/minicluster.py down
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "# written by mnistrepro tests/slurm/minicluster.py"
CONF_DIR = Path("/etc/slurm")
SLURM_CONF = CONF_DIR / "slurm.conf"
GRES_CONF = CONF_DIR / "gres.conf"
# Which daemons this module started, so that a later run (or `down`) can stop exactly those.
REGISTRY = Path("/run/mnistrepro-slurm.json")
LOCK = Path("/run/mnistrepro-slurm.lock")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_RUN = Path("/run/munge")

PARTITION_CPU = "cpu"
PARTITION_GPU = "gpu"
REQUIRED_BINARIES = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "srun")


class ClusterError(RuntimeError):
    """The cluster could not be started (the message says why, with daemon logs)."""


def missing_requirements() -> list[str]:
    """What stops a cluster from starting here: not root, or binaries missing. Empty if none."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (euid 0)")
    for name in REQUIRED_BINARIES:
        if shutil.which(name) is None and not Path("/usr/sbin", name).exists():
            missing.append(name)
    return missing


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/sbin", name)
    if candidate.exists():
        return str(candidate)
    raise ClusterError(f"{name} not found (install Debian's slurm-wlm and munge)")


def _run(cmd: list[str], timeout: float = 30, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise ClusterError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _alive(pid: int, comm: str | None = None) -> bool:
    """Whether ``pid`` runs (and, if ``comm`` is given, runs a program of that name)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if comm is None:
        return True
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    # Debian's daemons are called e.g. slurmctld-wlm in /proc when started by that name.
    return name.startswith(comm[:15]) or comm.startswith(name)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        # Reap it if it is our child (slurmctld/slurmd daemonise, so usually it is not).
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return not _alive(pid)


def _stop_pid(pid: int, comm: str, timeout: float = 10) -> None:
    """SIGTERM ``pid`` (only if it still runs ``comm``), then SIGKILL after ``timeout``."""
    if not _alive(pid, comm):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not _wait_gone(pid, timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        _wait_gone(pid, 5)


def _read_pid(path: Path, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = path.read_text().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise ClusterError(f"no pid file {path} after {timeout} s")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def node_hardware() -> dict[str, str]:
    """``slurmd -C``'s NodeName line as a dict (CPUs, Boards, ..., RealMemory)."""
    out = _run([_binary("slurmd"), "-C"]).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("NodeName=")), None)
    if line is None:
        raise ClusterError(f"slurmd -C printed no NodeName line: {out!r}")
    return dict(item.split("=", 1) for item in line.split())


def _registry_stop() -> None:
    """Stop daemons that an earlier run of this module started and left behind."""
    try:
        entries = json.loads(REGISTRY.read_text())
    except (OSError, ValueError):
        return
    for comm in ("slurmd", "slurmctld", "munged"):
        pid = entries.get(comm)
        if pid:
            _stop_pid(int(pid), comm)
    REGISTRY.unlink(missing_ok=True)


@dataclass
class Cluster:
    """One single-node cluster; ``state_dir`` holds its spool, state, pid and log files."""

    state_dir: Path
    hostname: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    pids: dict[str, int] = field(default_factory=dict)
    started_munged: bool = False
    _lock_fd: int | None = None

    @property
    def slurmctld_log(self) -> Path:
        return self.state_dir / "slurmctld.log"

    @property
    def slurmd_log(self) -> Path:
        return self.state_dir / "slurmd.log"

    # ---------------------------------------------------------------- config
    def write_config(self) -> None:
        for path in (SLURM_CONF, GRES_CONF):
            if path.exists() and MARKER not in path.read_text(errors="replace"):
                raise ClusterError(
                    f"{path} exists and was not written by this test helper; refusing to replace it "
                    "(this host looks like a real SLURM node)"
                )
        hw = node_hardware()
        node = " ".join(
            f"{k}={hw[k]}"
            for k in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
            if k in hw
        )
        s = self.state_dir
        for sub in ("ctld", "spool"):
            (s / sub).mkdir(parents=True, exist_ok=True)
        CONF_DIR.mkdir(parents=True, exist_ok=True)
        host = self.hostname
        SLURM_CONF.write_text(
            f"""{MARKER}
# A single-node test cluster: no accounting database, one fake GPU (gres.conf: File=/dev/null).
ClusterName=mnistrepro
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Jobs that ask for no memory get 1 GB a CPU, not the whole node.
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
# Keep finished jobs visible to squeue long enough for Snakemake's status checks.
MinJobAge=300
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
SchedulerType=sched/backfill
StateSaveLocation={s / 'ctld'}
SlurmdSpoolDir={s / 'spool'}
SlurmctldPidFile={s / 'slurmctld.pid'}
SlurmdPidFile={s / 'slurmd.pid'}
SlurmctldLogFile={self.slurmctld_log}
SlurmdLogFile={self.slurmd_log}
SlurmctldDebug=info
SlurmdDebug=info
NodeName={host} NodeAddr=127.0.0.1 {node} Gres=gpu:1 State=UNKNOWN
PartitionName={PARTITION_CPU} Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName={PARTITION_GPU} Nodes={host} Default=NO MaxTime=INFINITE State=UP
"""
        )
        GRES_CONF.write_text(f"{MARKER}\nNodeName={host} Name=gpu File=/dev/null\n")

    def remove_config(self) -> None:
        for path in (SLURM_CONF, GRES_CONF):
            try:
                if MARKER in path.read_text(errors="replace"):
                    path.unlink()
            except OSError:
                pass

    # ---------------------------------------------------------------- munge
    def _munge_works(self) -> bool:
        try:
            enc = subprocess.run([_binary("munge"), "-n"], capture_output=True, timeout=10)
            if enc.returncode != 0:
                return False
            dec = subprocess.run([_binary("unmunge")], input=enc.stdout, capture_output=True, timeout=10)
            return dec.returncode == 0
        except (subprocess.TimeoutExpired, OSError):
            return False

    def start_munged(self) -> None:
        if self._munge_works():
            return  # a munged (the system's, or a previous one) already answers
        munge = pwd.getpwnam("munge")
        if not MUNGE_KEY.exists():
            _run([_binary("mungekey"), "--create", f"--keyfile={MUNGE_KEY}"])
        os.chown(MUNGE_KEY, munge.pw_uid, munge.pw_gid)
        os.chmod(MUNGE_KEY, 0o400)
        for d in (MUNGE_RUN, Path("/var/lib/munge"), Path("/var/log/munge")):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, munge.pw_uid, munge.pw_gid)
        os.chmod(MUNGE_RUN, 0o755)
        pidfile = MUNGE_RUN / "munged.pid"
        pidfile.unlink(missing_ok=True)
        proc = _run(
            ["runuser", "-u", "munge", "--", _binary("munged"), "--force"],
            check=False,
        )
        if proc.returncode != 0:
            raise ClusterError(f"munged failed to start: {proc.stderr.strip()}")
        self.pids["munged"] = _read_pid(pidfile)
        self.started_munged = True
        self._save_registry()
        deadline = time.monotonic() + 10
        while not self._munge_works():
            if time.monotonic() > deadline:
                raise ClusterError("munged started but munge -n | unmunge fails")
            time.sleep(0.2)

    # ---------------------------------------------------------------- slurm
    def _save_registry(self) -> None:
        REGISTRY.write_text(json.dumps({**self.pids, "state_dir": str(self.state_dir)}))

    def _start_daemon(self, name: str, pidfile: Path, log: Path) -> None:
        pidfile.unlink(missing_ok=True)
        proc = _run([_binary(name)], check=False, timeout=60)
        if proc.returncode != 0:
            raise ClusterError(f"{name} failed to start ({proc.returncode}): {proc.stderr.strip()}\n{_tail(log)}")
        try:
            self.pids[name] = _read_pid(pidfile)
        except ClusterError as exc:
            raise ClusterError(f"{exc}\n{name} log:\n{_tail(log)}") from None
        self._save_registry()

    def node_state(self) -> str:
        proc = _run(["sinfo", "-h", "-N", "-n", self.hostname, "-o", "%T"], check=False, timeout=10)
        states = set(proc.stdout.split())
        return ",".join(sorted(states)) if states else f"? ({proc.stderr.strip()})"

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.node_state()
            if state == "idle":
                return
            for name in ("slurmctld", "slurmd"):
                if name in self.pids and not _alive(self.pids[name]):
                    raise ClusterError(f"{name} died\n{_tail(self.state_dir / (name + '.log'))}")
            time.sleep(0.5)
        raise ClusterError(
            f"node {self.hostname} not idle after {timeout} s (state {state})\n"
            f"slurmctld log:\n{_tail(self.slurmctld_log)}\nslurmd log:\n{_tail(self.slurmd_log)}"
        )

    def start(self, timeout: float = 90) -> "Cluster":
        missing = missing_requirements()
        if missing:
            raise ClusterError("cannot start a SLURM cluster here, missing: " + ", ".join(missing))
        self.state_dir = Path(self.state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # One cluster per host at a time: wait for any other user of this helper.
        self._lock_fd = os.open(LOCK, os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"another test cluster held {LOCK} for 10 minutes") from None
                time.sleep(1)
        try:
            _registry_stop()
            self.write_config()
            self.start_munged()
            self._start_daemon("slurmctld", self.state_dir / "slurmctld.pid", self.slurmctld_log)
            self._start_daemon("slurmd", self.state_dir / "slurmd.pid", self.slurmd_log)
            self.wait_idle(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop what this object started (slurmd, slurmctld, munged) and remove its config."""
        # Cancel leftover jobs first so that slurmd does not wait on them.
        if "slurmctld" in self.pids and _alive(self.pids["slurmctld"], "slurmctld"):
            subprocess.run(["scancel", "--full", "--quiet", "-u", "root"], capture_output=True, timeout=15)
        for name in ("slurmd", "slurmctld"):
            pid = self.pids.pop(name, None)
            if pid:
                _stop_pid(pid, name)
        if self.started_munged:
            pid = self.pids.pop("munged", None)
            if pid:
                _stop_pid(pid, "munged")
            self.started_munged = False
        self.remove_config()
        REGISTRY.unlink(missing_ok=True)
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "up":
        state = Path(argv[2]) if len(argv) > 2 else Path(tempfile.mkdtemp(prefix="mnistrepro-slurm-"))
        cluster = Cluster(state).start()
        # Leave it running: `down` stops it through the registry.
        cluster._lock_fd and os.close(cluster._lock_fd)
        print(f"cluster up; state in {cluster.state_dir}; pids {cluster.pids}")
        print(_run(["sinfo"]).stdout)
        return 0
    if cmd == "down":
        _registry_stop()
        for path in (SLURM_CONF, GRES_CONF):
            if path.exists() and MARKER in path.read_text(errors="replace"):
                path.unlink()
        print("cluster down")
        return 0
    if cmd == "status":
        print(REGISTRY.read_text() if REGISTRY.exists() else "no cluster registered")
        print(_run(["sinfo"], check=False).stdout)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
