"""``make bench``: run every benchmark and write benchmarks/RESULTS.md from the numbers.

    python -m benchmarks.run_all                 # everything (about 60 minutes on a 2-core CPU)
    python -m benchmarks.run_all --quick         # shorter repeats and a 2-minute quality run
    python -m benchmarks.run_all --only pipeline # measure one section again, keep the others
    python -m benchmarks.run_all --only students --teacher T.safetensors  # students of an existing teacher
    python -m benchmarks.run_all --merge gpu-logs/all.json  # add the GPU section measured on a GPU machine
                                                 # (benchmarks/gpu_checks.sh there)
    python -m benchmarks.run_all --render        # rewrite RESULTS.md (and the README's objective table) from the
                                                 # stored results

Raw results go to benchmarks/results/*.json; RESULTS.md is generated from them (render_results.py),
so it always shows the latest run with its command, machine, date and versions; so is the objective table in
README.md (readme_table.py).
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).parent

from .bench_models import CPU_MODELS, STUDENTS, paper_generator, student_generator
from .distill_quality import measure_students
from .student_pipeline import measure as measure_student_pipeline
from .gpu_profile import profile_generator
from .pipeline_speed import measure_flicker
from .quality import run_quality
from .quality_curves import draw as draw_curves
from .readme_table import README, with_table
from .render_results import render
from .train_speed import loss_agreement as measure_agreement
from .train_speed import measure as measure_training

from cgan.bench.inference import benchmark, pipeline_fps
from cgan.fileio import atomic_write_text
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config
from cgan.sampledata import build_unpaired_dataset


def inference_section(folder: Path, quick: bool, args: argparse.Namespace) -> dict:
    model = paper_generator(folder)
    print("inference (resnet9 ngf 64) ...", flush=True)
    result = benchmark(str(model), sizes="256,512" if quick else "256,512,720p", batches=[1],
                       max_seconds=10 if quick else 30, pipeline=False, device="cpu").to_dict()
    batch4 = benchmark(str(model), sizes="256", batches=[4], max_seconds=10 if quick else 30, pipeline=False,
                       device="cpu")
    result["rows"] += [row.to_dict() for row in batch4.rows]
    return result


def pipeline_section(folder: Path, quick: bool, args: argparse.Namespace) -> list:
    print("video pipeline ...", flush=True)
    small = build_generator(preset_config("resnet6", ngf=32))
    model = save_model(small, folder / "resnet6.safetensors", new_meta(small.config, "resnet6"))
    return [pipeline_fps(str(model), half=half, device="cpu").to_dict() for half in (False, True)]


def training_section(folder: Path, quick: bool, args: argparse.Namespace) -> dict:
    print("training speed ...", flush=True)
    data = build_unpaired_dataset(folder / "data", n_train=40, n_test=8, size=288)
    rows = []
    for name, batch, blocks, iters in [("small", 1, 5, 8), ("small", 4, 3, 4), ("paper", 1, 3, 3), ("paper", 4, 2, 2)]:
        if quick:
            blocks, iters = 2, min(iters, 3)
        row = measure_training(name, batch, blocks, iters, data, amp=True)
        print(f"  {name} batch {batch}: {row['speedup']:.2f}x", flush=True)
        rows.append(row)
    print("loss curves, bf16 against fp32 ...", flush=True)
    agreement = measure_agreement(data, HERE / "results" / "loss_agreement.png", 100 if quick else 300)
    return {"rows": rows, "loss_agreement": agreement}


def quality_section(folder: Path, quick: bool, args: argparse.Namespace) -> dict:
    minutes = 2 if quick else 10
    checkpoints = [m for m in (2, 5, 10) if m <= minutes]
    print("quality task, the paper's defaults ...", flush=True)
    paper = run_quality(minutes, checkpoints)
    print("quality task, --fast ...", flush=True)
    trained = folder / "quality_G_AtoB.safetensors"
    fast = run_quality(minutes, checkpoints, keep_model=trained, fast=True)
    variants = [json.loads(p.read_text()) for p in sorted((HERE / "results" / "fast_start").glob("*.json"))]
    draw_curves([paper, *variants, fast], HERE / "results" / "time_to_quality.png")
    print("flicker ...", flush=True)
    return {"quality": paper, "fast": fast, "flicker": measure_flicker(str(trained), 320, 240, 24 if quick else 48)}


GPU_PARTIAL = HERE / "results" / "gpu_partial.json"


def gpu_section(folder: Path, quick: bool, args: argparse.Namespace) -> dict:
    """Inference, the video pipeline and training speed on the GPU, each against PyTorch fp32 eager there.
    What is measured so far is kept in results/gpu_partial.json after each step, so that a lease that ends
    mid-run still returns numbers; the file goes once the section is complete."""
    model = paper_generator(folder)

    def keep(result: dict) -> None:
        atomic_write_text(GPU_PARTIAL, json.dumps(result, indent=2))

    print(f"GPU inference (resnet9 ngf 64) on {torch.cuda.get_device_name(0)} ...", flush=True)
    seconds = 3 if quick else 10
    result = benchmark(str(model), backends=["torch", "onnxruntime", "tensorrt"], sizes="256,512,720p,1080p",
                       batches=[1], max_seconds=seconds, pipeline=False, device="cuda").to_dict()
    result["rows"] += benchmark(str(model), backends=["torch"], sizes="256", batches=[8], max_seconds=seconds,
                                pipeline=False, device="cuda").to_dict()["rows"]
    keep(result)
    print("GPU inference compiled by torch.compile (720p, 1080p) ...", flush=True)
    result["compiled_rows"] = benchmark(str(model), backends=["torch"], sizes="720p,1080p", batches=[1],
                                        max_seconds=seconds, pipeline=False, device="cuda", compiled=True).to_dict()["rows"]
    keep(result)
    print("GPU profile of one 720p call ...", flush=True)
    result["profile"] = profile_generator(720, 1280)
    keep(result)
    print("GPU video pipeline (resnet9 ngf 64, 1280x720) ...", flush=True)
    result["pipeline"] = [pipeline_fps(str(model), half=half, width=1280, height=720, frames=96,
                                       device="cuda").to_dict() for half in (False, True)]
    print("GPU video pipeline compiled, fp16 (1280x720, 1920x1080) ...", flush=True)
    result["pipeline"] += [pipeline_fps(str(model), half=True, width=w, height=h, frames=96 if quick else 240,
                                        device="cuda", compiled=True).to_dict() for w, h in ((1280, 720), (1920, 1080))]
    keep(result)
    print("GPU training speed ...", flush=True)
    data = build_unpaired_dataset(folder / "data", n_train=40, n_test=8, size=288)
    result["training"] = []
    for name, batch in [("small", 1), ("small", 4), ("paper", 1), ("paper", 4)]:
        for channels_last in (True, False):
            row = measure_training(name, batch, 3, 4 if quick else 10, data, amp=True, device="cuda",
                                   channels_last=channels_last)
            print(f"  {name} batch {batch} {row['layout']}: {row['speedup']:.2f}x", flush=True)
            result["training"].append(row)
            keep(result)
    print("GPU students (720p, 1080p) ...", flush=True)
    result["students"] = []
    for preset in STUDENTS:
        rows = benchmark(str(student_generator(folder, preset)), backends=["torch"], sizes="720p,1080p", batches=[1],
                         max_seconds=seconds, pipeline=False, device="cuda").to_dict()["rows"]
        result["students"].append({"preset": preset, "rows": rows})
        keep(result)
    GPU_PARTIAL.unlink()
    return result


def students_section(folder: Path, quick: bool, args: argparse.Namespace) -> dict:
    """Students distilled from the quality task's --fast generator: --teacher, else the quality section's when
    it ran first, else one trained here."""
    minutes = 2 if quick else 10
    teacher = args.teacher or folder / "quality_G_AtoB.safetensors"
    if not teacher.exists():
        print("students: training the teacher (the quality task's --fast) ...", flush=True)
        run_quality(minutes, [minutes], keep_model=teacher, fast=True)
    result = measure_students(teacher, minutes=minutes, checkpoints=tuple(m for m in (2, 5, 10) if m <= minutes))
    atomic_write_text(HERE / "results" / IN_FOLDERS["students"] / f"{result['task']}.json", json.dumps(result, indent=2))
    print("students in the video pipeline ...", flush=True)
    pipeline = measure_student_pipeline(CPU_MODELS, repeats=2 if quick else 5, frames=60 if quick else 150)
    atomic_write_text(HERE / "results" / "student_pipeline.json", json.dumps(pipeline, indent=2))
    return {"tasks": [result["task"]]}


SECTIONS = {"inference": inference_section, "pipeline": pipeline_section, "training": training_section,
            "quality": quality_section, "students": students_section, "gpu": gpu_section}
OPTIONAL = {"gpu"}  # measured only where a CUDA GPU is present; elsewhere the last results are kept
IN_FOLDERS = {"students": "distill"}  # sections that keep their results as files in results/FOLDER/


def run(quick: bool, only: list[str], previous: dict, args: argparse.Namespace) -> dict:
    results = dict(previous)
    measured = results.setdefault("measured", {})
    with tempfile.TemporaryDirectory() as tmp:
        for name in only:
            if name == "gpu" and not torch.cuda.is_available():
                print("gpu: no CUDA GPU here, keeping the last GPU results", flush=True)
                continue
            results[name] = SECTIONS[name](Path(tmp), quick, args)
            measured[name] = f"{datetime.date.today().isoformat()}, `{' '.join(['python -m benchmarks.run_all', *sys.argv[1:]])}`"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--merge", type=Path, default=None,
                        help="take the GPU section from another machine's results/all.json and rewrite RESULTS.md")
    parser.add_argument("--render", action="store_true",
                        help="rewrite RESULTS.md and the README's objective table from the stored results only")
    parser.add_argument("--teacher", type=Path, default=None,
                        help="students: distil from this model (the quality task's --fast generator after 10 minutes, "
                             "from benchmarks/quality.py --keep-model) instead of training it first")
    parser.add_argument("--only", default=None,
                        help=f"sections to measure again ({', '.join(SECTIONS)}); the others keep their last results")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else ([] if args.merge or args.render else list(SECTIONS))
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {', '.join(sorted(unknown))}")
    (HERE / "results").mkdir(exist_ok=True)
    stored = HERE / "results" / "all.json"
    previous = json.loads(stored.read_text()) if stored.is_file() else {}
    if set(only) >= set(SECTIONS) - OPTIONAL:  # a full run starts afresh, keeping only what it cannot measure here
        previous = {k: v for k, v in previous.items() if k in OPTIONAL or k == "measured"}
        previous["measured"] = {k: v for k, v in previous.get("measured", {}).items() if k in OPTIONAL}
    stored_in_folders = {name for name, folder in IN_FOLDERS.items() if any((HERE / "results" / folder).glob("*.json"))}
    missing = set(SECTIONS) - OPTIONAL - set(only) - set(previous) - stored_in_folders
    if missing:
        parser.error(f"no earlier results for {', '.join(sorted(missing))}: run them too")
    if args.merge:
        other = json.loads(args.merge.read_text())
        if "gpu" not in other:
            parser.error(f"{args.merge} holds no GPU section")
        previous["gpu"] = other["gpu"]
        previous.setdefault("measured", {})["gpu"] = other["measured"]["gpu"]
    results = run(args.quick, only, previous, args)
    atomic_write_text(stored, json.dumps(results, indent=2))
    atomic_write_text(HERE / "RESULTS.md", render(results))
    atomic_write_text(README, with_table(README.read_text()))
    print(f"wrote {HERE / 'RESULTS.md'} and the objective table in {README}")


if __name__ == "__main__":
    main()
