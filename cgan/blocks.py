"""The generator blocks that more than one network is built from (the ResNet and U-Net generators in nets.py, the
students in student_net.py, the filter in filter_net.py): the identity-start output and the colour map."""
from __future__ import annotations

import torch
from torch import nn

from .presets import COLOUR_MAP_WIDTH


def changed_image(x: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
    """``tanh(atanh(x) + change)``: the output of the generators that start as the identity (a zero change
    gives back the input, and the output stays in [-1, 1]).

    atanh is written as ``log((1 + x) / (1 - x)) / 2``: OpenVINO vectorises those element-wise steps, and its
    own Atanh took a third of student-tiny's time at 640x480."""
    x = x.clamp(-0.999, 0.999)
    return torch.tanh(change + 0.5 * torch.log((1 + x) / (1 - x)))


def colour_map(in_channels: int, out_channels: int) -> nn.Sequential:
    """A per-pixel colour mapping added to a generator's output: three 1x1 convolutions, no normalisation."""
    return nn.Sequential(
        nn.Conv2d(in_channels, COLOUR_MAP_WIDTH, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(COLOUR_MAP_WIDTH, COLOUR_MAP_WIDTH, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(COLOUR_MAP_WIDTH, out_channels, 1))
