"""An exponential moving average of a generator's weights (``--ema``).

Adversarial training never settles: the generator keeps moving around the point the
discriminator lets it reach, and each snapshot carries some of that oscillation. The average of
recent weights sits nearer the middle, so it is the generator that is validated and saved.
"""
from __future__ import annotations

import copy

import torch


class WeightAverage:
    """``average = decay * average + (1 - decay) * weights`` after every optimiser step."""

    def __init__(self, net: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.net = copy.deepcopy(net).requires_grad_(False)
        self._weights = list(net.parameters())
        self._average = list(self.net.parameters())
        self._buffers = list(zip(self.net.buffers(), net.buffers()))

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self._average, self._weights, 1.0 - self.decay)
        for mine, theirs in self._buffers:
            mine.copy_(theirs)
