"""Training: ``train(...)`` for one call, ``Trainer`` with callbacks for more control; ``distill(...)`` for students."""
from __future__ import annotations

from .config import TrainConfig, read_run_config, resolve_config
from .callbacks import Callback, TrainResult
from .distillation import DistillConfig, Distiller, distill
from .trainer import Trainer


def train(config: TrainConfig | None = None, callbacks: list[Callback] | tuple = (), resume: str | None = None,
          config_file: str | None = None, **options) -> TrainResult:
    """Train a CycleGAN and return where it went and how it ended.

    ``options`` are the ``cgan train`` flags with underscores, e.g. ``train(a="tom/", b="jerry/",
    preset="resnet6", max_iters=200)``; ``resume`` continues a run directory exactly.
    """
    if config is None:
        config = resolve_config(options, config_file, read_run_config(resume) if resume else None)
    return Trainer(config, callbacks, resume=resume).fit()


__all__ = ["Callback", "DistillConfig", "Distiller", "TrainConfig", "TrainResult", "Trainer", "distill", "train"]
