"""RESULTS.md's section on export formats side by side, from ``results/formats.json`` (benchmarks/formats.py)."""
from __future__ import annotations

import json
from pathlib import Path


def formats(path: Path) -> list[str]:
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    m = d["machine"]
    flags = ", ".join(m.get("cpu_flags", [])) or "not recorded"
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if k in ("torch", "onnxruntime", "openvino"))
    lines = ["", "## Every format side by side: the teacher, the students and the filter", "",
             f"`{d['command']}`, measured {d['measured']} on {m['cpu']}, {m['cores']} cores ({flags}; bf16 "
             f"instructions: {'yes' if m['cpu_bf16'] else 'no'}); {versions}. Batch 1, the backend alone on a "
             "prepared photo, median images/s; PSNR of the output against PyTorch fp32's on the same photo (weights "
             "moved off the identity start, so that an output is not its input); size: what a device loads.", "",
             "| model | format | precision | images/s 256x256 | images/s 640x480 | PSNR vs fp32 | size |",
             "|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        psnr = r["psnr_vs_fp32"]["480x640"]
        psnr = "reference" if psnr is None else f"{psnr:.1f} dB"
        lines.append(f"| {r['model']} | {r['format']} | {r['precision']} | {r['images_per_s']['256x256']:.1f} | "
                     f"{r['images_per_s']['480x640']:.1f} | {psnr} | {r['file_mb']:.2f} MB |")
    lines += ["", f"`cgan translate` of a {d['clip']} clip end to end through the fastest path of each small model "
              "(at least 30 dB against fp32) and through its fp32 IR, beside the same translator's model alone "
              "(medians of 3 alternating runs):", "",
              "| model | format | precision | end to end (frames/s) | model alone | ratio |",
              "|---|---|---|---|---|---|"]
    for r in d["pipeline"]:
        lines.append(f"| {r['model']} | {r['format']} | {r['precision']} | **{r['fps']:.1f}** | "
                     f"{r['model_alone_fps']:.1f} | {r['fps'] / r['model_alone_fps']:.2f} |")
    return lines
