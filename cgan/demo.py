"""``cgan demo``: the product end to end on data built from sample photos that ship with installed packages."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from .errors import CganError
from .info import describe_model, format_description
from .modelfile import new_meta, save_model
from .nets import build_generator, preset_config
from .sampledata import build_unpaired_dataset


def run_demo(out: str | os.PathLike = "demo-out", overwrite: bool = False) -> Path:
    """Build a small unpaired data set, make a model file from it and describe it; return ``out``."""
    out = Path(out)
    if out.exists():
        if not overwrite:
            raise CganError(f"{out} already exists: choose another --out or pass --overwrite")
        shutil.rmtree(out)
    click.echo(f"[1/2] building an unpaired photo -> colour-grade data set in {out / 'data'}")
    data = build_unpaired_dataset(out / "data", n_train=60, n_test=8, size=128)
    click.echo(f"      {sum(1 for _ in data.rglob('*.png'))} images written")
    click.echo("[2/2] creating a resnet6 generator model file")
    config = preset_config("resnet6", ngf=32)
    model = save_model(build_generator(config), out / "photo2graded.safetensors",
                       new_meta(config, "resnet6", "photo", "graded", data=str(data)))
    click.echo(f"\ncgan info {model}")
    click.echo(format_description(describe_model(model)))
    return out
