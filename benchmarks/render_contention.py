"""RESULTS.md's section on training beside other work, from ``results/contention.json`` (benchmarks/contention.py)."""
from __future__ import annotations

import json
from pathlib import Path


def contention(path: Path) -> list[str]:
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    m = d["machine"]
    flags = ", ".join(m.get("cpu_flags", [])) or "not recorded"
    lines = ["", "## Training beside other work", "",
             f"`{d['command']}`, measured {d['measured']} on {m['cpu']}, {m['cores']} cores ({flags}). The "
             f"profile `{d['profile']}`, {d['steps']} steps after {d['warmup']} of warm-up, each setting in a fresh "
             "process, alone and then beside one other multi-threaded job started first with PyTorch's defaults "
             "(another training of the same profile, or numpy matrix multiplies). Median ms per step; the "
             "fraction is the alone time over the time beside the job (a fair share of the cores is 0.5).", "",
             "| setting | threads | alone | beside | job | fraction of alone |", "|---|---|---|---|---|---|"]
    for row in d["rows"]:
        lines.append(f"| {row['setting']} | {row['threads']} | {row['alone_ms']:.0f} ms | {row['beside_ms']:.0f} ms "
                     f"| {row['job']} | **{row['fraction_of_alone']:.2f}** |")
    lines += ["", "cgan's choice (`cgan/threads.py`): `cgan train`, `distill` and `demo` start PyTorch with "
              "`OMP_WAIT_POLICY=PASSIVE` (waiting OpenMP threads sleep instead of spinning) and one thread per core; "
              "a value set in the environment wins, and `CGAN_THREADS=off` leaves PyTorch's defaults."]
    return lines
