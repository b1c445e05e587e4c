"""Students against their teacher: quality on the quality task and speed on this CPU, in one run.

    python -m benchmarks.quality --minutes 10 --checkpoints 10 fast=true --keep-model teacher.safetensors
    python -m benchmarks.distill_quality --teacher teacher.safetensors --minutes 10 --json results/distill/colour-grade.json

The teacher is the quality task's ``--fast`` generator (resnet6 ngf 32); each student preset is
distilled from it for ``--minutes`` on the task's photos and scored at the checkpoints on the
held-out pairs: its gain over doing nothing beside the teacher's, and its PSNR against the teacher.
Then speed, side by side: images/s at 256x256 and 640x480 on every CPU backend and precision
(the teacher, the paper's resnet9 ngf 64 in PyTorch fp32 eager as the reference, each student
in fp32, bf16 and int8), and ``cgan translate`` of a 640x480 clip end to end.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .bench_models import STUDENTS, paper_generator

from cgan.bench.inference import time_runs
from cgan.bench.machine import describe_machine
from cgan.export import export_onnx
from cgan.modelfile import load_model
from cgan.nets import count_macs, count_parameters
from cgan.apps.translate import translate
from cgan.runtime.openvino_backend import openvino_available
from cgan.runtime.options import RuntimeOptions
from cgan.runtime.translator import Translator
from cgan.sampledata import build_unpaired_dataset, write_panning_clip
from cgan.train import Callback
from cgan.train.distillation import DistillConfig, Distiller


class ScoreAt(Callback):
    """The student's validation metrics when distillation time passes each checkpoint (minutes)."""

    def __init__(self, checkpoints: list[float]) -> None:
        self.pending, self.scores = sorted(checkpoints), []

    def on_step_end(self, trainer, losses) -> None:
        if self.pending and trainer.elapsed >= 60 * self.pending[0]:
            self.score(trainer, self.pending.pop(0))

    def score(self, trainer, minutes: float) -> None:
        metrics, _ = trainer._evaluate()
        self.scores.append({"minutes": minutes, "iterations": trainer.iteration, **metrics})
        print(f"  {minutes:>4g} min, {trainer.iteration:>5} iterations: student {metrics['psnr_gain']:+.2f} dB over "
              f"doing nothing (teacher {metrics['teacher_gain']:+.2f}), {metrics['teacher_psnr']:.2f} dB against the "
              f"teacher", flush=True)


def distil(teacher: Path, data: Path, preset: str, minutes: float, checkpoints: list[float], out: Path) -> dict:
    config = DistillConfig(teacher=str(teacher), data=str(data), out=str(out / f"run-{preset}"), preset=preset,
                           val_truth=str(data / "testA_truth"), val_images=32, val_size=128, size=128, load_size=128,
                           max_time=f"{minutes * 60 + 1}s", epochs=1000, epochs_decay=0, log_every=100)
    scorer = ScoreAt([m for m in checkpoints if m <= minutes])
    distiller = Distiller(config, [scorer])
    distiller.fit()
    if scorer.pending:  # the budget ended a hair before the last checkpoint
        scorer.score(distiller, scorer.pending.pop(0))
    model = distiller.run_dir / f"G_{distiller.teacher.meta.direction}.safetensors"  # the latest student
    return {"preset": preset, "model": str(model), "scores": scorer.scores}


def images_per_second(model: Path, options: RuntimeOptions, height: int, width: int) -> float:
    translator = Translator(model, options)
    x = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32) * 2 - 1
    return 1 / statistics.median(time_runs(lambda: translator.backend.run(x), max_seconds=10))


def speed_rows(models: dict[str, Path], calib: Path, out: Path) -> tuple[list[dict], dict]:
    """images/s of every (model, backend, precision) at 256x256 and 640x480; int8 PSNR against fp32."""
    rows, int8_psnr = [], {}
    for name, path in models.items():
        variants = [("torch", "fp32", path, RuntimeOptions(device="cpu"))]
        if name.startswith("student") and openvino_available():
            onnx32, _ = export_onnx(path, out / f"{name}.onnx", verify=False, overwrite=True)
            onnx8, report = export_onnx(path, out / f"{name}.int8.onnx", precision="int8", calib=str(calib),
                                        overwrite=True)
            int8_psnr[name] = report.psnr_db
            variants += [("openvino", "fp32", onnx32, RuntimeOptions(backend="openvino", device="cpu")),
                         ("openvino", "bf16", onnx32, RuntimeOptions(backend="openvino", device="cpu",
                                                                     precision="half")),
                         ("openvino", "int8", onnx8, RuntimeOptions(backend="openvino", device="cpu")),
                         ("onnxruntime", "int8", onnx8, RuntimeOptions(backend="onnxruntime", device="cpu"))]
        net = load_model(path)
        for backend, precision, file, options in variants:
            row = {"model": name, "backend": backend, "precision": precision,
                   "macs_256": count_macs(net, 256, 256), "parameters": count_parameters(net),
                   "images_per_s_256": images_per_second(file, options, 256, 256),
                   "images_per_s_640x480": images_per_second(file, options, 480, 640)}
            rows.append(row)
            print(f"  {name:>12} {backend:>11} {precision}: {row['images_per_s_256']:7.1f} images/s at 256x256, "
                  f"{row['images_per_s_640x480']:6.1f} at 640x480", flush=True)
    return rows, int8_psnr


def pipeline_rows(models: dict[str, Path], speed: list[dict], out: Path, frames: int = 96) -> list[dict]:
    """``cgan translate`` of a 640x480 clip end to end with each student in PyTorch fp32 and on the fastest
    OpenVINO path measured at 640x480."""
    clip = out / "clip.mp4"
    write_panning_clip(clip, 640, 480, frames)
    rows = []
    for name, path in models.items():
        openvino = [r for r in speed if r["model"] == name and r["backend"] == "openvino"]
        if not name.startswith("student") or not openvino:
            continue
        fastest = max(openvino, key=lambda r: r["images_per_s_640x480"])["precision"]
        file = out / (f"{name}.int8.onnx" if fastest == "int8" else f"{name}.onnx")
        precision = "bf16" if fastest == "bf16" else None
        for label, file, options in (("PyTorch fp32", path, RuntimeOptions(device="cpu")),
                                     (f"OpenVINO {fastest}", file,
                                      RuntimeOptions(backend="openvino", device="cpu", precision=precision))):
            summary = translate(file, str(clip), str(out / f"{name}.mp4"), options=options, overwrite=True,
                                progress=False)
            rows.append({"model": name, "path": label, "fps": summary.fps, "model_fps": summary.model_fps})
            print(f"  {name} {label}: {summary.fps:.1f} frames/s end to end ({summary.model_fps:.1f} in the model)",
                  flush=True)
    return rows


def measure_students(teacher: Path, task: str = "colour-grade", minutes: float = 10,
                     checkpoints: tuple[float, ...] = (2, 5, 10), presets: tuple[str, ...] = tuple(STUDENTS),
                     speed: bool = True) -> dict:
    """Distil each student preset from ``teacher`` on ``task`` and measure quality (and speed) side by side."""
    measured = time.strftime("%Y-%m-%d")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        data = build_unpaired_dataset(out / "data", n_train=300, n_test=32, size=128, task=task, seed=0)
        students = {}
        for preset in presets:
            print(f"distilling into {preset} for {minutes:g} minutes ...", flush=True)
            students[preset] = distil(teacher, data, preset, minutes, list(checkpoints), out)
        models = {"resnet9 ngf 64": paper_generator(out), "teacher": teacher,
                  **{name: Path(s["model"]) for name, s in students.items()}}
        rows, int8_psnr, pipelines = [], {}, []
        if speed:
            print("speed ...", flush=True)
            rows, int8_psnr = speed_rows(models, data / "trainA", out)
            print("video pipeline, 640x480 ...", flush=True)
            pipelines = pipeline_rows(models, rows, out)
    return {"task": task, "minutes": minutes, "measured": measured, "machine": describe_machine(),
            "threads": torch.get_num_threads(), "teacher": str(teacher),
            "students": [{k: v for k, v in s.items() if k != "model"} for s in students.values()],
            "speed": rows, "int8_psnr_vs_fp32": int8_psnr, "pipeline": pipelines,
            "command": f"python -m benchmarks.distill_quality --task {task} --minutes {minutes:g} --checkpoints "
                       + ",".join(f"{m:g}" for m in checkpoints) + ("" if speed else " --no-speed")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True, help="the quality task's --fast generator")
    parser.add_argument("--task", default="colour-grade")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--checkpoints", default="2,5,10")
    parser.add_argument("--students", default=",".join(STUDENTS))
    parser.add_argument("--no-speed", action="store_true", help="quality only (the speed rows of another run stand)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure_students(args.teacher, args.task, args.minutes,
                              tuple(float(m) for m in args.checkpoints.split(",")), tuple(args.students.split(",")),
                              speed=not args.no_speed)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
