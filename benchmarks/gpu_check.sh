#!/usr/bin/env bash
# One prepared GPU check, for a machine where torch sees a GPU (e.g. the lent device machine):
#   1. the CUDA tests (tests/test_lenet.py -k cuda, the GPU-slot tests);
#   2. the LeNet-5 benchmark on CUDA (10 epochs per C3 variant, sparse/full time ratio);
#   3. the default study with device: auto, twice in two directories, its wall time each, and
#      whether the two runs gave identical LeNet-5 metrics (same seed, same GPU).
# Everything it prints also goes under $OUT (default: gpu-check/), for the notes.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, with .venv installed
#
# The GPU machine may have no network: MNIST is read from $MNISTREPRO_TEST_DATA/idx (default
# .test-data/idx, which the test suite fills; carry it along with .venv).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-check}"
mkdir -p "$OUT"
PY=.venv/bin/python
export MNISTREPRO_TEST_DATA="${MNISTREPRO_TEST_DATA:-$PWD/.test-data}"
{
  nvidia-smi || true
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
  echo "== 1. CUDA tests"
  .venv/bin/pytest -q tests/test_lenet.py -k cuda tests/test_gpu_slots.py -rs
  echo "== 2. LeNet-5 benchmark on CUDA"
  $PY benchmarks/bench_lenet.py --device cuda --no-straightforward --json "$OUT/bench_lenet_cuda.json"
  echo "== 3. default study, device: auto, twice"
  for run in 1 2; do
    mkdir -p "$OUT/study$run"
    cp config.yaml "$OUT/study$run/config.yaml"
    start=$(date +%s)
    .venv/bin/snakemake -s Snakefile --directory "$OUT/study$run" --cores all --workflow-profile workflow/profiles/default \
      --config "data={sources: [local], local_dir: $MNISTREPRO_TEST_DATA/idx}" > "$OUT/study$run/snakemake.log" 2>&1
    echo "study $run: exit $?, $(( $(date +%s) - start )) s wall"
  done
  $PY - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
keys = ("test_accuracy", "test_correct", "test_loss")
for record in sorted((out / "study1/results/lenet").rglob("*.json")):
    other = out / "study2" / record.relative_to(out / "study1")
    a, b = json.loads(record.read_text()), json.loads(other.read_text())
    same = {k: a.get(k) == b.get(k) for k in keys if k in a}
    print(record.relative_to(out / "study1"), a.get("device"), a.get("train_seconds"), "identical" if all(same.values()) else f"DIFFER {same}")
PY
} 2>&1 | tee "$OUT/gpu_check.txt"
