#!/usr/bin/env bash
# Scores several training settings on the quality task at once, at fixed iteration counts (so a machine with
# many cores or a GPU can compare settings for the 2-core CPU's 10-minute budget). One line of settings per
# variant on standard input; results and logs go to LOG_DIR.
#   printf 'fast=true\nfast=true lr=0.0003\n' | bash benchmarks/quality_sweep.sh LOG_DIR 1300,3000,5500
set -u
logs=${1:?LOG_DIR}; checkpoints=${2:-1300,3000,5500}
mkdir -p "$logs"
n=0
while read -r settings; do
  [ -z "$settings" ] && continue
  n=$((n + 1))
  echo "$n: $settings" | tee -a "$logs/variants.txt"
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 ${PYTHON:-python3} -m benchmarks.quality --by-iterations \
    --checkpoints "$checkpoints" --json "$logs/$n.json" workers=1 $settings > "$logs/$n.log" 2>&1 &
done
wait
for log in "$logs"/*.log; do echo "== $(sed -n "$(basename "$log" .log)p" "$logs/variants.txt")"; tr "\r" "\n" < "$log" | grep -o "[0-9.]* min, .*"; done
