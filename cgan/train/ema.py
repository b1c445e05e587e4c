"""An exponential moving average of a generator's weights (``--ema``).

Adversarial training never settles: the generator keeps moving around the point the
discriminator lets it reach, and each snapshot carries some of that oscillation. The average of
recent weights sits nearer the middle, so it is the generator that is validated and saved.

The decay warms up as ``min(decay, (1 + step) / (10 + step))``: early on, a fixed 0.999 would
average over a thousand steps the run has not had yet, and hold the saved generator back near
its starting point; with the warm-up the average spans about the last ninth of the run so far.
"""
from __future__ import annotations

import copy

import torch


class WeightAverage:
    """``average = d * average + (1 - d) * weights`` after every optimiser step, d the warmed-up decay."""

    def __init__(self, net: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.net = copy.deepcopy(net).requires_grad_(False)
        self._weights = list(net.parameters())
        self._average = list(self.net.parameters())
        self._buffers = list(zip(self.net.buffers(), net.buffers()))

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Folds in the weights after optimiser step ``step`` (0 for the first)."""
        torch._foreach_lerp_(self._average, self._weights, 1.0 - self.decay_at(step))
        for mine, theirs in self._buffers:
            mine.copy_(theirs)
