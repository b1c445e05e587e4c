#!/usr/bin/env bash
# The light install as a user meets it: the built wheel, no extras, in a fresh venv, with no PyTorch. Every
# runtime command the README promises for it runs on an exported .onnx model (info, translate on an image and a
# video, webcam recording a file played as a camera, benchmark) and on a run folder (report); a command that
# needs PyTorch says so in one line. The model, clip and run folder are made beforehand with the full install.
set -euo pipefail
cd "$(dirname "$0")/.."
full=.venv/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "light install: building the wheel and installing it with no extras into a fresh venv"
$full/python -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" . 2>/dev/null
python3 -m venv "$work/light"
"$work/light/bin/python" -m pip install --quiet --upgrade pip 2>/dev/null
"$work/light/bin/python" -m pip install --quiet -c constraints.txt "$work"/dist/cgan-*.whl 2>/dev/null
if "$work/light/bin/python" -c "import torch" 2>/dev/null; then
  echo "FAIL: PyTorch is installed by the core package" >&2
  exit 1
fi

# Fixtures from the full install: a tiny trained run, its generator exported to ONNX, an image and a clip.
$full/python - "$work" >"$work/fixtures.log" 2>&1 <<'PY' || { cat "$work/fixtures.log" >&2; exit 1; }
import sys
from pathlib import Path

import cv2

from cgan.export import export_onnx
from cgan.sampledata import build_unpaired_dataset, write_panning_clip
from cgan.train import train

work = Path(sys.argv[1])
data = build_unpaired_dataset(work / "data", n_train=8, n_test=2, size=48)
run = train(data=str(data), out=str(work / "run"), preset="resnet6", ngf=4, size=32, load_size=48, max_iters=2,
            log_every=1).run_dir
export_onnx(run / "G_AtoB.safetensors", work / "m.onnx", verify=False)
cv2.imwrite(str(work / "in.png"), cv2.imread(str(data / "testA" / "0000.png")))
write_panning_clip(work / "clip.mp4", 96, 64, frames=12)
PY

cgan="$work/light/bin/cgan"
failed=0
expect() {  # expect CODE DESCRIPTION COMMAND...: run it, check the exit code, show the last lines
  local want=$1 what=$2
  shift 2
  local got=0
  "$@" >"$work/out.txt" 2>&1 || got=$?
  if [ "$got" = "$want" ]; then
    echo "ok: $what"
  else
    echo "FAIL: $what exited $got, expected $want:" >&2
    tail -n 15 "$work/out.txt" >&2
    failed=1
  fi
}
expect 0 "cgan info m.onnx" "$cgan" info "$work/m.onnx"
expect 0 "cgan translate an image" "$cgan" translate --model "$work/m.onnx" --source "$work/in.png" \
  --out "$work/out.png"
expect 0 "cgan translate a video" "$cgan" translate --model "$work/m.onnx" --source "$work/clip.mp4" \
  --out "$work/out.mp4"
expect 0 "cgan webcam recording a clip played as a camera" "$cgan" webcam --model "$work/m.onnx" \
  --camera "$work/clip.mp4" --record "$work/rec.mp4" --max-frames 6
expect 0 "cgan benchmark m.onnx" "$cgan" benchmark --model "$work/m.onnx" --sizes 64 --batch 1 --max-seconds 0.5
expect 0 "cgan report RUN" "$cgan" report "$work/run" -o "$work/report.html"
expect 0 "cgan info of the run's model file (from its header)" "$cgan" info "$work/run/G_AtoB.safetensors"
expect 2 "cgan train says it needs PyTorch" "$cgan" train --a "$work/data/trainA" --b "$work/data/trainB"
grep -q 'pip install "cgan\[train\]"' "$work/out.txt" || { echo "FAIL: no install hint for train" >&2; failed=1; }
for f in out.png out.mp4 rec.mp4 report.html; do
  [ -s "$work/$f" ] || { echo "FAIL: $f was not written" >&2; failed=1; }
done
[ "$failed" = 0 ] && echo "light install: every command passed"
exit "$failed"
