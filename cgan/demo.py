"""``cgan demo``: the product end to end on data built from sample photos that ship with installed packages."""
from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

import click

from .errors import CganError
from .html_report import build_report
from .info import describe_model, format_description
from .sampledata import build_unpaired_dataset, write_panning_clip


def run_demo(out: str | os.PathLike = "demo-out", overwrite: bool = False, train_time: str = "60s") -> Path:
    """Build a small unpaired data set, train on it for ``train_time``, describe the best model, export it
    to ONNX, translate a generated video clip with it and write an HTML report of it all; return ``out``."""
    from .export import export_onnx
    from .runtime.apps import translate
    from .train import train

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise CganError(f"{out} already exists: choose another --out or pass --overwrite")
        shutil.rmtree(out)
    click.echo(f"[1/6] building an unpaired photo -> colour-grade data set in {out / 'data'}")
    data = build_unpaired_dataset(out / "data", n_train=120, n_test=8, size=96)
    click.echo(f"      {sum(1 for _ in data.rglob('*.png'))} images: trainA/ trainB/ testA/ testB/ and testA_truth/")
    click.echo(f"[2/6] training photo <-> graded for {train_time} (--fast: resnet6, ngf 32, 64x64 crops of the "
               f"96x96 photos)")
    result = train(data=str(data), out=str(out / "run"), name_a="photo", name_b="graded", preset="resnet6", ngf=32,
                   fast=True, load_size=96, max_time=train_time, val_truth=str(data / "testA_truth"), log_every=20)
    click.echo("[3/6] the best generator so far (by PSNR against the known answer)")
    model = result.run_dir / "best" / "G_AtoB.safetensors"
    click.echo(f"\ncgan info {model}")
    click.echo(format_description(describe_model(model)))
    click.echo("[4/6] exporting it to ONNX (dynamic batch, height and width), verified against PyTorch")
    onnx_path, report = export_onnx(model, out / "photo2graded.onnx", verify_shapes=[(1, 3, 96, 96), (2, 3, 64, 128),
                                                                                     (1, 3, 240, 320)])
    for line in report.lines():
        click.echo(line)
    click.echo("[5/6] translating a generated 320x240 clip (a camera panning across a photo) with ONNX Runtime")
    clip = out / "clip.mp4"
    write_panning_clip(clip, 320, 240, frames=48)
    summary = translate(onnx_path, str(clip), str(out / "clip_graded.mp4"), batch=2, side_by_side=True)
    click.echo("[6/6] writing the report")
    sections = [
        ("Export", "<pre>" + html.escape("\n".join(report.lines())) + "</pre>"),
        ("Video", f"<p>A 320x240 clip through ONNX Runtime, batch 2: {html.escape(summary.text())}. "
                  f'<a href="clip_graded.mp4">clip_graded.mp4</a> (input | output).</p>'),
    ]
    page = build_report(result.run_dir, out / "report.html", extra_sections=sections)
    click.echo(f"\nlook at: {page} (the whole run on one page), {out / 'clip_graded.mp4'} (input | output), "
               f"tensorboard --logdir {result.run_dir / 'tb'}")
    return out
