"""RESULTS.md's section on real time without bf16, from ``results/no_bf16.json`` (benchmarks/no_bf16.py)."""
from __future__ import annotations

import json
from pathlib import Path

from .prose import prose


def no_bf16(path: Path) -> list[str]:
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    flags = ", ".join(d["machine"].get("cpu_flags", [])) or "not recorded"
    best = {}  # the fastest end to end path of each model at each level
    lines = [*prose("no_bf16", d=d, flags=flags), "",
             "| CPU as measured | model | path | end to end (frames/s) | model alone | ratio |",
             "|---|---|---|---|---|---|"]
    for level in d["levels"]:
        for r in level["rows"]:
            isa = f"`ONEDNN_MAX_CPU_ISA={level['isa']}`" if level["isa"] else "unrestricted"
            lines.append(f"| {level['level']} ({isa}) | {r['model']} | {r['path']} | **{r['fps']:.1f}** | "
                         f"{r['model_alone_fps']:.1f} | {r['fps'] / r['model_alone_fps']:.2f} |")
            key = (level["level"], r["model"])
            if key not in best or r["fps"] > best[key]["fps"]:
                best[key] = {**r, "level": level["level"]}
    spread = max(max(r["fps_runs"]) / min(r["fps_runs"]) for level in d["levels"] for r in level["rows"])
    return lines + ["", *prose("no_bf16_reading", best=list(best.values()), spread=spread)]
