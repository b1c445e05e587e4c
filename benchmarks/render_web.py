"""RESULTS.md's section on the web page, from ``results/web_speed.json`` (benchmarks/web_speed.py)."""
from __future__ import annotations

import json
from pathlib import Path

from .prose import prose


def web_speed(path: Path) -> list[str]:
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    flags = ", ".join(d["machine"].get("cpu_flags", [])) or "not recorded"
    lines = [*prose("web_speed", d=d, flags=flags), "",
             "| model | size | precision | engine | page (frames/s) | in the page, ms a frame: input / model / output "
             "| native ONNX Runtime | native OpenVINO | page / ONNX Runtime | page / ONNX Runtime fp32 | download |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        native = r["native_fps"]
        stages = " / ".join(f"{r['stage_ms'][k]:.1f}" for k in ("prepare", "model", "draw"))
        lines.append(f"| {r['model']} | {r['size']} | {r['precision']} | {r['engine']} | **{r['page_fps']:.1f}** | "
                     f"{stages} | {native['onnxruntime']:.1f} | {native['openvino']:.1f} | "
                     f"{r['page_fps'] / native['onnxruntime']:.2f} | "
                     f"{r['page_fps'] / r['native_fp32_fps']['onnxruntime']:.2f} | {r['download_mb']:.1f} MB |")
    # the targets, for the page as exported by default (fp32)
    small = [r for r in d["rows"] if r["model"] in ("filter", "student-tiny") and r["precision"] == "fp32"]
    at_320 = ", ".join(f"{r['model']} {r['page_fps']:.1f}: {'met' if r['page_fps'] >= 30 else 'not met'}"
                       for r in small if r["size"] == "320x240")
    at_640 = ", ".join(f"{r['model']} {r['page_fps'] / r['native_fps']['onnxruntime']:.2f}: "
                       f"{'met' if r['page_fps'] >= r['native_fps']['onnxruntime'] / 2 else 'not met'}"
                       for r in small if r["size"] == "640x480")
    # what the page would reach with reading the camera and drawing free: the model stage alone against native
    model_alone = ", ".join(f"{r['model']} {1000 / r['stage_ms']['model'] / r['native_fps']['onnxruntime']:.2f}"
                            for r in small if r["size"] == "640x480")
    fp32 = {(r["model"], r["size"]): r["page_fps"] for r in d["rows"] if r["precision"] == "fp32"}
    int8 = {}  # per model: the int8 page's rate as a share of the fp32 page's, at each size
    for r in d["rows"]:
        if r["precision"] == "int8":
            share = r["page_fps"] / fp32[r["model"], r["size"]]
            int8.setdefault(r["model"], []).append(f"{share:.2f} at {r['size']}")
    reading = prose("web_speed_reading", at_320=at_320, at_640=at_640, model_alone=model_alone, int8=int8)
    return lines + ["", *reading]
