"""RESULTS.md's section on task families, from ``results/families/*.json`` (benchmarks/families.py) and
``results/family_ceiling/*.json`` (benchmarks/family_ceiling.py)."""
from __future__ import annotations

from .families import distinct_draws, summarise
from .prose import prose
from .result_files import older_defaults

from cgan.task_families import MARGIN


def families(results: list[dict]) -> list[str]:
    if not results:
        return []
    first = results[0]
    flags = ", ".join(first["machine"].get("cpu_flags", [])) or "not recorded"
    lines = [*prose("families", d=first, flags=flags, results=results, margin=MARGIN,
                    older_defaults=older_defaults), "",
             "| profile | kind | draws | minutes | steps | mean gain | worst gain |", "|---|---|---|---|---|---|---|"]
    for result in results:
        for kind, found in result["kinds"].items():
            for row in found["summary"]:
                lines.append(f"| {result['label']} | {kind} | {len(found['runs'])} | {row['minutes']:g} | "
                             f"{row['iterations']} | {row['mean_gain_db']:+.2f} dB | {row['worst_gain_db']:+.2f} dB |")
    lines += ["", "The draws: " + "; ".join(dict.fromkeys(run["task"] for result in results
                                                          for found in result["kinds"].values()
                                                          for run in found["runs"])) + ".", "",
              *prose("families_reading", results=results, pooled=pooled_draws(results))]
    return lines


def pooled_draws(results: list[dict]) -> list[dict]:
    """A profile's draws looked into one file at a time (``--only N``, labels ending ``-drawN``), with the file of
    its other draws where there is one (the label without the suffix), pooled as one run of them all would have
    been: label (without the suffix), kind, runs and summary, where there are several and no draw is counted
    twice."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for result in results:
        stem, _, number = result["label"].rpartition("-draw")
        if stem and number.isdigit():
            for kind, found in result["kinds"].items():
                groups.setdefault((stem, kind), []).extend(found["runs"])
    for result in results:
        for kind, found in result["kinds"].items():
            if (result["label"], kind) in groups:
                groups[(result["label"], kind)].extend(found["runs"])
    return [{"label": stem, "kind": kind, "runs": runs, "summary": summarise(runs)}
            for (stem, kind), runs in groups.items() if len(runs) > 1 and distinct_draws(runs)]


def family_ceilings(ceilings: list[dict], results: list[dict]) -> list[str]:
    """What answers told the truth reach on a kind's held-out draws, beside the profiles trained on that kind."""
    lines = []
    for d in ceilings:
        draws = list(d["draws"])
        trained = [(r["label"], r["kinds"][d["kind"]]["summary"]) for r in results if d["kind"] in r["kinds"]]
        lines += ["", *prose("family_ceiling", d=d), "",
                  "| answer | mean gain | worst gain | " + " | ".join(draws) + " |",
                  "|---|---|---|" + "---|" * len(draws)]
        for row in d["summary"]:
            per_draw = [next(r["gain_db"] for r in d["draws"][name] if r["answer"] == row["answer"]) for name in draws]
            lines.append(f"| {row['answer']} | {row['mean_gain_db']:+.2f} dB | {row['worst_gain_db']:+.2f} dB | "
                         + " | ".join(f"{v:+.2f} dB" for v in per_draw) + " |")
        best = max(d["summary"], key=lambda row: row["mean_gain_db"])
        lines += ["", *prose("family_ceiling_reading", d=d, best=best, trained=trained)]
    return lines
