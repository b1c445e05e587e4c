"""RESULTS.md's section on task families, from ``results/families/*.json`` (benchmarks/families.py)."""
from __future__ import annotations

from .prose import prose

from cgan.task_families import MARGIN


def families(results: list[dict]) -> list[str]:
    if not results:
        return []
    first = results[0]
    flags = ", ".join(first["machine"].get("cpu_flags", [])) or "not recorded"
    lines = [*prose("families", d=first, flags=flags, results=results, margin=MARGIN), "",
             "| profile | kind | draws | minutes | steps | mean gain | worst gain |", "|---|---|---|---|---|---|---|"]
    for result in results:
        for kind, found in result["kinds"].items():
            for row in found["summary"]:
                lines.append(f"| {result['label']} | {kind} | {len(found['runs'])} | {row['minutes']:g} | "
                             f"{row['iterations']} | {row['mean_gain_db']:+.2f} dB | {row['worst_gain_db']:+.2f} dB |")
    lines += ["", "The draws: " + "; ".join(dict.fromkeys(run["task"] for result in results
                                                          for found in result["kinds"].values()
                                                          for run in found["runs"])) + ".", "",
              *prose("families_reading", results=results)]
    return lines
