"""What a drifting run changes: its PSNR against the truth, and a truth-free distance to domain B, every minute.

    python -m benchmarks.drift_trace --json benchmarks/results/drift_trace.json

FastCUT ``--fast`` on 128-pixel crops with the texture discriminator at weight 10 (a setting that peaks at about
5 minutes on the stylise task and then drifts) is scored every minute: the gain over doing nothing, and the
sliced Wasserstein distance (Karras et al., 2018) between 7x7 patches of the translations and of B's held-out
images on three levels of a Laplacian pyramid: fine detail, the middle octave, and colour (what is left at a
quarter of the size). Written by hand: it is a few lines of PyTorch, and no maintained package computes it on
patches without a pretrained network.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .quality import ScoreAt, run_quality

from cgan.fileio import atomic_write_text
from cgan.train.evaluate import psnr, translate_in_batches

SETTINGS = {"objective": "fastcut", "fast": True, "size": 128, "lambda_texture": 10}
LEVELS = ("fine", "middle", "colour")
BLUR_SIGMA = 2.0  # pixels: removes outlines and texture, keeps tone and the larger shapes


def laplacian_pyramid(images: torch.Tensor) -> list[torch.Tensor]:
    """Detail at full and half size, then what remains at a quarter of the size."""
    levels, current = [], images
    for _ in range(len(LEVELS) - 1):
        smaller = F.avg_pool2d(current, 2)
        levels.append(current - F.interpolate(smaller, scale_factor=2, mode="bilinear", align_corners=False))
        current = smaller
    return levels + [current]


def random_patches(level: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` 7x7 patches at random places, each flattened."""
    n, c, h, w = level.shape
    which = torch.randint(n, (count,), generator=generator)
    top, left = torch.randint(h - 6, (count,), generator=generator), torch.randint(w - 6, (count,), generator=generator)
    offsets = torch.arange(7)
    rows = (top[:, None] + offsets)[:, :, None].expand(count, 7, 7)
    cols = (left[:, None] + offsets)[:, None, :].expand(count, 7, 7)
    return level[which[:, None, None], :, rows, cols].reshape(count, -1)  # (count, 7, 7, c) flattened


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator, directions: int = 128,
                       repeats: int = 4) -> float:
    """Mean distance between the sorted projections of two equal-sized sets on random directions, both sets
    standardised by ``b``'s statistics."""
    mean, std = b.mean(0), b.std(0) + 1e-8
    a, b = (a - mean) / std, (b - mean) / std
    total = 0.0
    for _ in range(repeats):
        axes = torch.randn(a.shape[1], directions, generator=generator)
        axes /= axes.norm(dim=0, keepdim=True)
        total += ((a @ axes).sort(0)[0] - (b @ axes).sort(0)[0]).abs().mean().item()
    return total / repeats


def blurred(images: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """OpenCV's Gaussian blur of each NCHW image, over 3 sigma either side."""
    side = 2 * int(3 * sigma) + 1
    hwc = images.float().numpy().transpose(0, 2, 3, 1)
    return torch.from_numpy(np.stack([cv2.GaussianBlur(image, (side, side), sigma) for image in hwc]).transpose(0, 3, 1, 2))


def patch_distances(images: torch.Tensor, target: torch.Tensor, count: int = 8192) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)  # the same patches and directions at every checkpoint
    return {name: sliced_wasserstein(random_patches(a, count, generator), random_patches(b, count, generator),
                                     generator)
            for name, a, b in zip(LEVELS, laplacian_pyramid(images), laplacian_pyramid(target))}


class ScoreWithDistance(ScoreAt):
    """The quality scores, and the translations' patch distance to B's held-out images."""

    doing_nothing: dict[str, float] | None = None  # the inputs' own distance, the same at every checkpoint

    def score(self, trainer, minutes: float) -> None:
        super().score(trainer, minutes)
        started = time.monotonic()
        net = trainer.kept_generator
        was_training = net.training
        net.eval()
        with torch.no_grad():
            translated = translate_in_batches(net, trainer.val_a, 8, trainer.device, trainer.autocast)
        net.train(was_training)
        self.scores[-1]["patch_distance_to_b"] = patch_distances(translated, trainer.val_b)
        # Whether the detail the generator draws earns PSNR: the same translations without their finest detail.
        self.scores[-1]["gain_db_blurred"] = (psnr(blurred(translated), trainer.truth_a).mean()
                                              - psnr(trainer.val_a, trainer.truth_a).mean()).item()
        self.doing_nothing = self.doing_nothing or patch_distances(trainer.val_a, trainer.val_b)
        self.scores[-1]["patch_distance_to_b_doing_nothing"] = self.doing_nothing
        print(f"        patch distance to B: {self.scores[-1]['patch_distance_to_b']}", flush=True)
        self.scoring_seconds += time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run_quality(args.minutes, list(range(1, args.minutes + 1)), task="stylise",
                         scorer_class=ScoreWithDistance, **SETTINGS)
    result["command"] = f"python -m benchmarks.drift_trace --minutes {args.minutes}"
    result["measured"] = time.strftime("%Y-%m-%d")
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
