#!/usr/bin/env bash
# The no-regression check of --fast: 60 minutes of training with the paper's settings and with --fast on the
# quality task, both at once, each pinned to one CPU core with one thread, so that both get the same compute.
# Writes benchmarks/results/long_run/{paper,fast}.json (rendered into RESULTS.md by run_all.py). RUNS picks
# which to measure (again), e.g. "fast" after a change that leaves the paper's settings alone.
#   bash benchmarks/long_run.sh [MINUTES] [RUNS]
set -eu
minutes=${1:-60}
runs=${2:-paper,fast}
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=benchmarks/results/long_run
mkdir -p "$out"
checkpoints=$("$python" -c "print(','.join(str(m) for m in (2, 5, 10, 20, 40, 60, 120) if m < $minutes) + ',$minutes')")
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
case ",$runs," in *,paper,*)
  taskset -c 0 "$python" -m benchmarks.quality --minutes "$minutes" --checkpoints "$checkpoints" \
    --json "$out/paper.json" > "$out/paper.log" 2>&1 & ;;
esac
case ",$runs," in *,fast,*)
  taskset -c 1 "$python" -m benchmarks.quality --minutes "$minutes" --checkpoints "$checkpoints" fast=true \
    --json "$out/fast.json" > "$out/fast.log" 2>&1 & ;;
esac
wait
for run in ${runs//,/ }; do tr '\r' '\n' < "$out/$run.log" | grep -o "[0-9.]* min, .*"; done
