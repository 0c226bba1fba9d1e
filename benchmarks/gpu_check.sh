#!/usr/bin/env bash
# One prepared GPU check, for a machine where torch sees a GPU (e.g. the lent device machine).
# Its steps, all by default or the ones named as arguments:
#   environment:   the GPU, torch and snakemake versions;
#   tests:         the LeNet-5 and GPU-slot tests on that machine (the CUDA-only ones run there, not in CI);
#   benchmark:     the LeNet-5 benchmark on CUDA (10 epochs per C3 variant, sparse/full time ratio; 10 seeds
#                  together vs one after the other, and 10 seeds x 10 epochs together);
#   default_study: the default study with device: auto, its wall time and its rule benchmarks;
#   power_study:   then configs/lenet_power.yaml in the same directory (it reuses the default's LeNet-5 runs);
#   determinism:   the first 10 seeds' LeNet-5 runs (one group on a GPU) trained twice, in two directories, and
#                  whether both gave identical weights and histories (same seed, same GPU).
# With the default's 33 seeds and lenet_power's 108, power_study may not finish within its 420 s: it then
# reports the exit status of the timeout (124) and how far it got.
# A short summary goes to stdout and $OUT/gpu_check.txt; the study's tables, logs and benchmarks
# go to $OUT as tarballs. The study itself runs under $WORK (default: a temporary directory).
#
#   bash benchmarks/gpu_check.sh                     # with .venv installed (PY=.venv/bin/python)
#   PY=python3 bash benchmarks/gpu_check.sh          # a Python that has torch and snakemake
#   bash benchmarks/gpu_check.sh determinism         # one step
#   CONFIG=.test/config.yaml bash benchmarks/gpu_check.sh determinism   # another configuration
#
# The machine may have no network: MNIST is read from $MNIST_IDX (the four IDX files, plain or
# gzipped; default .test-data/idx, which the test suite fills).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT="${OUT:-gpu-check}"
WORK="${WORK:-$(mktemp -d)}"
PY="${PY:-.venv/bin/python}"
CONFIG="${CONFIG:-$REPO/config.yaml}"   # the study's configuration
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
  cp "$CONFIG" "$dir/config.yaml"
  local start=$(date +%s)
  # Targets before --config, which takes every word after it.
  timeout "${STUDY_TIMEOUT:-420}" $PY -m snakemake -s "$REPO/Snakefile" --directory "$dir" --cores all "$@" \
    --workflow-profile "$REPO/workflow/profiles/default" \
    --config "data={sources: [local], local_dir: $MNISTREPRO_TEST_DATA/idx}" > "$dir/snakemake.log" 2>&1
  local rc=$?
  echo "$(basename "$dir"): exit $rc, $(( $(date +%s) - start )) s wall"
  [ $rc -eq 0 ] || tail -30 "$dir/snakemake.log"
  return $rc
}

environment() {
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  $PY -c "import torch, snakemake; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), 'snakemake', snakemake.__version__)"
  echo "$(nproc) CPUs"
}

tests() {
  timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_lenet.py tests/test_lenet_grouped.py tests/test_gpu_slots.py -rs 2>&1 | tail -15
}

benchmark() {
  $PY -c "import sys; from mnistrepro.data.tensors import read_idx_dir, save_mnist; save_mnist(read_idx_dir(sys.argv[1]), sys.argv[2])" \
    "$MNISTREPRO_TEST_DATA/idx" "$WORK/mnist.pt"
  timeout 240 $PY benchmarks/bench_lenet.py --device cuda --no-straightforward --data "$WORK/mnist.pt" \
    --json "$OUT/bench_lenet_cuda.json" 2>&1 | tail -20
}

default_study() {
  study "$WORK/study"
  tail -3 "$WORK/study/snakemake.log"
  head -4 "$WORK/study/results/tables/hardware.csv"
  tar czf "$OUT/study_results.tgz" -C "$WORK/study" results/tables results/figures results/logs results/benchmarks snakemake.log
}

power_study() {  # after default_study, in its directory: only the extra seeds train
  local start=$(date +%s)
  (cd "$WORK/study" && timeout 420 $PY -m snakemake -s "$REPO/Snakefile" --cores all --configfile "$REPO/configs/lenet_power.yaml" \
    --workflow-profile "$REPO/workflow/profiles/default" \
    --config "data={sources: [local], local_dir: $MNISTREPRO_TEST_DATA/idx}" > power.log 2>&1)
  echo "power study: exit $?, $(( $(date +%s) - start )) s wall"
  grep -E "^(train_lenet|collect_lenet_run|total) " "$WORK/study/power.log" | head -5
  tail -3 "$WORK/study/power.log"
}

determinism() {  # the first 10 seeds' LeNet-5 runs trained twice, in two directories: same seed, same GPU, same numbers?
  # On a GPU `seeds_per_job: auto` trains seeds in groups: those runs live under the grouped run key.
  local targets=$($PY -c "import yaml; from mnistrepro.study.config import seed_list; from mnistrepro.study.studies import lenet_run_paths
c = yaml.safe_load(open('$CONFIG')); grouped = c['lenet'].get('seeds_per_job', 'auto') != 1
print(' '.join(lenet_run_paths(c, grouped)['run'].format(c3=v, seed=s) + '/training.json' for v in c['lenet']['c3'] for s in seed_list(c['lenet']['seeds'])[:10]))")
  study "$WORK/lenet_a" $targets && study "$WORK/lenet_b" $targets || return
  $PY - "$WORK" $targets <<'PY'
import sys
from pathlib import Path
import pandas as pd
import torch
work, targets = Path(sys.argv[1]), sys.argv[2:]
for target in targets:
    run = Path(target).parent
    histories = [pd.read_csv(work / d / run / "history.csv") for d in ("lenet_a", "lenet_b")]
    histories = [h.drop(columns=[c for c in h if "seconds" in c or "per_s" in c]) for h in histories]  # timings differ
    models = [torch.load(work / d / run / "model.pt", map_location="cpu", weights_only=True) for d in ("lenet_a", "lenet_b")]
    states = [m["state_dict"] for m in models]
    same_weights = states[0].keys() == states[1].keys() and all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    same_history = histories[0].equals(histories[1])
    print(run, histories[0].iloc[-1].to_dict(),
          "weights", "identical" if same_weights else "DIFFER", "| history", "identical" if same_history else "DIFFERS")
PY
}

for step in ${*:-environment tests benchmark default_study power_study determinism}; do
  echo "== $step"
  $step
done 2>&1 | tee "$OUT/gpu_check.txt"
