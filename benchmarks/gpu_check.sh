#!/usr/bin/env bash
# One prepared GPU check, for a machine where torch sees a GPU (e.g. the lent device machine):
#   1. the LeNet-5 and GPU-slot tests on that machine (the CUDA-only ones run there, not in CI);
#   2. the LeNet-5 benchmark on CUDA (10 epochs per C3 variant, sparse/full time ratio);
#   3. the default study with device: auto, its wall time and its rule benchmarks;
#   4. the LeNet-5 runs again in a second directory, and whether both gave identical metrics
#      (same seed, same GPU).
# A short summary goes to stdout and $OUT/gpu_check.txt; the study's tables, logs and benchmarks
# go to $OUT as tarballs. The study itself runs under $WORK (default: a temporary directory).
#
#   bash benchmarks/gpu_check.sh                     # with .venv installed (PY=.venv/bin/python)
#   PY=python3 bash benchmarks/gpu_check.sh          # a Python that has torch and snakemake
#
# The machine may have no network: MNIST is read from $MNIST_IDX (the four IDX files, plain or
# gzipped; default .test-data/idx, which the test suite fills).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT="${OUT:-gpu-check}"
WORK="${WORK:-$(mktemp -d)}"
PY="${PY:-.venv/bin/python}"
MNIST_IDX="${MNIST_IDX:-$REPO/.test-data/idx}"
mkdir -p "$OUT" "$WORK"
# The test suite reads MNIST from $MNISTREPRO_TEST_DATA/idx, plain files.
export MNISTREPRO_TEST_DATA="$WORK/test-data"
mkdir -p "$MNISTREPRO_TEST_DATA/idx"
for f in "$MNIST_IDX"/*; do
  name=$(basename "$f" .gz)
  case "$f" in *.gz) gunzip -c "$f" > "$MNISTREPRO_TEST_DATA/idx/$name" ;; *) cp "$f" "$MNISTREPRO_TEST_DATA/idx/$name" ;; esac
done

study() {  # study DIR [targets...]: the workflow in DIR with the repository's config, MNIST from MNIST_IDX
  local dir=$1; shift
  mkdir -p "$dir"
  cp config.yaml "$dir/config.yaml"
  $PY -m snakemake -s "$REPO/Snakefile" --directory "$dir" --cores all --workflow-profile "$REPO/workflow/profiles/default" \
    --config "data={sources: [local], local_dir: $MNISTREPRO_TEST_DATA/idx}" "$@" > "$dir/snakemake.log" 2>&1
}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  $PY -c "import torch, snakemake; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), 'snakemake', snakemake.__version__)"
  nproc

  echo "== 1. LeNet-5 and GPU-slot tests"
  timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_lenet.py tests/test_gpu_slots.py -rs 2>&1 | tail -15

  echo "== 2. LeNet-5 benchmark on CUDA"
  $PY -c "import sys; from mnistrepro.data import read_idx_dir, save_mnist; save_mnist(read_idx_dir(sys.argv[1]), sys.argv[2])" \
    "$MNISTREPRO_TEST_DATA/idx" "$WORK/mnist.pt"
  timeout 150 $PY benchmarks/bench_lenet.py --device cuda --no-straightforward --data "$WORK/mnist.pt" \
    --json "$OUT/bench_lenet_cuda.json" 2>&1 | tail -20

  echo "== 3. default study, device: auto"
  start=$(date +%s)
  timeout 420 bash -c "$(declare -f study); REPO=$REPO PY=$PY MNISTREPRO_TEST_DATA=$MNISTREPRO_TEST_DATA study $WORK/study1"
  echo "study 1: exit $?, $(( $(date +%s) - start )) s wall"
  tail -5 "$WORK/study1/snakemake.log"
  cat "$WORK/study1/results/tables/hardware.csv" 2>/dev/null | head -4
  tar czf "$OUT/study1_results.tgz" -C "$WORK/study1" results/tables results/figures results/logs results/benchmarks snakemake.log 2>/dev/null

  echo "== 4. the LeNet-5 runs again, same seeds"
  targets=$(cd "$WORK/study1" && ls results/lenet/*/seed*/evaluation.json)
  start=$(date +%s)
  timeout 240 bash -c "$(declare -f study); REPO=$REPO PY=$PY MNISTREPRO_TEST_DATA=$MNISTREPRO_TEST_DATA study $WORK/study2 $(echo $targets)"
  echo "study 2: exit $?, $(( $(date +%s) - start )) s wall"
  $PY - "$WORK" <<'PY'
import json, sys
from pathlib import Path
from mnistrepro.aggregate import RECORD_METRICS
work = Path(sys.argv[1])
# Per run: where it trained and how long (training.json), and whether the test metrics every run record
# shares (evaluation.json) are the same in both studies.
for evaluation in sorted((work / "study1/results/lenet").rglob("evaluation.json")):
    run = evaluation.parent.relative_to(work / "study1")
    other = work / "study2" / run / "evaluation.json"
    if not other.exists():
        print(run, "MISSING in study 2")
        continue
    training = json.loads((evaluation.parent / "training.json").read_text())
    a, b = json.loads(evaluation.read_text()), json.loads(other.read_text())
    differ = [k for k in RECORD_METRICS if a[k] != b[k]]
    print(run, training["device"], a["test_accuracy"], training["train_seconds"],
          "identical" if not differ else f"DIFFER {differ}")
PY
} 2>&1 | tee "$OUT/gpu_check.txt"
