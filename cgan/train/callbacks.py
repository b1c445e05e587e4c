"""What a caller of training sees: hooks into the loop, and how a run ended."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loop import TrainingLoop as Trainer


class Callback:
    """Hooks into training; subclass and override what you need. Set ``trainer.stop_reason`` to stop."""

    def on_step_end(self, trainer: "Trainer", losses: dict | None) -> None:
        """After every step; ``losses`` (averages since the last log) only on logging steps, else None."""

    def on_validation(self, trainer: "Trainer", metrics: dict) -> None:
        """After every validation, with its metrics."""

    def on_epoch_end(self, trainer: "Trainer") -> None:
        """After every completed epoch (after its validation and checkpoint)."""


@dataclass
class TrainResult:
    run_dir: Path
    iterations: int
    epochs: int
    stop_reason: str
    best: dict | None  # the best validation record by the monitored metric

    def to_dict(self) -> dict:
        """How the run ended, for ``--json``."""
        return {"run_dir": str(self.run_dir), "iterations": self.iterations, "epochs": self.epochs,
                "stop_reason": self.stop_reason, "best": self.best}
