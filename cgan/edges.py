"""Neighbourhood features for the colour map (``--edge-map``): each pixel's surroundings, at full resolution.

Classic photo filters are per-pixel functions of a pixel, the mean colour around it and how strongly the
image changes there: cartoons and comics flatten regions and ink their outlines, detail filters push a
pixel away from its neighbourhood's mean, pencil drawings darken contours. A per-pixel colour mapping sees
none of that, and a generator's convolutional trunk sees it only at a quarter of the resolution. Given
these features, "flatten, and darken where the image changes" is a per-pixel mapping that the colour map
learns as fast as a tone curve. The features: the image blurred by ``BLUR_SIGMA`` pixels (the
neighbourhood's colour), and the gradient magnitude at two scales: the pixel's own step (thin outlines)
and the step of the blurred image (thick outlines; edges of regions rather than of fine texture).

Fixed filters (no learnt weights), written as convolutions so that exported models compute them too.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BLUR_SIGMA = 2.0
BLUR_RADIUS = 6  # 3 sigma


def _gaussian(sigma: float, radius: int) -> torch.Tensor:
    taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
    return taps / taps.sum()


class Neighbourhood(nn.Module):
    """(N, C, H, W) images in [-1, 1] -> (N, C + 2, H, W): the blurred image, then gradient magnitudes (all
    channels together) at two scales, scaled so that a sharp step from black to white gives 1 at both.

    Grouped convolutions, one filter per channel: no reshapes, so exported graphs keep dynamic sizes plain."""

    @staticmethod
    def channels(image_channels: int) -> int:
        return image_channels + 2

    def __init__(self, image_channels: int) -> None:
        super().__init__()
        self.image_channels = image_channels
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
        # per channel: d/dx, then d/dy
        self.register_buffer("sobel", torch.stack([sobel, sobel.T])[:, None].repeat(image_channels, 1, 1, 1),
                             persistent=False)
        taps = _gaussian(BLUR_SIGMA, BLUR_RADIUS).repeat(image_channels, 1)
        self.register_buffer("blur_rows", taps.view(image_channels, 1, 1, -1), persistent=False)
        self.register_buffer("blur_columns", taps.view(image_channels, 1, -1, 1), persistent=False)
        # A sharp step's central difference is half its height; after the blur its steepest slope is
        # 1 / (sigma * sqrt(2 pi)) of its height: scale the blurred magnitude to match.
        self.blurred_gain = BLUR_SIGMA * math.sqrt(2 * math.pi) / 2

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        grads = F.conv2d(self.replicate_pad(x, 1), self.sobel, groups=self.image_channels)
        # Black to white (-1 to 1) is a central difference of 1 in each channel; channels are averaged. The
        # small constant keeps the square root's gradient finite on flat images (the cycle trains through it).
        return (self.channel_sum(grads.square()) / self.image_channels + 1e-6).sqrt()

    def blurred(self, x: torch.Tensor) -> torch.Tensor:
        padded = self.replicate_pad(x, BLUR_RADIUS)
        rows = F.conv2d(padded, self.blur_rows, groups=self.image_channels)
        return F.conv2d(rows, self.blur_columns, groups=self.image_channels)

    # The two steps an exporter may need written another way (export/litert_convert.py), the results the same.
    @staticmethod
    def replicate_pad(x: torch.Tensor, width: int) -> torch.Tensor:
        return F.pad(x, (width,) * 4, mode="replicate")

    @staticmethod
    def channel_sum(x: torch.Tensor) -> torch.Tensor:
        return x.sum(1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blurred = self.blurred(x)
        return torch.cat([blurred, self.magnitude(x), self.blurred_gain * self.magnitude(blurred)], 1)
