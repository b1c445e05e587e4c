"""RESULTS.md's sections on the objectives across tasks, the drift of long runs, and what the stylise task's PSNR
rewards (``benchmarks/objective_grid.sh``, ``drift_trace.py``, ``stylise_ceiling.py``)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .prose import prose
from .quality_curves import label as variant_label
from .render_quality import variant_row


TASK_ORDER = ("colour-grade", "stylise", "detail", "pencil")
OBJECTIVE_ORDER = ("cyclegan", "cut", "fastcut", "gan")


def objectives(runs: list[dict]) -> list[str]:
    """CycleGAN, CUT, FastCUT and the filter's GAN on the quality tasks (results/objectives/)."""
    if not runs:
        return []

    def order(run: dict) -> tuple:
        settings = run["settings"]
        numbers_by_value = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", variant_label(run))]
        return (TASK_ORDER.index(run["task"]), OBJECTIVE_ORDER.index(settings.get("objective", "cyclegan")),
                not settings.get("fast"), numbers_by_value)

    return [
        *prose("objectives"),
        "",
        "| task | settings | gain at 2 min | at 5 min | at 10 min | iterations in 10 min |",
        "|---|---|---|---|---|---|",
        *(f"| {run['task']} {variant_row(run)}" for run in sorted(runs, key=order)),
    ]


def objectives_beyond_10(runs: list[dict]) -> list[str]:
    """Objective runs scored at other checkpoints than the grid's 2, 5 and 10 minutes (results/objectives_long/):
    longer runs, and the filter's first minutes."""
    lines = []
    for run in runs:
        scores = run["scores"]
        lines += ["", "| task | settings | " + " | ".join(f"{score['minutes']:g} min" for score in scores) + " |",
                  "|---|---|" + "---|" * len(scores),
                  f"| {run['task']} | {variant_label(run)} | "
                  + " | ".join(f"{score['gain_db']:+.2f} dB ({score['iterations']} it)" for score in scores) + " |"]
    if not lines:
        return []
    return [*prose("objectives_beyond_10"), *lines]


def drift_trace(path: Path) -> list[str]:
    """A drifting run scored every minute against the truth and against B (benchmarks/drift_trace.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    scores = d["scores"]
    levels = list(scores[0]["patch_distance_to_b"])
    peak = max(scores, key=lambda s: s["gain_db"])
    closest = min(scores, key=lambda s: s["patch_distance_to_b"]["fine"])
    raised = sum(s["gain_db_blurred"] > s["gain_db"] for s in scores if "gain_db_blurred" in s)
    return [*prose("drift_trace", d=d, label=variant_label(d), nothing=scores[0]["patch_distance_to_b_doing_nothing"]),
            "",
            "| minute | iterations | gain over doing nothing | blurred | "
            + " | ".join(f"distance to B, {k}" for k in levels) + " |",
            "|---|---|---|---|" + "---|" * len(levels),
            *(f"| {s['minutes']:g} | {s['iterations']} | {s['gain_db']:+.2f} dB | "
              + (f"{s['gain_db_blurred']:+.2f} dB" if "gain_db_blurred" in s else "-") + " | "
              + " | ".join(f"{s['patch_distance_to_b'][k]:.3f}" for k in levels) + " |" for s in scores),
            "",
            *prose("drift_reading", peak=peak, closest=closest, scores=scores, last=scores[-1], raised=raised)]


def stylise_ceiling(path: Path) -> list[str]:
    """The best each kind of answer reaches on the stylise task's held-out truth (benchmarks/stylise_ceiling.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    return [*prose("stylise_ceiling", d=d), "",
            "| answer | gain over doing nothing |", "|---|---|",
            *(f"| {row['answer']} | {row['gain_db']:+.2f} dB |" for row in d["rows"]),
            "", *prose("stylise_ceiling_reading")]
