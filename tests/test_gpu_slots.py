"""GPU placement on one machine (mnistrepro.study.gpu_slots), with fake GPUs and real concurrent processes.

Each holder is a separate Python process that claims a slot, prints it as JSON and keeps it until
its stdin closes, as a training job keeps its slot until it exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnistrepro.study.gpu_slots import NoFreeGpuSlotError, claim_gpu_slot, try_claim

REPO = Path(__file__).resolve().parents[1]
FAKE_GPUS = ["GPU-aaaa-0000", "GPU-bbbb-1111"]

HOLDER = """
import json, sys
from mnistrepro.study.gpu_slots import claim_gpu_slot
from mnistrepro.study.logs import setup_logging
setup_logging(None)
slot = claim_gpu_slot({uuids!r}, {jobs_per_gpu}, lock_dir={lock_dir!r}, wait_s={wait_s}, poll_s=0.05)
print(json.dumps({{"index": slot.index, "uuid": slot.uuid, "slot": slot.slot}}), flush=True)
sys.stdin.read()  # hold the slot until the parent closes our stdin (or kills us)
"""


class Holder:
    def __init__(self, lock_dir: Path, jobs_per_gpu: int = 2, wait_s: float = 30.0, uuids=FAKE_GPUS) -> None:
        code = HOLDER.format(uuids=list(uuids), jobs_per_gpu=jobs_per_gpu, lock_dir=str(lock_dir), wait_s=wait_s)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)

    def claimed(self, timeout: float = 30.0) -> dict:
        """The slot this holder claimed (blocks until it has one)."""
        line = self.proc.stdout.readline()
        assert line, f"holder exited without a slot: {self.proc.wait(timeout)} {self.proc.stderr.read()}"
        return json.loads(line)

    def release(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def holders():
    started: list[Holder] = []
    yield started
    for h in started:
        if h.proc.poll() is None:
            h.kill()


def key(claim: dict) -> tuple[str, int]:
    return claim["uuid"], claim["slot"]


def test_concurrent_jobs_hold_distinct_slots_and_spread_over_gpus(tmp_path, holders):
    """Four processes on 2 GPUs x 2 slots: four different slots, and each GPU gets two jobs."""
    for _ in range(4):
        holders.append(Holder(tmp_path))
    claims = [h.claimed() for h in holders]
    assert len({key(c) for c in claims}) == 4, claims
    assert sorted(c["index"] for c in claims) == [0, 0, 1, 1]
    for c in claims:
        assert FAKE_GPUS[c["index"]] == c["uuid"]


def test_first_jobs_get_a_gpu_each(tmp_path, holders):
    """Slot-major placement: with slots to spare, two jobs land on two GPUs, not both on GPU 0."""
    claims = []
    for _ in range(2):
        holders.append(Holder(tmp_path, jobs_per_gpu=4))
        claims.append(holders[-1].claimed())  # one after the other: the second sees the first's lock
    assert [(c["index"], c["slot"]) for c in claims] == [(0, 0), (1, 0)]


def test_more_jobs_than_slots_fail_clearly_after_waiting(tmp_path, holders):
    for _ in range(2):
        holders.append(Holder(tmp_path, jobs_per_gpu=1))
    assert len({key(h.claimed()) for h in holders}) == 2
    start = time.monotonic()
    with pytest.raises(NoFreeGpuSlotError, match=r"all 2 GPU slots \(2 GPU\(s\) x 1 job\(s\) each.*stayed taken for 0.5 s"):
        claim_gpu_slot(FAKE_GPUS, 1, lock_dir=tmp_path, wait_s=0.5, poll_s=0.05)
    assert 0.5 <= time.monotonic() - start < 10


def test_waiting_job_gets_the_slot_a_finished_job_frees(tmp_path, holders):
    first = Holder(tmp_path, jobs_per_gpu=1, uuids=FAKE_GPUS[:1])
    holders.append(first)
    assert key(first.claimed()) == (FAKE_GPUS[0], 0)
    waiter = Holder(tmp_path, jobs_per_gpu=1, uuids=FAKE_GPUS[:1], wait_s=60)
    holders.append(waiter)
    time.sleep(1.0)
    assert waiter.proc.poll() is None  # still waiting: the only slot is held
    first.release()
    assert key(waiter.claimed()) == (FAKE_GPUS[0], 0)


def test_killed_holder_frees_its_slot(tmp_path, holders):
    """SIGKILL leaves the lock file behind, but the kernel dropped the lock: the slot is reused."""
    for _ in range(4):
        holders.append(Holder(tmp_path))
    claims = [h.claimed() for h in holders]
    assert try_claim(FAKE_GPUS, 2, tmp_path) is None  # all four taken
    victim = 2
    holders[victim].kill()
    assert (tmp_path / f"{claims[victim]['uuid']}.slot{claims[victim]['slot']}.lock").exists()
    reclaimed = claim_gpu_slot(FAKE_GPUS, 2, lock_dir=tmp_path, wait_s=10, poll_s=0.05)
    try:
        assert (reclaimed.uuid, reclaimed.slot) == key(claims[victim])
        assert reclaimed.index == claims[victim]["index"]
    finally:
        reclaimed.release()


def test_same_gpu_seen_under_different_indices_shares_its_slots(tmp_path):
    """Under SLURM each job sees its own GPU as index 0: slots follow the GPU's UUID, not the index."""
    a = claim_gpu_slot([FAKE_GPUS[1]], 1, lock_dir=tmp_path, wait_s=0)
    try:
        assert a.index == 0
        assert try_claim([FAKE_GPUS[0], FAKE_GPUS[1]], 1, tmp_path).uuid == FAKE_GPUS[0]
        with pytest.raises(NoFreeGpuSlotError):
            claim_gpu_slot([FAKE_GPUS[1]], 1, lock_dir=tmp_path, wait_s=0)
    finally:
        a.release()


def test_training_device_is_the_claimed_gpu(tmp_path, monkeypatch):
    """claim_training_device with torch.cuda faked to show two GPUs, GPU 0 busy: it takes cuda:1."""
    import torch

    from mnistrepro.study import device as device_mod

    class Props:
        def __init__(self, i):
            self.uuid = FAKE_GPUS[i]

    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: Props(i))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=None: f"Fake GPU {i}")
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: chosen.append(d))
    busy = claim_gpu_slot(FAKE_GPUS[:1], 1, lock_dir=tmp_path, wait_s=0)
    try:
        device, slot = device_mod.claim_training_device("cuda", 1, wait_s=0, lock_dir=tmp_path)
        assert device == torch.device("cuda", 1) and chosen == [device]
        assert (slot.index, slot.uuid) == (1, FAKE_GPUS[1])
        slot.release()
    finally:
        busy.release()
    cpu, none = device_mod.claim_training_device("cpu", lock_dir=tmp_path)
    assert cpu == torch.device("cpu") and none is None
