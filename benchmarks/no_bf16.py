"""Real time on CPUs without bf16: ``cgan translate`` of a 640x480 clip through `student-tiny` and the filter on
each CPU path, end to end beside the model alone, with the instruction set restricted as on CPUs that lack bf16
(and VNNI), in one run; the levels alternate, round after round.

    python -m benchmarks.no_bf16 --json benchmarks/results/no_bf16.json

A CPU without bf16 is measured on one with it by restricting oneDNN's instruction set with ONEDNN_MAX_CPU_ISA,
which OpenVINO's CPU plugin (and PyTorch's oneDNN) honour: ``AVX512_CORE_VNNI`` is a CPU with AVX-512 and VNNI but
no bf16, ``AVX2`` one with neither (an older laptop's). Each level runs in a process of its own (the variable is
read when the library starts), and cgan reads the same variable, so ``--half`` and ``auto`` choose what that CPU
would. ONNX Runtime's and LiteRT's (XNNPACK's) kernels choose by the CPU's own flags and cannot be restricted: they
are measured at the native level only. The files are exported once; speed does not depend on the weights, so the
models keep their initial weights (int8 is calibrated on sample photos).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench_models import student_generator

LEVELS = (("native", None), ("no bf16, with VNNI", "AVX512_CORE_VNNI"), ("no bf16, no VNNI", "AVX2"))
MODELS = ("student-tiny", "filter")


def export_files(folder: Path) -> dict[str, dict[str, str]]:
    """Each model's files: the model file, its fp32 and int8 IR, its ONNX, and its LiteRT files (fp32, int8) where
    litert-torch (and LiteRT Quantizer) is installed."""
    from cgan.bench.formats import litert_convertible
    from cgan.export import export_onnx
    from cgan.export.openvino_ir import export_openvino
    from cgan.sampledata import build_unpaired_dataset

    build_unpaired_dataset(folder / "data", n_train=32, n_test=2, size=256)
    calib = str(folder / "data" / "trainA")
    files = {}
    for preset in MODELS:
        model = student_generator(folder, preset)
        files[preset] = {
            "ir int8": str(export_openvino(model, folder / f"{preset}.int8.xml", precision="int8", calib=calib)[0]),
            "ir fp32": str(export_openvino(model, folder / f"{preset}.xml")[0]),
            "onnx fp32": str(export_onnx(model, folder / f"{preset}.onnx")[0])}
        if litert_convertible():
            from cgan.export.tflite import export_tflite

            files[preset]["tflite fp32"] = str(export_tflite(model, folder / f"{preset}.tflite", size=(480, 640))[0])
        if litert_convertible(quantiser=True):
            files[preset]["tflite int8"] = str(export_tflite(model, folder / f"{preset}.int8.tflite", size=(480, 640),
                                                             precision="int8", calib=calib)[0])
    return files


def paths(native: bool) -> list[tuple[str, str, dict]]:
    """(label, which file, runtime options) of each path measured at a level."""
    from cgan.devices import cpu_has_fast_bf16

    found = [("OpenVINO IR int8 (NNCF)", "ir int8", {"backend": "openvino"}),
             ("OpenVINO IR fp32", "ir fp32", {"backend": "openvino"})]
    if cpu_has_fast_bf16():
        found.append(("OpenVINO IR bf16", "ir fp32", {"backend": "openvino", "precision": "bf16"}))
    if native:
        found.append(("ONNX Runtime fp32", "onnx fp32", {"backend": "onnxruntime"}))
        found.append(("LiteRT fp32 (XNNPACK)", "tflite fp32", {"backend": "litert"}))
        found.append(("LiteRT int8 (XNNPACK)", "tflite int8", {"backend": "litert"}))
    return found


def measure_level(files: dict, clip: Path, repeats: int, native: bool) -> list[dict]:
    """Every path of every model at this process's level: end to end and model alone, medians of ``repeats``."""
    from cgan.apps.translate import translate
    from cgan.bench.inference import time_runs
    from cgan.runtime.options import RuntimeOptions
    from cgan.runtime.translator import Translator
    from cgan.runtime.video import VideoSource

    frame = next(iter(VideoSource(clip))).image
    rows = []
    for preset, by_kind in files.items():
        for label, kind, fields in paths(native):
            if kind not in by_kind:
                continue
            options = RuntimeOptions(device="cpu", **fields)
            translator = Translator(by_kind[kind], options)
            prepared = [translator.preprocess(frame)]
            alone, whole = [], []
            for _ in range(repeats):
                alone.append(1 / statistics.median(time_runs(lambda: translator.infer(prepared), max_seconds=4)))
                whole.append(translate(by_kind[kind], str(clip), str(clip.with_name("out.mp4")), options=options,
                                       overwrite=True, progress=False).fps)
            rows.append({"model": preset, "path": label, "backend": translator.description,
                         "fps": statistics.median(whole), "model_alone_fps": statistics.median(alone),
                         "fps_runs": [round(f, 2) for f in whole]})
            print(f"  {preset:>13} {label}: {rows[-1]['fps']:.1f} frames/s end to end, model alone "
                  f"{rows[-1]['model_alone_fps']:.1f}", flush=True)
    return rows


def merged(rounds: list[list[dict]]) -> list[dict]:
    """Each path's rows of every round as one: the medians over all runs."""
    rows = []
    for i, first in enumerate(rounds[0]):
        same = [r[i] for r in rounds]
        rows.append({**first, "fps_runs": [f for r in same for f in r["fps_runs"]],
                     "fps": statistics.median(f for r in same for f in r["fps_runs"]),
                     "model_alone_fps": statistics.median(r["model_alone_fps"] for r in same)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each path in each round")
    parser.add_argument("--rounds", type=int, default=2, help="times the levels are measured in turn")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/no_bf16.json"))
    parser.add_argument("--level", help=argparse.SUPPRESS)  # (a child: measure one level, print JSON)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.files:
        rows = measure_level(json.loads(Path(args.files).read_text()), Path(args.files).with_name("clip.mp4"),
                             args.repeats, native=args.level == "native")
        print("ROWS " + json.dumps(rows))
        return
    from cgan.bench.machine import describe_machine
    from cgan.fileio import atomic_write_text
    from cgan.sampledata import write_panning_clip

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = folder / "files.json"
        files.write_text(json.dumps(export_files(folder)))
        write_panning_clip(folder / "clip.mp4", 640, 480, args.frames)
        # The levels alternate, round after round, so that a slow spell of a shared machine falls on all of them
        runs: dict[str, list[list[dict]]] = {name: [] for name, _ in LEVELS}
        for round_number in range(args.rounds):
            for name, isa in LEVELS:
                print(f"round {round_number + 1}: {name} (ONEDNN_MAX_CPU_ISA={isa or 'unset'})", flush=True)
                env = {key: value for key, value in os.environ.items() if key != "ONEDNN_MAX_CPU_ISA"}
                if isa:
                    env["ONEDNN_MAX_CPU_ISA"] = isa
                done = subprocess.run([sys.executable, "-m", "benchmarks.no_bf16", "--level", name, "--files",
                                       str(files), "--repeats", str(args.repeats)], env=env, stdout=subprocess.PIPE,
                                      text=True, check=True)
                print("\n".join(line for line in done.stdout.splitlines() if not line.startswith("ROWS ")))
                runs[name].append(json.loads(next(line for line in done.stdout.splitlines()
                                                  if line.startswith("ROWS "))[5:]))
        levels = [{"level": name, "isa": isa, "rows": merged(runs[name])} for name, isa in LEVELS]
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "clip": f"640x480, {args.frames} "
              f"frames", "levels": levels,
              "command": f"python -m benchmarks.no_bf16 --rounds {args.rounds} --repeats {args.repeats} --frames "
                         f"{args.frames}"}
    atomic_write_text(args.json, json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
