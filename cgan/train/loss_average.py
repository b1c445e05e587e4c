"""The losses of the steps since they were last logged, averaged where they were computed."""
from __future__ import annotations

import torch


class LossAverage:
    """Sums each step's losses (one tensor, ``names`` in order) and the images it had to skip; ``take`` returns
    their mean by name and starts over."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self._sum: torch.Tensor | None = None
        self._count = 0
        self.skipped = 0

    def add(self, losses: torch.Tensor, skipped: int) -> None:
        # Summed on the device and read only when taken: reading every step would stall a GPU.
        self._sum = losses if self._sum is None else self._sum + losses
        self._count += 1
        self.skipped += skipped

    def take(self) -> dict[str, float] | None:
        """The mean of each loss since the last call (None if no step ran since)."""
        if self._sum is None:
            return None
        values = (self._sum / self._count).tolist()
        self._sum, self._count = None, 0
        return dict(zip(self.names, values))
