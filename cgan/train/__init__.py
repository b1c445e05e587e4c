"""Training: ``train(...)`` for one call, ``Trainer`` with callbacks for more control; ``distill(...)`` for students.

The configs (``config.py``) need no PyTorch; the loop and the networks are imported on first use.
"""
from __future__ import annotations

import importlib

from .config import DistillConfig, TrainConfig, read_run_config, resolve_config

_LAZY = {"Callback": "callbacks", "TrainResult": "callbacks", "Distiller": "distillation", "distill": "distillation",
         "Trainer": "trainer"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(config: TrainConfig | None = None, callbacks: list | tuple = (), resume: str | None = None,
          config_file: str | None = None, **options):
    """Train a CycleGAN and return where it went and how it ended (a ``TrainResult``).

    ``options`` are the ``cgan train`` flags with underscores, e.g. ``train(a="tom/", b="jerry/",
    preset="resnet6", max_iters=200)``; ``resume`` continues a run directory exactly.
    """
    from .trainer import Trainer

    if config is None:
        config = resolve_config(options, config_file, read_run_config(resume) if resume else None)
    return Trainer(config, callbacks, resume=resume).fit()


__all__ = ["Callback", "DistillConfig", "Distiller", "TrainConfig", "TrainResult", "Trainer", "distill", "train"]
