"""The page of ``cgan export --format web`` in headless Chromium against native ONNX Runtime and OpenVINO on the same
models and sizes, in one run; and what a visitor downloads.

The page's rate is read from its own frame counter while a fake camera (a still .y4m clip at the size) feeds it:
camera, pre-processing, the model and drawing included. Native rates are the model alone on a prepared input,
batch 1, as ``cgan benchmark`` times it. Each engine the browser offers here is measured (WebAssembly on the
page's threads; WebGPU only where there is a hardware adapter, which a GPU-less machine has not), each model's
page in fp32 and in int8.

    python -m benchmarks.web_speed [--seconds 8] [--rounds 3]

With ``--rounds N`` each page and its native rates are measured N times in turn and the medians reported (the runs
are kept in the result file): on a shared machine one measurement of either can be a third off.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from .browser import page_in_chromium, wait_for, write_y4m
from .formats import model_file, sample_photo

from cgan.bench.inference import time_runs
from cgan.bench.machine import describe_machine
from cgan.export.web import export_web
from cgan.fileio import atomic_write_text
from cgan.ort_web import WEBGPU_FILES
from cgan.pixels import to_model_range
from cgan.sampledata import build_unpaired_dataset

MODELS = ("filter", "student-tiny", "student")
PRECISIONS = ("fp32", "int8")  # the default, and the one whose arithmetic differs (fp16 is tested, not timed)
SIZES = ((240, 320), (480, 640))


def page_fps(folder: Path, clip: Path, tmp: Path, seconds: float) -> tuple[float, str, dict]:
    """The median of the page's per-second frame counts over ``seconds``, after its first frames; its engine; and
    the median milliseconds a frame spends in each of the page's stages (input, model, output)."""
    with page_in_chromium(folder, tmp, camera=clip) as reports:
        first = wait_for(reports, lambda r: r.get("kind") == "state" and r["frames"] >= 10 or "error" in r)
        if "error" in first:
            raise RuntimeError(first["error"])
        start = len(reports)
        time.sleep(seconds)
        states = [r for r in reports[start:] if r.get("kind") == "state" and r.get("stage_ms")]
    stage_ms = _medians([r["stage_ms"] for r in states])
    return statistics.median(r["fps"] for r in states), first["engine"], stage_ms


def native_fps(model: Path, photo: np.ndarray, seconds: float) -> dict:
    """Images per second of the model alone in ONNX Runtime and OpenVINO (CPU, batch 1, latency)."""
    import onnxruntime
    import openvino

    x = np.ascontiguousarray(to_model_range(photo).transpose(2, 0, 1)[None])
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    compiled = openvino.Core().compile_model(str(model), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    runs = {"onnxruntime": lambda: session.run(None, {"input": x})[0], "openvino": lambda: compiled(x)[0]}
    return {name: 1 / statistics.median(time_runs(run, max_seconds=seconds)) for name, run in runs.items()}


def _medians(measurements: list[dict]) -> dict:
    """Each key's median over ``measurements`` (dicts with the same keys)."""
    return {key: statistics.median(m[key] for m in measurements) for key in measurements[0]}


def visitor_download_mb(folder: Path) -> float:
    """What a browser without WebGPU fetches: everything but the WebGPU build."""
    webgpu = {folder / "ort" / name for name in WEBGPU_FILES}
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p not in webgpu) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Time per page and size.")
    parser.add_argument("--rounds", type=int, default=1,
                        help="Times each page and its native rates are measured, in turn; medians are reported.")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/web_speed.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        calib = build_unpaired_dataset(tmp / "data", n_train=32, n_test=2, size=256) / "trainA"
        for preset in MODELS:
            model = model_file(tmp, preset)
            folders = {precision: export_web(model, tmp / f"{preset}-{precision}-web", precision=precision,
                                             **({"calib": str(calib)} if precision == "int8" else {}))[0]
                       for precision in PRECISIONS}
            for h, w in SIZES:
                photo = cv2.resize(sample_photo(), (w, h), interpolation=cv2.INTER_AREA)
                clip = write_y4m(tmp / f"{w}x{h}.y4m", photo)
                runs = {precision: {"page_fps": [], "stage_ms": [], "native_fps": [], "engine": []}
                        for precision in folders}
                for round_ in range(args.rounds):  # in turn, so that the page and native see the same machine
                    for precision, folder in folders.items():
                        native = native_fps(folder / "model.onnx", photo, args.seconds)
                        fps, engine, stage_ms = page_fps(folder, clip, tmp / f"{preset}-{precision}-{w}-{round_}",
                                                         args.seconds)
                        for key, value in (("page_fps", fps), ("stage_ms", stage_ms), ("native_fps", native),
                                           ("engine", engine)):
                            runs[precision][key].append(value)
                        print(f"{preset} {w}x{h} {precision}: page {fps:.1f} frames/s ({engine}; ms a frame: " +
                              ", ".join(f"{k} {v:.1f}" for k, v in stage_ms.items()) + "); native " +
                              ", ".join(f"{k} {v:.1f}" for k, v in native.items()), flush=True)
                median = {precision: {"page_fps": statistics.median(measured["page_fps"]),
                                      "stage_ms": _medians(measured["stage_ms"]),
                                      "native_fps": _medians(measured["native_fps"])}
                          for precision, measured in runs.items()}
                for precision, folder in folders.items():
                    rows.append({"model": preset, "size": f"{w}x{h}", "precision": precision,
                                 "engine": runs[precision]["engine"][-1],
                                 **median[precision], "native_fp32_fps": median["fp32"]["native_fps"],
                                 "page_fps_runs": runs[precision]["page_fps"],
                                 "native_onnxruntime_runs": [r["onnxruntime"] for r in runs[precision]["native_fps"]],
                                 "download_mb": visitor_download_mb(folder),
                                 "model_mb": (folder / "model.onnx").stat().st_size / 2**20})
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "rows": rows,
              "command": f"python -m benchmarks.web_speed --seconds {args.seconds:g}" +
                         (f" --rounds {args.rounds}" if args.rounds > 1 else "")}
    atomic_write_text(args.json, json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
