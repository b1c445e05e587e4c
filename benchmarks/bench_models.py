"""Models the benchmarks measure: built here, so that every script times the same network."""
from __future__ import annotations

from pathlib import Path

import torch

from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config
from cgan.presets import PRESETS

STUDENTS = [name for name, values in PRESETS.items() if values["arch"] == "student"]
CPU_MODELS = [*STUDENTS, "filter"]  # the small generators meant for CPUs


def paper_generator(folder: Path) -> Path:
    """resnet9 ngf 64 with weights at a trained model's scale (speed does not depend on their values)."""
    torch.manual_seed(0)
    config = preset_config("resnet9")
    net = build_generator(config)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2)
    return save_model(net, folder / "resnet9.safetensors", new_meta(config, "resnet9", "photo", "graded"))


def student_generator(folder: Path, preset: str) -> Path:
    """A student preset with its initial weights (its speed is that of a distilled one)."""
    torch.manual_seed(0)
    config = preset_config(preset)
    return save_model(build_generator(config), folder / f"{preset}.safetensors",
                      new_meta(config, preset, "photo", "graded"))
