"""RESULTS.md's section on export formats side by side, from ``results/formats.json`` (benchmarks/formats.py)."""
from __future__ import annotations

import json
from pathlib import Path

from .prose import prose


def formats(path: Path) -> list[str]:
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    m = d["machine"]
    flags = ", ".join(m.get("cpu_flags", [])) or "not recorded"
    shown = ("torch", "onnxruntime", "openvino", "ncnn", "ai-edge-litert", "litert-quantizer")
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if k in shown)
    lines = [*prose("formats", d=d, flags=flags, versions=versions), "",
             "| model | format | precision | images/s 256x256 | images/s 640x480 | PSNR vs fp32 | size |",
             "|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        psnr = r["psnr_vs_fp32"]["480x640"]
        psnr = "reference" if psnr is None else f"{psnr:.1f} dB"
        lines.append(f"| {r['model']} | {r['format']} | {r['precision']} | {r['images_per_s']['256x256']:.1f} | "
                     f"{r['images_per_s']['480x640']:.1f} | {psnr} | {r['file_mb']:.2f} MB |")
    lines += ["", *prose("formats_pipeline", d=d), "",
              "| model | format | precision | end to end (frames/s) | model alone | ratio |",
              "|---|---|---|---|---|---|"]
    for r in d["pipeline"]:
        lines.append(f"| {r['model']} | {r['format']} | {r['precision']} | **{r['fps']:.1f}** | "
                     f"{r['model_alone_fps']:.1f} | {r['fps'] / r['model_alone_fps']:.2f} |")
    return lines
