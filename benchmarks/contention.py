"""Training beside other work: the filter profile's step time alone and beside one other multi-threaded job on the
same cores, for each thread setting, side by side in one run.

    python -m benchmarks.contention --json benchmarks/results/contention.json

Each setting is the environment the measured training starts with (threads, OpenMP's wait policy); "cgan's
choice" is what `cgan train` sets by itself. The other job is started first and keeps PyTorch's defaults, as a
user's other program would: another training of the same profile, or a multi-threaded numpy matrix multiply.
Each measurement is a fresh process; the kept figure is the median step time after a warm-up, and the fraction
is the alone step time over the step time beside the job (1.0: no slowdown; a fair share of 2 cores is 0.5).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The measured training's environment, by the name the table shows. "cgan's choice" sets nothing: `cgan train`
# chooses by itself (cgan.threads), which is what is being measured.
SETTINGS = {
    "PyTorch's defaults (before)": {"CGAN_THREADS": "off"},
    "cgan's choice": {},
    "one thread": {"CGAN_THREADS": "off", "OMP_NUM_THREADS": "1"},
}
JOBS = ("another training", "numpy matmul")
# The profile: the README's filter (`--preset filter --objective gan --fast --size 128`).
PROFILE = {"preset": "filter", "objective": "gan", "fast": True, "size": 128, "load_size": 128, "workers": 0}


def worker(data: str, out: str, steps: int, warmup: int) -> None:
    """Train ``steps`` steps of the profile; print the median seconds per step after ``warmup`` as JSON (steps < 0:
    train until killed, as the other job)."""
    from cgan.threads import share_cpu_with_other_programs

    share_cpu_with_other_programs()  # as cgan train does, before PyTorch loads (CGAN_THREADS=off: not)
    from cgan.train import trainer_for
    from cgan.train.config_files import resolve_config

    trainer = trainer_for(resolve_config({"data": data, "out": out, **PROFILE}))
    times, last = [], time.perf_counter()
    count = 0
    while steps < 0 or count < steps:
        for item in trainer.loader:
            trainer.train_step(item["A"], item["B"])
            now = time.perf_counter()
            times.append(now - last)
            last = now
            count += 1
            if 0 <= steps <= count:
                break
    import torch

    print(json.dumps({"seconds_per_step": statistics.median(times[warmup:]), "threads": torch.get_num_threads()}))


def matmul_job() -> None:
    """A user's other multi-threaded program: numpy matrix multiplies (its BLAS threads), until killed."""
    import numpy as np

    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    while True:
        a = (a @ a) / 1024


def _start_job(job: str, data: str, tmp: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["CGAN_THREADS"] = "off"  # the other program keeps PyTorch's defaults
    args = (["--worker", "--data", data, "--out", str(Path(tmp) / "other"), "--steps", "-1"] if job == "another training"
            else ["--matmul"])
    process = subprocess.Popen([sys.executable, __file__, *args], env=env, stdout=subprocess.DEVNULL)
    time.sleep(8)  # its start-up (imports, data) over: it is computing when the measured training starts
    return process


def _measure(setting: str, data: str, out: str, steps: int, warmup: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "CGAN_THREADS")}
    env.update(SETTINGS[setting])
    done = subprocess.run([sys.executable, __file__, "--worker", "--data", data, "--out", out, "--steps", str(steps),
                           "--warmup", str(warmup)], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--matmul", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.data, args.out, args.steps, args.warmup)
    if args.matmul:
        return matmul_job()

    from cgan.bench.machine import describe_machine
    from cgan.fileio import atomic_write_text
    from cgan.sampledata import build_unpaired_dataset

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = str(build_unpaired_dataset(Path(tmp) / "data", n_train=40, n_test=4, size=128))
        runs = iter(range(1000))
        alone = {}
        for setting in SETTINGS:
            alone[setting] = _measure(setting, data, str(Path(tmp) / f"run{next(runs)}"), args.steps, args.warmup)
            print(f"{setting}, alone: {alone[setting]['seconds_per_step'] * 1000:.0f} ms/step", file=sys.stderr)
        for job in JOBS:
            other = _start_job(job, data, tmp)
            try:
                for setting in SETTINGS:
                    beside = _measure(setting, data, str(Path(tmp) / f"run{next(runs)}"), args.steps, args.warmup)
                    rows.append({"setting": setting, "job": job, "threads": beside["threads"],
                                 "alone_ms": 1000 * alone[setting]["seconds_per_step"],
                                 "beside_ms": 1000 * beside["seconds_per_step"],
                                 "fraction_of_alone": alone[setting]["seconds_per_step"] / beside["seconds_per_step"]})
                    print(f"{setting}, beside {job}: {rows[-1]['beside_ms']:.0f} ms/step "
                          f"({rows[-1]['fraction_of_alone']:.2f} of alone)", file=sys.stderr)
            finally:
                other.kill()
                other.wait()
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(),
              "command": "python -m benchmarks.contention --json benchmarks/results/contention.json",
              "profile": "--preset filter --objective gan --fast --size 128", "steps": args.steps,
              "warmup": args.warmup, "rows": rows}
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
