#!/usr/bin/env bash
# The LiteRT converter's round trips, which the main venv cannot run: litert-torch (cgan[tflite], 2 GB) asks for
# an older typing_extensions than constraints.txt pins, so it gets a venv of its own, pinned by
# constraints-tflite.txt. tests/test_litert.py runs there in full: every export (fp32, fp16, int8 of a student,
# the filter and a resnet) converted, verified in LiteRT and translated. A skipped test fails the check, since a
# skip here would mean the converter did not install.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "LiteRT converter: installing cgan[train,tflite] into a fresh venv"
python3 -m venv "$work/tflite"
python="$work/tflite/bin/python"
"$python" -m pip install --quiet --upgrade pip 2>/dev/null
"$python" -m pip install --quiet -c constraints-tflite.txt -e ".[train,tflite]" pytest hypothesis \
  >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
if ! "$python" -c "import importlib.util, sys; sys.exit(not importlib.util.find_spec('litert_torch'))"; then
  echo "FAIL: litert-torch did not install" >&2
  exit 1
fi

"$python" -m pytest -q -rs -p no:cacheprovider tests/test_litert.py | tee "$work/pytest.log"
if grep -q "SKIPPED" "$work/pytest.log"; then
  echo "FAIL: LiteRT tests were skipped where the converter is installed" >&2
  exit 1
fi
