"""What each kind of answer can reach on a task family's held-out draws, told the truth: the ceilings a trained
profile is judged against (the structural kind's above all, where no per-pixel filter gets far).

    python -m benchmarks.family_ceiling --kind mosaic --draws 3 --steps 1000

The data are benchmarks/families.py's (the quality benchmark's photos, seed 0, 128x128; the same held-out draws).
Each row is a mean gain in PSNR over doing nothing on the 32 held-out photos, learnt on the training photos and
their truths where it says fitted, scored as a trained generator is. The rows:

- colour alone: the mean true colour of each input colour over the training pairs, the best per-pixel colour
  mapping (benchmarks/stylise_ceiling.py);
- the filter's view: the ``filter`` preset (a pixel, its blur of 2 pixels and its gradients, through three 1x1
  convolutions) fitted to the truth by L2: the best the filter profile can be taught;
- a 3x3 neighbourhood: one 3x3 convolution and two 1x1 at full resolution, fitted;
- blur and posterise, told the setting (``mosaic`` only): a box blur of the cell's size and the draw's own
  posterisation, a fixed filter that sees the cell's extent but not where the cells lie;
- a trunk: the ``student-tiny`` preset (stride-2 convolutions and residual blocks, zero padding, a view of 77 pixels)
  fitted to the truth, on whole photos so that where the cells lie can be learnt from the borders.

Fitted networks take ``--steps`` Adam steps of 8 whole training photos.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch import nn

from .stylise_ceiling import LocalPath, conditional_mean_colours, fitted_by_l2, gain, load_split, tensors

from cgan.bench.machine import describe_machine
from cgan.fileio import atomic_write_text
from cgan.nets import build_generator, preset_config
from cgan.sampledata import build_unpaired_dataset
from cgan.task_families import KINDS, Draw, held_out_draws

RESULTS = Path(__file__).parent / "results" / "family_ceiling"
STEPS = 400
BATCH = 8


def fitted(make_net: Callable[[], nn.Module], train: torch.Tensor, train_truth: torch.Tensor,
           photos: torch.Tensor, steps: int, seed: int = 0) -> np.ndarray:
    """``make_net()`` fitted by L2 to batches of whole training pairs; its translations of ``photos``."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)

    def whole_photos() -> tuple[torch.Tensor, torch.Tensor]:
        which = torch.randint(len(train), (BATCH,), generator=generator)
        return train[which], train_truth[which]

    return fitted_by_l2(make_net(), whole_photos, photos, steps, lr=2e-3)


def blurred_and_posterised(photos: np.ndarray, cell: float, levels: float) -> np.ndarray:
    """A box blur over the cell's extent, then the mosaic's posterisation: the mosaic without its grid."""
    step = 255.0 / (int(levels) - 1)
    out = []
    for photo in photos:
        blurred = cv2.blur(photo, (int(cell), int(cell)), borderType=cv2.BORDER_REFLECT).astype(np.float32)
        out.append(np.round(np.round(blurred / step) * step).clip(0, 255).astype(np.uint8))
    return np.stack(out)


def preset_net(preset: str) -> Callable[[], nn.Module]:
    return lambda: build_generator(preset_config(preset))


def ceilings(draw: Draw, steps: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:  # families.py's data for this draw
        data = build_unpaired_dataset(Path(tmp) / "data", n_train=300, n_test=32, size=128, task=draw, seed=0)
        photos, truth, train = (load_split(data, folder) for folder in ("testA", "testA_truth", "trainA"))
    train_truth = np.stack([draw(photo) for photo in train])
    pairs, held_out = (tensors(train), tensors(train_truth)), tensors(photos)
    rows = [("colour alone, fitted (per pixel)", gain(conditional_mean_colours(train, train_truth, photos), truth, photos)),
            ("the filter's view, fitted", gain(fitted(preset_net("filter"), *pairs, held_out, steps), truth, photos)),
            ("a 3x3 neighbourhood, fitted", gain(fitted(lambda: LocalPath(3), *pairs, held_out, steps), truth, photos))]
    if draw.kind == "mosaic":
        rows.append(("blur and posterise, told the setting",
                     gain(blurred_and_posterised(photos, **dict(draw.parameters)), truth, photos)))
    rows.append(("a trunk (student-tiny), fitted",
                 gain(fitted(preset_net("student-tiny"), *pairs, held_out, steps), truth, photos)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="mosaic", choices=list(KINDS))
    parser.add_argument("--draws", type=int, default=3, help="held-out draws (families.py's, in its order)")
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps of each fitted network")
    args = parser.parse_args()
    draws = {}
    for draw in held_out_draws(args.kind, args.draws):
        started = time.perf_counter()
        draws[draw.name] = ceilings(draw, args.steps)
        for name, value in draws[draw.name]:
            print(f"{draw.name}: {name}: {value:+.2f} dB", flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    answers = list(dict.fromkeys(name for rows in draws.values() for name, _ in rows))
    summary = [{"answer": answer, "mean_gain_db": statistics.mean(dict(rows)[answer] for rows in draws.values()),
                "worst_gain_db": min(dict(rows)[answer] for rows in draws.values())} for answer in answers]
    command = f"python -m benchmarks.family_ceiling --kind {args.kind} --draws {args.draws}" + (
        f" --steps {args.steps}" if args.steps != STEPS else "")
    result = {"kind": args.kind, "steps": args.steps, "command": command, "measured": time.strftime("%Y-%m-%d"),
              "machine": describe_machine(), "summary": summary,
              "draws": {name: [{"answer": a, "gain_db": v} for a, v in rows] for name, rows in draws.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{args.kind}.json", json.dumps(result, indent=2))
    print(f"wrote {RESULTS / f'{args.kind}.json'}")


if __name__ == "__main__":
    main()
