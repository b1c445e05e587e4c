"""Training: ``train(...)`` for one call, ``Trainer`` with callbacks for more control; ``distill(...)`` for students.

The configs (``config.py``) need no PyTorch; the loop and the networks are imported on first use.
"""
from __future__ import annotations

import importlib
import sys
import types

from .config import DistillConfig, TrainConfig
from .config_files import read_run_config, resolve_config

_LAZY = {"Callback": "callbacks", "TrainResult": "callbacks", "Distiller": "distillation", "distill": "distillation",
         "Trainer": "trainer", "GanTrainer": "gan", "ContrastiveTrainer": "contrastive"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(config: TrainConfig | None = None, callbacks: list | tuple = (), resume: str | None = None,
          config_file: str | None = None, **options):
    """Train a CycleGAN (or, with ``objective="cut"``/``"fastcut"``/``"gan"``, one generator) and return
    where it went and how it ended (a ``TrainResult``).

    ``options`` are the ``cgan train`` flags with underscores, e.g. ``train(a="tom/", b="jerry/",
    preset="resnet6", max_iters=200)``; ``resume`` continues a run directory exactly.
    """
    if config is None:
        config = resolve_config(options, config_file, read_run_config(resume) if resume else None)
    return trainer_for(config, callbacks, resume).fit()


def trainer_for(config: TrainConfig, callbacks: list | tuple = (), resume: str | None = None):
    """The trainer of ``config.objective``: ``Trainer`` (cyclegan), ``GanTrainer`` (gan) or ``ContrastiveTrainer``
    (cut, fastcut)."""
    if config.objective == "cyclegan":
        from .trainer import Trainer

        return Trainer(config, callbacks, resume=resume)
    if config.objective == "gan":
        from .gan import GanTrainer

        return GanTrainer(config, callbacks, resume=resume)
    from .contrastive import ContrastiveTrainer

    return ContrastiveTrainer(config, callbacks, resume=resume)


class _CallableTrainingPackage(types.ModuleType):
    """``cgan.train`` is the function on first use and, once anything imports ``cgan.train.<module>``, this package
    (Python sets the package as the parent's attribute): calling the package trains too, so ``cgan.train(...)``
    means one thing whatever was imported before."""

    def __call__(self, *args, **kwargs):
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableTrainingPackage

__all__ = ["Callback", "ContrastiveTrainer", "DistillConfig", "Distiller", "GanTrainer", "TrainConfig", "TrainResult",
           "Trainer", "distill", "train", "trainer_for"]
