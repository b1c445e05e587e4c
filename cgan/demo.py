"""``cgan demo``: the product end to end on data built from sample photos that ship with installed packages."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import CganError
from .html_report import Link, ReportSection, build_report
from .info import describe_model, format_description
from .sampledata import build_unpaired_dataset, write_panning_clip

if TYPE_CHECKING:
    from .runtime.pipeline import Summary


def run_demo(out: str | os.PathLike = "demo-out", overwrite: bool = False, train_time: str = "60s",
             distill_time: str = "60s") -> Path:
    """Build a small unpaired data set, train on it for ``train_time``, describe the best model, export it to
    ONNX, distil a student from it for ``distill_time``, translate a generated video clip with both and write
    an HTML report of it all; return ``out``."""
    from .export import export_onnx
    from .train import train

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise CganError(f"{out} already exists: choose another --out or pass --overwrite")
        shutil.rmtree(out)
    click.echo(f"[1/7] building an unpaired photo -> colour-grade data set in {out / 'data'}")
    data = build_unpaired_dataset(out / "data", n_train=120, n_test=8, size=96)
    click.echo(f"      {sum(1 for _ in data.rglob('*.png'))} images: trainA/ trainB/ testA/ testB/ and testA_truth/")
    click.echo(f"[2/7] training photo <-> graded for {train_time} (--fast: resnet6, ngf 32, 64x64 crops of the "
               f"96x96 photos)")
    result = train(data=str(data), out=str(out / "run"), name_a="photo", name_b="graded", preset="resnet6", ngf=32,
                   fast=True, load_size=96, max_time=train_time, val_truth=str(data / "testA_truth"), log_every=20)
    click.echo("[3/7] the best generator so far (by PSNR against the known answer)")
    model = result.run_dir / "best" / "G_AtoB.safetensors"
    click.echo(f"\ncgan info {model}")
    click.echo(format_description(describe_model(model)))
    click.echo("[4/7] exporting it to ONNX (dynamic batch, height and width), verified against PyTorch")
    shapes = [(1, 3, 96, 96), (2, 3, 64, 128), (1, 3, 240, 320)]
    onnx_path, report = export_onnx(model, out / "photo2graded.onnx", verify_shapes=shapes)
    for line in report.lines():
        click.echo(line)
    student, student_onnx = _distil(model, data, out, distill_time)
    click.echo("[6/7] translating a generated 320x240 clip (a camera panning across a photo) with the teacher and "
               "the student")
    clip = out / "clip.mp4"
    write_panning_clip(clip, 320, 240, frames=48)
    teacher_run = _translate(onnx_path, clip, out / "clip_graded.mp4", "teacher")
    student_run = _translate(student_onnx, clip, out / "clip_graded_student.mp4", "student")
    click.echo("[7/7] writing the report")
    sections = [
        ReportSection("Export", pre="\n".join(report.lines())),
        ReportSection("Video", text=f"A 320x240 clip, input | output. Teacher ({teacher_run.backend}): "
                                    f"{teacher_run.text()}. Student ({student_run.backend}): {student_run.text()}.",
                      videos=(Link("clip_graded.mp4", "the teacher: clip_graded.mp4"),
                              Link("clip_graded_student.mp4", "the student: clip_graded_student.mp4"))),
    ]
    page = build_report(result.run_dir, out / "report.html", extra_sections=sections)
    click.echo(f"\nteacher: {teacher_run.fps:.1f} frames/s, student: {student_run.fps:.1f} frames/s "
               f"end to end")
    click.echo(f"look at: {page} (the whole run on one page), {out / 'clip_graded.mp4'} and "
               f"{out / 'clip_graded_student.mp4'} (input | output), tensorboard --logdir {result.run_dir / 'tb'}")
    return out


def _distil(teacher: Path, data: Path, out: Path, distill_time: str) -> tuple[Path, Path]:
    """Step 5: a student of ``teacher`` and its fastest export (int8 where OpenVINO runs it, else fp32)."""
    from .export import export_onnx
    from .runtime.openvino_backend import openvino_available
    from .train import distill

    click.echo(f"[5/7] distilling it into a student for {distill_time} (cgan distill: no normalisation, a "
               f"twentieth of the teacher's work per pixel)")
    run = distill(str(teacher), data=str(data), out=str(out / "student"), size=64, load_size=96,
                  max_time=distill_time, val_truth=str(data / "testA_truth"), log_every=20).run_dir
    student = run / "best" / "G_AtoB.safetensors"
    precision = "int8" if openvino_available() else "fp32"
    path, report = export_onnx(student, out / f"photo2graded-student.{precision}.onnx", precision=precision,
                               calib=str(data / "trainA") if precision == "int8" else None,
                               verify_shapes=[(1, 3, 96, 96)] if precision == "fp32" else None)
    check = f"{report.psnr_db:.1f} dB against fp32" if report.psnr_db is not None else "verified"
    click.echo(f"      {path.name} ({precision}, {check})")
    return student, path


def _translate(model: Path, clip: Path, out: Path, who: str) -> Summary:
    from .runtime.apps import translate

    summary = translate(model, str(clip), str(out), batch=1, side_by_side=True)
    click.echo(f"      {who}: {summary.fps:.1f} frames/s end to end with {summary.backend}")
    return summary
