#!/usr/bin/env bash
# On a machine with a CUDA GPU: the GPU-marked tests, the GPU section of RESULTS.md (skipped with BENCH=0;
# QUICK=1 times each case for 3 s instead of 10, to fit a short lease), then the whole test suite, where the
# trainer and the runtime pick the GPU by default (skipped with ALL_TESTS=0). Logs and results go to LOG_DIR
# (default: gpu-logs); merge them here with `python -m benchmarks.run_all --merge LOG_DIR/all.json`.
#   bash benchmarks/gpu_checks.sh [LOG_DIR]
# BENCH_TIMEOUT=S stops the measurements after S seconds (default 480). QUICK=1 ALL_TESTS=0 took 6.5 minutes
# on an H200 (GPU tests 83 s, measurements about 300 s).
set -u
logs=${1:-gpu-logs}
mkdir -p "$logs"
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$logs/gpu.txt"
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" \
  | tee -a "$logs/gpu.txt" || exit 1
status=0
timeout 120 "$python" -m pytest -q -m gpu -rs -p no:cacheprovider tests 2>&1 | tee "$logs/gpu_tests.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
if [ "${BENCH:-1}" != 0 ]; then
  quick=$([ "${QUICK:-0}" = 1 ] && echo --quick)
  timeout "${BENCH_TIMEOUT:-480}" "$python" -m benchmarks.run_all --only gpu $quick 2>&1 | tee "$logs/bench.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  # gpu_partial.json: what a run cut short had measured
  cp benchmarks/results/all.json benchmarks/RESULTS.md benchmarks/results/gpu_partial.json "$logs/" 2>/dev/null
fi
if [ "${ALL_TESTS:-1}" != 0 ]; then
  xdist=$("$python" -c "import xdist" 2>/dev/null && echo "-n 8")
  OMP_NUM_THREADS=2 timeout 300 "$python" -m pytest -q $xdist -rs -p no:cacheprovider -m "not gpu" --durations=15 \
    tests > "$logs/all_tests.log" 2>&1
  [ $? = 0 ] || status=1
  tail -25 "$logs/all_tests.log"
fi
exit $status
