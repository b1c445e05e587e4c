"""The student generator that ``cgan distill`` trains to reproduce a teacher, shaped for CPU latency.

Chosen by measuring on 2-core CPUs (benchmarks/RESULTS.md), not by MAC count: plain 3x3
convolutions and ReLUs (no normalisation, so that conv/ReLU chains fuse and int8 keeps fixed
ranges), two stride-2 levels so that the residual blocks work on a sixteenth of the pixels,
and pixel-shuffle upsampling (a 1x1 convolution and a reshuffle: cheaper than resize or
transposed convolutions at full resolution). Like the ``--fast`` generators it distils, its
output is ``tanh(atanh(x) + residual)`` with the residual's last layer zeroed, so a new student
starts as the identity, and a per-pixel colour map (1x1 convolutions at full resolution) runs
beside the convolutions: with the same output function as its teacher, student-tiny reached
49.6 dB against it after a minute of distillation on the colour-grade quality task, where
``x + residual`` clipped to [-1, 1] reached 32.2 dB (one run each, 2-core EPYC).

``features(x)`` also returns the activations after the encoder and after the residual blocks,
which distillation matches against the teacher's through learned 1x1 adapters.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import changed_image, colour_map
from .presets import GeneratorConfig


class PlainResidualBlock(nn.Module):
    """x + conv(relu(conv(x))), 3x3 convolutions with zero padding and no normalisation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(True),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StudentGenerator(nn.Module):
    """ngf channels at full resolution, 4 * ngf in the residual blocks at a quarter of each side."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        ngf = config.ngf
        self.encoder = nn.Sequential(
            nn.Conv2d(config.in_channels, ngf, 3, padding=1), nn.ReLU(True),
            nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1), nn.ReLU(True),
            nn.Conv2d(2 * ngf, 4 * ngf, 3, stride=2, padding=1), nn.ReLU(True))
        self.blocks = nn.Sequential(*[PlainResidualBlock(4 * ngf) for _ in range(config.n_blocks)])
        self.decoder = nn.Sequential(
            nn.Conv2d(4 * ngf, 4 * 2 * ngf, 1), nn.PixelShuffle(2), nn.ReLU(True),
            nn.Conv2d(2 * ngf, 4 * ngf, 1), nn.PixelShuffle(2), nn.ReLU(True),
            nn.Conv2d(ngf, config.out_channels, 3, padding=1))
        if config.colour_map:
            self.colour_map = colour_map(config.in_channels, config.out_channels)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output and the activations distillation matches: after the encoder, after the blocks."""
        encoded = self.encoder(x)
        transformed = self.blocks(encoded)
        residual = self.decoder(transformed)
        if self.config.colour_map:
            residual = residual + self.colour_map(x)
        output = changed_image(x, residual) if self.config.identity_start else torch.tanh(residual)
        return output, [encoded, transformed]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]


def build_student(config: GeneratorConfig) -> StudentGenerator:
    """A new student, which starts as the identity mapping.

    PyTorch's default (He) initialisation, not the reference N(0, 0.02): without normalisation a ReLU chain
    needs weights of that scale to carry a signal. The residual's last layers start at zero, and so does each
    residual block's, so that the plain stack starts stable."""
    net = StudentGenerator(config)
    zeroed = [net.decoder[-1], *(block.body[-1] for block in net.blocks)]
    if config.colour_map:
        zeroed.append(net.colour_map[-1])
    for layer in zeroed:
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    return net
