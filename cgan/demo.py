"""``cgan demo``: the product end to end on data built from sample photos that ship with installed packages."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from .errors import CganError
from .info import describe_model, format_description
from .sampledata import build_unpaired_dataset


def run_demo(out: str | os.PathLike = "demo-out", overwrite: bool = False, train_time: str = "60s") -> Path:
    """Build a small unpaired data set, train on it for ``train_time``, describe the model; return ``out``."""
    from .train import train

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise CganError(f"{out} already exists: choose another --out or pass --overwrite")
        shutil.rmtree(out)
    click.echo(f"[1/3] building an unpaired photo -> colour-grade data set in {out / 'data'}")
    data = build_unpaired_dataset(out / "data", n_train=120, n_test=8, size=96)
    click.echo(f"      {sum(1 for _ in data.rglob('*.png'))} images: trainA/ trainB/ testA/ testB/ and testA_truth/")
    click.echo(f"[2/3] training photo <-> graded for {train_time} (resnet6, ngf 32, 64x64 crops)")
    result = train(data=str(data), out=str(out / "run"), name_a="photo", name_b="graded", preset="resnet6", ngf=32,
                   size=64, max_time=train_time, val_truth=str(data / "testA_truth"), log_every=20)
    click.echo("[3/3] the best generator so far (by PSNR against the known answer)")
    model = result.run_dir / "best" / "G_AtoB.safetensors"
    click.echo(f"\ncgan info {model}")
    click.echo(format_description(describe_model(model)))
    click.echo(f"\nlook at: {result.run_dir / 'samples'} (grids), {result.run_dir / 'loss_curves.png'}, "
               f"tensorboard --logdir {result.run_dir / 'tb'}")
    return out
