"""The one conversion between pixels (uint8, 0 to 255) and a generator's values ([-1, 1]): x / 127.5 - 1, and back
clamped to [-1, 1] and rounded half to even (NumPy's and PyTorch's rounding agree, so every backend gives the same
pixels). NumPy for arrays; PyTorch for tensors on any device, imported only there (the light install has none)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

HALF_RANGE = 127.5  # pixels per unit of the model's range; OpenVINO's graph steps compile the same numbers


def to_model_range(pixels: np.ndarray) -> np.ndarray:
    """uint8 (or float) pixels of any shape -> float32 values in [-1, 1], same shape."""
    return np.asarray(pixels, dtype=np.float32) / np.float32(HALF_RANGE) - np.float32(1.0)


def to_pixels(values: np.ndarray) -> np.ndarray:
    """Model values of any shape -> uint8 pixels, same shape."""
    return ((np.clip(values, -1, 1) + 1) * HALF_RANGE).round().astype(np.uint8)


def to_image_pixels(values: np.ndarray) -> np.ndarray:
    """A 3xHxW model output -> an HxWx3 uint8 image: ``to_pixels`` and the transpose, pixel for pixel (the same
    float32 steps, then OpenCV's rounding, half to even as NumPy's), in a fifth of the time at 640x480 (0.3 ms
    against 1.5): a frame's last step on every backend that returns floats, on the CPU beside the model."""
    import cv2

    scaled = np.clip(values, -1, 1)  # (a new array: the output, perhaps a cropped view of it, stays as it was)
    scaled += np.float32(1.0)
    scaled *= np.float32(HALF_RANGE)
    return cv2.merge([cv2.convertScaleAbs(plane) for plane in scaled])


def tensor_to_model_range(pixels: torch.Tensor) -> torch.Tensor:
    """A float tensor of pixel values -> its values in [-1, 1], computed in place (pass a tensor you own)."""
    return pixels.div_(HALF_RANGE).sub_(1.0)


def tensor_to_pixels(values: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Model values -> a uint8 tensor of pixels, same shape and device (``inplace``: reuse ``values``' memory on
    the way, for a tensor the caller owns)."""
    import torch

    if not inplace:
        values = values.clone()
    return values.clamp_(-1, 1).add_(1).mul_(HALF_RANGE).round_().to(torch.uint8)
