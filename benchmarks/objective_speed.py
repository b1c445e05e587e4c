"""Time per training step and peak memory of each objective (cyclegan, cut, fastcut, fastcut with the texture
discriminator of --lambda-texture, and gan, on resnet6 and on the filter), side by side in one run.

    python -m benchmarks.objective_speed --json benchmarks/results/objective_speed.json

Same crop and batch for all (128x128, batch 1, as the quality benchmark), and the same preset (resnet6 ngf 32) unless
the row names another; blocks of steps alternate between the objectives so that machine noise hits them alike; medians.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import statistics
import tempfile
import time
from pathlib import Path

from cgan.bench.machine import describe_machine
from cgan.fileio import atomic_write_text
from cgan.sampledata import build_unpaired_dataset
from cgan.train import trainer_for
from cgan.train.config_files import resolve_config

# what each row trains, by the name the table shows (cyclegan first: the others are compared with it)
VARIANTS = {"cyclegan": {"objective": "cyclegan"}, "cut": {"objective": "cut"}, "fastcut": {"objective": "fastcut"},
            "fastcut --lambda-texture 1": {"objective": "fastcut", "lambda_texture": 1.0}, "gan": {"objective": "gan"},
            "gan --preset filter": {"objective": "gan", "preset": "filter", "ngf": None}}


def _config(variant: str, data: str, out: str, size: int, batch: int):
    return resolve_config({"data": data, "out": out, "preset": "resnet6", "ngf": 32, **VARIANTS[variant],
                           "ndf": 32, "size": size, "load_size": size, "batch": batch, "workers": 0})


def peak_memory_mb(variant: str, data: str, out: str, size: int, batch: int, steps: int) -> float:
    """The peak resident memory of a process that sets up ``variant`` and trains ``steps`` steps (run in a
    fresh process, so that no other variant's allocations are reused)."""
    trainer = trainer_for(_config(variant, data, out, size, batch))
    for (item, _) in zip(iter(trainer.loader), range(steps)):
        trainer.train_step(item["A"], item["B"])
    trainer.log.close()
    # VmHWM is this program's own peak; getrusage's maxrss would start from the parent's size at the fork.
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1)) / 1024


def measure(blocks: int, steps: int, size: int, batch: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = build_unpaired_dataset(Path(tmp) / "data", n_train=40, n_test=4, size=size)
        trainers, batches = {}, {}
        for number, objective in enumerate(VARIANTS):
            run_dir = str(Path(tmp) / f"run{number}")
            trainers[objective] = trainer_for(_config(objective, str(data), run_dir, size, batch))
            loader = iter(trainers[objective].loader)
            batches[objective] = [(item["A"], item["B"]) for item, _ in zip(loader, range(steps))]
        times: dict[str, list[float]] = {o: [] for o in VARIANTS}
        for objective, trainer in trainers.items():  # warm-up: allocator, oneDNN kernel choice
            for a, b in batches[objective][:2]:
                trainer.train_step(a, b)
        for _ in range(blocks):
            for objective, trainer in trainers.items():
                started = time.perf_counter()
                for a, b in batches[objective]:
                    trainer.train_step(a, b)
                times[objective].append((time.perf_counter() - started) / len(batches[objective]))
        for trainer in trainers.values():
            trainer.log.close()
        with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:  # a fresh process each
            peaks = {o: pool.apply(peak_memory_mb, (o, str(data), str(Path(tmp) / f"peak{n}"), size, batch, steps))
                     for n, o in enumerate(VARIANTS)}
    rows = [{"objective": o, "s_per_step": statistics.median(times[o]), "spread": [min(times[o]), max(times[o])],
             "peak_mb": peaks[o]} for o in VARIANTS]
    cyclegan = rows[0]["s_per_step"]
    for row in rows:
        row["speedup_vs_cyclegan"] = cyclegan / row["s_per_step"]
    return {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "rows": rows,
            "setting": f"resnet6 ngf 32 unless named, {size}x{size}, batch {batch}",
            "command": f"python -m benchmarks.objective_speed --blocks {blocks} --steps {steps} --size {size} "
                       f"--batch {batch}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.blocks, args.steps, args.size, args.batch)
    for row in result["rows"]:
        print(f"{row['objective']:>26}: {1000 * row['s_per_step']:7.1f} ms per step ({row['speedup_vs_cyclegan']:.2f}x "
              f"cyclegan), peak {row['peak_mb']:.0f} MB resident")
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
