"""``--lambda-texture``: a second PatchGAN that judges outlines and texture apart from colour.

White-box cartoonization (Wang and Yu, CVPR 2020) separates a style's texture from its colours with a
"random colour shift": the discriminator sees grey images, each made with its own random channel weights,
so no hue survives into what it judges and real and fake can only be told apart by edges, outlines and
texture. Beside the usual discriminator on colour images this gives the generator a signal for the
strokes of a style that the colour difference, learnt first, otherwise drowns (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import torch

LUMA = (0.299, 0.587, 0.114)  # Rec. 601 weights of R, G, B
SHIFT = 0.2  # each weight moves by up to this much, at random per image


def random_grey(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W): each image a weighted sum of its channels, with the luma weights moved by
    up to ``SHIFT`` at random per image (drawn from ``generator``, on the CPU) and normalised to sum to one."""
    weights = torch.tensor(LUMA) + (torch.rand(len(images), 3, generator=generator) * 2 - 1) * SHIFT
    weights = (weights / weights.sum(1, keepdim=True)).to(images.device, images.dtype)
    return (images * weights.view(-1, 3, 1, 1)).sum(1, keepdim=True)
