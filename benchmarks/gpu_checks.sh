#!/usr/bin/env bash
# On a machine with a CUDA GPU: the GPU-marked tests, the GPU section of RESULTS.md (skipped with BENCH=0),
# a profile of one generator call (benchmarks/gpu_profile.py), then the whole test suite, where the trainer
# and the runtime pick the GPU by default. Logs and results go to LOG_DIR (default: gpu-logs).
#   bash benchmarks/gpu_checks.sh [LOG_DIR]
set -u
logs=${1:-gpu-logs}
mkdir -p "$logs"
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$logs/gpu.txt"
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" \
  | tee -a "$logs/gpu.txt" || exit 1
status=0
timeout 100 "$python" -m pytest -q -m gpu -rs -p no:cacheprovider tests 2>&1 | tee "$logs/gpu_tests.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
if [ "${BENCH:-1}" != 0 ]; then
  timeout 420 "$python" benchmarks/run_all.py --only gpu 2>&1 | tee "$logs/bench.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  cp benchmarks/results/all.json benchmarks/RESULTS.md "$logs/" 2>/dev/null
fi
timeout 120 "$python" benchmarks/gpu_profile.py --json "$logs/profile.json" 2>&1 | tee "$logs/profile.log"
xdist=$("$python" -c "import xdist" 2>/dev/null && echo "-n 8")
OMP_NUM_THREADS=2 timeout 200 "$python" -m pytest -q $xdist -rs -p no:cacheprovider -m "not gpu" --durations=15 tests \
  > "$logs/all_tests.log" 2>&1
[ $? = 0 ] || status=1
tail -25 "$logs/all_tests.log"
exit $status
