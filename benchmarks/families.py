"""A training profile judged on task families: trained on each held-out draw of each kind (settings the profiles
were not chosen on: cgan/task_families.py), scored at each checkpoint, summarised per kind as the mean and the
worst gain over the draws, by minutes and by steps, on this machine.

    python -m benchmarks.families --kinds stylise --draws 2 --minutes 10 --label filter-gan \
        preset=filter objective=gan fast=true size=128
    python -m benchmarks.families --kinds stylise --draws 2 --minutes 10 --label filter-gan-idt5 \
        preset=filter objective=gan fast=true size=128 lambda_identity_b=5
    python -m benchmarks.families --kinds mosaic --draws 3 --minutes 10 --label fastcut-mosaic \
        fast=true objective=fastcut size=128
    python -m benchmarks.families --kinds colour-grade --draws 2 --only 2 --checkpoints 1,2,3,4,5,6,7,8,9,10 \
        --label filter-gan-colour-grade-draw2 preset=filter objective=gan fast=true size=128

``--only N`` trains on the Nth draw alone (a draw looked into: scored at every minute, say).
Each run writes ``benchmarks/results/families/LABEL.json``; RESULTS.md shows every such file side by side.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from .quality import parse_options, run_quality

from cgan.bench.machine import describe_machine
from cgan.fileio import atomic_write_text
from cgan.task_families import KINDS, held_out_draws

RESULTS = Path(__file__).parent / "results" / "families"


def summarise(runs: list[dict]) -> list[dict]:
    """Per checkpoint: the mean and the worst gain over the runs (draws), and the mean iterations reached."""
    rows = []
    for i, first in enumerate(runs[0]["scores"]):
        gains = [run["scores"][i]["gain_db"] for run in runs if i < len(run["scores"])]
        rows.append({"minutes": first["minutes"], "mean_gain_db": statistics.mean(gains), "worst_gain_db": min(gains),
                     "iterations": round(statistics.mean(run["scores"][i]["iterations"] for run in runs
                                                         if i < len(run["scores"])))})
    return rows


def distinct_draws(runs: list[dict]) -> bool:
    """Whether ``runs`` (of one profile, perhaps from several files) each trained on a draw of its own: pooling
    them then counts every draw once."""
    return len({run["task"] for run in runs}) == len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--draws", type=int, default=3, help="held-out draws per kind")
    parser.add_argument("--only", type=int, help="train on this one of the draws (1 for the first): a draw looked into")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--checkpoints", default="2,5,10")
    parser.add_argument("--label", required=True, help="the profile's name: the result file's")
    parser.add_argument("options", nargs="*", help="the profile: TrainConfig values as name=value")
    args = parser.parse_args()
    options = parse_options(args.options)
    checkpoints = [float(m) for m in args.checkpoints.split(",")]
    kinds = {}
    for kind in args.kinds.split(","):
        runs = []
        draws = held_out_draws(kind, args.draws)
        for draw in draws if args.only is None else draws[args.only - 1:args.only]:
            print(f"{args.label} on {draw.name}", flush=True)
            runs.append(run_quality(args.minutes, checkpoints, task=draw, **options))
        kinds[kind] = {"runs": runs, "summary": summarise(runs)}
        for row in kinds[kind]["summary"]:
            print(f"  {kind} at {row['minutes']:g} min ({row['iterations']} steps): mean {row['mean_gain_db']:+.2f} dB, "
                  f"worst {row['worst_gain_db']:+.2f} dB", flush=True)
    result = {"label": args.label, "measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(),
              "options": options, "draws": args.draws, "minutes": args.minutes, "kinds": kinds,
              "command": "python -m benchmarks.families " + " ".join(
                  [f"--kinds {args.kinds}", f"--draws {args.draws}",
                   *([f"--only {args.only}"] if args.only is not None else []), f"--minutes {args.minutes:g}",
                   f"--checkpoints {args.checkpoints}", f"--label {args.label}", *args.options])}
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{args.label}.json", json.dumps(result, indent=2))
    print(f"wrote {RESULTS / f'{args.label}.json'}")


if __name__ == "__main__":
    main()
