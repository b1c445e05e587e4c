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
             "| model | size | engine | page (frames/s) | native ONNX Runtime | native OpenVINO | page / ONNX Runtime "
             "| download |", "|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        native = r["native_fps"]
        lines.append(f"| {r['model']} | {r['size']} | {r['engine']} | **{r['page_fps']:.1f}** | "
                     f"{native['onnxruntime']:.1f} | {native['openvino']:.1f} | "
                     f"{r['page_fps'] / native['onnxruntime']:.2f} | {r['download_mb']:.1f} MB |")
    small = [r for r in d["rows"] if r["model"] in ("filter", "student-tiny")]
    at_320 = ", ".join(f"{r['model']} {r['page_fps']:.1f}: {'met' if r['page_fps'] >= 30 else 'not met'}"
                       for r in small if r["size"] == "320x240")
    at_640 = ", ".join(f"{r['model']} {r['page_fps'] / r['native_fps']['onnxruntime']:.2f}: "
                       f"{'met' if r['page_fps'] >= r['native_fps']['onnxruntime'] / 2 else 'not met'}"
                       for r in small if r["size"] == "640x480")
    return lines + ["", *prose("web_speed_reading", at_320=at_320, at_640=at_640)]
