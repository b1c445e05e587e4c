"""The ``filter`` generator: a per-pixel mapping of each pixel and its surroundings, and nothing else.

Output = tanh(atanh(x) + colour_map(x, neighbourhood(x))): the colour map (three 1x1 convolutions) reads
the pixel, its blurred surroundings and the gradient magnitudes of ``edges.py``, and starts at zero, so a
new filter is the identity. It has no convolutional trunk, and that is the point: it cannot move content
or invent texture, only re-tone each pixel from what is around it. That covers tone curves, colour grades,
outline filters and cartoon-like stylisations (and detail filters, though trained as a GAN alone it overshoots
them); it does not cover changes of shape or of texture (horses to zebras). Trained as a GAN it needs no second
loss to keep structure, because it cannot lose it.

On the stylise task a resnet6 generator's trunk, free to draw, learns texture that looks like B's where the
filter puts none and loses PSNR while it does (FastCUT: +2.08 dB after 10 CPU minutes); the filter, unable to
draw, gained +6.87 dB and was still rising (benchmarks/RESULTS.md). It is 1,443 weights and about 1,600
multiply-adds per pixel, fixed filters included.
"""
from __future__ import annotations

import torch
from torch import nn

from .edges import Neighbourhood
from .blocks import changed_image, colour_map
from .presets import GeneratorConfig


class FilterGenerator(nn.Module):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.edges = Neighbourhood(config.in_channels)
        self.colour_map = colour_map(config.in_channels + Neighbourhood.channels(config.in_channels),
                                     config.out_channels)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return changed_image(x, self.colour_map(torch.cat([x, self.edges(x)], 1)))
