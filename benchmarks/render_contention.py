"""RESULTS.md's section on training beside other work, from ``results/contention.json`` (benchmarks/contention.py)."""
from __future__ import annotations

import json
from pathlib import Path

from .prose import prose


def contention(path: Path) -> list[str]:
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    flags = ", ".join(d["machine"].get("cpu_flags", [])) or "not recorded"
    lines = [*prose("contention", d=d, flags=flags), "",
             "| setting | threads | alone | beside | job | fraction of alone |", "|---|---|---|---|---|---|"]
    for row in d["rows"]:
        lines.append(f"| {row['setting']} | {row['threads']} | {row['alone_ms']:.0f} ms | {row['beside_ms']:.0f} ms "
                     f"| {row['job']} | **{row['fraction_of_alone']:.2f}** |")
    lines += ["", *prose("contention_choice")]
    return lines
