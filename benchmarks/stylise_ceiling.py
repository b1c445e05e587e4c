"""What PSNR against the stylise task's truth rewards: the best that each kind of answer reaches.

    python -m benchmarks.stylise_ceiling --json benchmarks/results/stylise_ceiling.json

The held-out photos and truths are the quality benchmark's (benchmarks/quality.py: 32 photos at 128x128, seed
0); every row is a gain in PSNR over doing nothing on them. The rows:

- colour alone, unpaired: each channel of each photo matched in histogram to domain B's training images, the
  mapping a per-pixel colour change tends to when all it is told is what B's colours look like;
- colour alone, paired: the mean true colour of every input colour (32 levels a channel) over the training
  photos and their truths, the best per-pixel colour mapping learnt from the training photos;
- a small full-resolution network (the shape of the generators' colour map: identity start, three
  convolutions, the last two 1x1) fitted to the training pairs with the truth in hand, with a 1x1 and with a
  3x3 first kernel: what a pixel alone, and a pixel with its neighbours, determine.

Every answer is learnt on the training photos and scored on the held-out ones, as a trained generator is.
Whether the detail a trained generator draws earns PSNR is in benchmarks/drift_trace.py (its blurred column).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from cgan.fileio import atomic_write_text
from cgan.images import list_images, read_rgb, to_image, to_tensor
from cgan.blocks import changed_image
from cgan.sampledata import FILTERS, build_unpaired_dataset
from cgan.train.evaluate import psnr

STEPS = 600  # of each fitted network: 16 crops of 64x64 a step
COLOUR_LEVELS = 32  # bins a channel for the paired colour mapping: 8 input values share a bin


def load_split(data: Path, folder: str) -> np.ndarray:
    return np.stack([read_rgb(path) for path in list_images(data / folder)])


def gain(translated: np.ndarray, truth: np.ndarray, inputs: np.ndarray) -> float:
    """Mean PSNR gain over doing nothing, on uint8 RGB stacks."""
    def mean_psnr(images: np.ndarray) -> float:
        return psnr(tensors(images), tensors(truth)).mean().item()
    return mean_psnr(translated) - mean_psnr(inputs)


def tensors(images: np.ndarray) -> torch.Tensor:
    return torch.stack([to_tensor(image) for image in images])


def histogram_matched(photos: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each photo's channels mapped so that their histograms become the reference images' (per channel)."""
    out = np.empty_like(photos)
    for c in range(3):
        reference_cdf = np.cumsum(np.bincount(reference[..., c].ravel(), minlength=256)) / reference[..., c].size
        for i, photo in enumerate(photos):
            cdf = np.cumsum(np.bincount(photo[..., c].ravel(), minlength=256)) / photo[..., c].size
            out[i, ..., c] = np.searchsorted(reference_cdf, cdf).clip(0, 255).astype(np.uint8)[photo[..., c]]
    return out


def colour_bins(images: np.ndarray) -> np.ndarray:
    q = images.astype(np.int64) * COLOUR_LEVELS // 256
    return (q[..., 0] * COLOUR_LEVELS + q[..., 1]) * COLOUR_LEVELS + q[..., 2]


def conditional_mean_colours(train: np.ndarray, train_truth: np.ndarray, photos: np.ndarray) -> np.ndarray:
    """Each pixel replaced by the mean truth colour of its input colour's bin over the training pairs; a
    colour never seen in training is left as it is."""
    bins, size = colour_bins(train).ravel(), COLOUR_LEVELS ** 3
    counts = np.bincount(bins, minlength=size)
    means = np.stack([np.bincount(bins, train_truth[..., c].ravel().astype(np.float64), minlength=size)
                      for c in range(3)], 1) / np.maximum(counts, 1)[:, None]
    photo_bins = colour_bins(photos)
    seen = counts[photo_bins] > 0
    return np.where(seen[..., None], means[photo_bins], photos).round().clip(0, 255).astype(np.uint8)


class LocalPath(nn.Module):
    """The colour map's shape on its own: identity start, a ``kernel`` x ``kernel`` convolution, two 1x1."""

    def __init__(self, kernel: int, width: int = 32) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(3, width, kernel, padding=kernel // 2, padding_mode="reflect"),
                                    nn.LeakyReLU(0.2), nn.Conv2d(width, width, 1), nn.LeakyReLU(0.2),
                                    nn.Conv2d(width, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return changed_image(x, self.layers(x))


def fitted_path(kernel: int, train: torch.Tensor, train_truth: torch.Tensor, photos: torch.Tensor,
                steps: int, seed: int = 0) -> np.ndarray:
    """A LocalPath fitted by L2 to random 64x64 crops of the training pairs; its translations of ``photos``."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    side = train.shape[-1] - 64

    def crops() -> tuple[torch.Tensor, torch.Tensor]:
        which = torch.randint(len(train), (16,), generator=generator)
        top, left = (int(v) for v in torch.randint(side + 1, (2,), generator=generator))
        return tuple(t[which, :, top:top + 64, left:left + 64] for t in (train, train_truth))

    return fitted_by_l2(LocalPath(kernel), crops, photos, steps, lr=3e-3)


def fitted_by_l2(net: nn.Module, batches: Callable[[], tuple[torch.Tensor, torch.Tensor]], photos: torch.Tensor,
                 steps: int, lr: float) -> np.ndarray:
    """``net`` fitted by Adam on the L2 distance over ``steps`` (input, truth) pairs from ``batches()``; its
    translations of ``photos``."""
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        x, y = batches()
        loss = (net(x) - y).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return np.stack([to_image(translated) for translated in net(photos)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps of each fitted network")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:  # the quality benchmark's data, seed and sizes
        data = build_unpaired_dataset(Path(tmp) / "data", n_train=300, n_test=32, size=128, task="stylise", seed=0)
        photos, truth = load_split(data, "testA"), load_split(data, "testA_truth")
        train, train_b = load_split(data, "trainA"), load_split(data, "trainB")
    train_truth = np.stack([FILTERS["stylise"](photo) for photo in train])
    rows = [("colour alone, unpaired: histograms matched to B's", gain(histogram_matched(photos, train_b), truth, photos)),
            ("colour alone, paired: mean true colour of each input colour",
             gain(conditional_mean_colours(train, train_truth, photos), truth, photos))]
    pairs = tensors(train), tensors(train_truth)
    for kernel in (1, 3):
        translated = fitted_path(kernel, *pairs, tensors(photos), args.steps)
        rows.append((f"fitted to the truth, {kernel}x{kernel} first kernel", gain(translated, truth, photos)))
    for name, value in rows:
        print(f"{name}: {value:+.2f} dB")
    if args.json:
        command = "python -m benchmarks.stylise_ceiling" + (f" --steps {args.steps}" if args.steps != STEPS else "")
        atomic_write_text(args.json, json.dumps({"task": "stylise", "steps": args.steps, "command": command,
                                                 "measured": time.strftime("%Y-%m-%d"),
                                                 "rows": [{"answer": n, "gain_db": v} for n, v in rows]}, indent=2))


if __name__ == "__main__":
    main()
