"""The students' section of RESULTS.md, from ``results/distill/*.json`` (``benchmarks/distill_quality.py``)."""
from __future__ import annotations

import json
from pathlib import Path

from .prose import prose


def students(d: dict) -> list[str]:
    """A distillation run (benchmarks/distill_quality.py): quality against the teacher, then speed."""
    lines = [
        *prose("students", d=d),
        "",
        "| student | minutes | iterations | student gain | teacher gain | PSNR against the teacher |",
        "|---|---|---|---|---|---|",
    ]
    for student in d["students"]:
        for s in student["scores"]:
            lines.append(f"| {student['preset']} | {s['minutes']:g} | {s['iterations']} | {s['psnr_gain']:+.2f} dB | "
                         f"{s['teacher_gain']:+.2f} dB | {s['teacher_psnr']:.2f} dB |")
    return lines + (student_speed(d) if d["speed"] else [])


def student_speed(d: dict) -> list[str]:
    reference = next(r for r in d["speed"] if r["model"] == "resnet9 ngf 64")["images_per_s_256"]
    lines = [
        *prose("student_speed"),
        "",
        "| model | backend | precision | G MACs at 256x256 | parameters | images/s at 256x256 | x resnet9 fp32 | "
        "images/s at 640x480 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in d["speed"]:
        lines.append(f"| {r['model']} | {r['backend']} | {r['precision']} | {r['macs_256'] / 1e9:.2f} | "
                     f"{r['parameters'] / 1e3:.0f} k | {r['images_per_s_256']:.1f} | "
                     f"{r['images_per_s_256'] / reference:.1f}x | {r['images_per_s_640x480']:.1f} |")
    lines += ["", "int8 against the fp32 student on held-back calibration photos: "
              + ", ".join(f"{name} {value:.1f} dB" for name, value in d["int8_psnr_vs_fp32"].items()) + ".",
              "", "`cgan translate` of a 640x480 clip end to end (the webcam's path), batch 1:", "",
              "| model | path | frames/s end to end | frames/s in the model |", "|---|---|---|---|"]
    lines += [f"| {p['model']} | {p['path']} | {p['fps']:.1f} | {p['model_fps']:.1f} |" for p in d["pipeline"]]
    return lines


def student_candidates(path: Path) -> list[str]:
    """How the student presets were chosen (benchmarks/student_candidates.py)."""
    if not path.is_file():
        return []
    c = json.loads(path.read_text())
    m = c["machine"]
    columns = list(c["rows"][0]["at_256"])
    lines = [
        "",
        "### How the student presets were chosen: candidate shapes by measured speed, not MACs",
        "",
        f"`{c['command']}`, measured {c['measured']} on {m['cpu']}, {m['cores']} cores; batch 1, images/s.",
        "",
        "| candidate | G MACs at 256x256 | " + " | ".join(f"{k} at 256x256" for k in columns) + " | "
        + " | ".join(f"{k} at 640x480" for k in columns) + " |",
        "|---|---|" + "---|" * (2 * len(columns)),
    ]
    for r in c["rows"]:
        cells = [f"{r['at_256'][k]:.0f}" for k in columns] + [f"{r['at_640x480'][k]:.0f}" for k in columns]
        lines.append(f"| {r['candidate']} | {r['macs_256'] / 1e9:.2f} | " + " | ".join(cells) + " |")
    by_name = {r["candidate"]: r for r in c["rows"]}
    plain, separable = by_name["w16 d2 b4 (student)"], by_name["w16 d2 b4 separable"]
    best = max(columns, key=lambda k: plain["at_640x480"][k])
    return lines + prose("student_candidates", plain=plain, separable=separable, best=best)


def student_pipeline(path: Path) -> list[str]:
    """The students and the filter through ``cgan translate`` of a 640x480 clip on each path
    (benchmarks/student_pipeline.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    lines = [
        *prose("student_pipeline", d=d),
        "",
        "| model | path | frames/s end to end | runs | frames/s, model alone | end to end / model alone |",
        "|---|---|---|---|---|---|",
    ]
    for r in d["rows"]:
        runs = ", ".join(f"{f:.1f}" for f in r["fps_runs"])
        lines.append(f"| {r['model']} | {r['path']} | {r['fps']:.1f} | {runs} | {r['model_alone_fps']:.1f} | "
                     f"{r['fps'] / r['model_alone_fps']:.2f} |")
    return lines
