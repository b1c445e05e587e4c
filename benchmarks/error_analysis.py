"""Where the remaining error of a generator lies: colour or structure, global or per image.

    python -m benchmarks.error_analysis MODEL.safetensors [--task TASK] [--label TEXT]
        [--json results/error_analysis/NAME.json]

On the quality task's held-out pairs (x, T(x)) it fits colour corrections by least squares and reports the
PSNR each would reach: a correction that gains much shows the kind of error the generator still makes.
"""
from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from cgan.modelfile import load_model
from cgan.sampledata import build_unpaired_dataset


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255


def _mean_psnr(images: list[np.ndarray], truths: list[np.ndarray]) -> float:
    return float(np.mean([10 * np.log10(1 / np.mean((a - b) ** 2)) for a, b in zip(images, truths)]))


def _features(image: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial terms of each pixel's RGB up to ``degree`` (1 and the constant: an affine colour map)."""
    rgb = image.reshape(-1, 3)
    columns = [np.ones(len(rgb))]
    for d in range(1, degree + 1):
        columns += [np.prod(rgb[:, list(c)], axis=1) for c in itertools.combinations_with_replacement(range(3), d)]
    return np.stack(columns, 1)


def fit_colour_map(sources: list[np.ndarray], targets: list[np.ndarray], degree: int) -> list[np.ndarray]:
    """The least-squares polynomial colour map from sources to targets (one for all), applied to the sources."""
    features = np.concatenate([_features(s, degree) for s in sources])
    weights, *_ = np.linalg.lstsq(features, np.concatenate([t.reshape(-1, 3) for t in targets]), rcond=None)
    return [np.clip(_features(s, degree) @ weights, 0, 1).reshape(s.shape) for s in sources]


NEAR_BLACK = 0.1  # every channel below this: a drawn outline (stylise draws them at 0)


def outlines(image: np.ndarray) -> np.ndarray:
    """Where ``image`` is near black in every channel (H, W, 1): its drawn outlines."""
    return (image < NEAR_BLACK).all(-1, keepdims=True)


def _outline_recall(images: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """The share of each truth's outline pixels that are near black in its image too, averaged."""
    return float(np.mean([outlines(i)[outlines(t)].mean() for i, t in zip(images, truths) if outlines(t).any()]))


def with_outlines_of(images: list[np.ndarray], truths: list[np.ndarray]) -> list[np.ndarray]:
    """``images`` with each truth's outlines copied in."""
    return [np.where(outlines(t), t, i) for i, t in zip(images, truths)]


def analyse(model: str, task: str = "colour-grade", seed: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:  # the quality task's held-out pairs, as benchmarks/quality.py
        data = build_unpaired_dataset(Path(tmp), n_train=300, n_test=32, size=128, task=task, seed=seed)
        inputs = [_read(p) for p in sorted((data / "testA").glob("*.png"))]
        truths = [_read(p) for p in sorted((data / "testA_truth").glob("*.png"))]
    net = load_model(model)
    with torch.no_grad():
        outputs = [np.clip(net(torch.from_numpy(x).permute(2, 0, 1)[None] * 2 - 1)[0].permute(1, 2, 0).numpy()
                           * 0.5 + 0.5, 0, 1) for x in inputs]
    best_colour_map_of_x = fit_colour_map(inputs, truths, 3)  # one fit, scored twice below
    errors = np.concatenate([(g - t).reshape(-1, 3) for g, t in zip(outputs, truths)])
    return {
        "model": Path(model).name, "task": task,
        "do_nothing": _mean_psnr(inputs, truths),
        "best_colour_map_of_x": _mean_psnr(best_colour_map_of_x, truths),
        "best_colour_map_of_x_per_image": _mean_psnr([fit_colour_map([x], [t], 3)[0] for x, t in zip(inputs, truths)],
                                                     truths),
        "near_black_share_of_truth": float(np.mean([outlines(t).mean() for t in truths])),
        "near_black_share_of_output": float(np.mean([outlines(g).mean() for g in outputs])),
        # how many of T's outline pixels G makes near black too, and the best pure colour change (dark regions of x
        # that any tone curve keeps dark): outlines drawn where T draws them are the difference
        "truths_outlines_drawn": _outline_recall(outputs, truths),
        "truths_outlines_drawn_by_best_colour_map": _outline_recall(best_colour_map_of_x, truths),
        "generator": _mean_psnr(outputs, truths),
        "after_removing_each_images_mean_error": _mean_psnr([g - (g - t).mean((0, 1)) for g, t in
                                                              zip(outputs, truths)], truths),
        "after_best_global_affine_colour_fix": _mean_psnr(fit_colour_map(outputs, truths, 1), truths),
        "after_best_global_cubic_colour_fix": _mean_psnr(fit_colour_map(outputs, truths, 3), truths),
        "with_the_truths_outlines": _mean_psnr(with_outlines_of(outputs, truths), truths),
        "output_against_its_best_colour_map_of_x": _mean_psnr(
            [fit_colour_map([x], [g], 3)[0] for x, g in zip(inputs, outputs)], outputs),
        "mean_error_rgb": [round(float(v), 4) for v in errors.mean(0)],
        "rms_error_rgb": [round(float(v), 4) for v in np.sqrt((errors ** 2).mean(0))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--task", default="colour-grade")
    parser.add_argument("--label", default="", help="what the model is, for the table in RESULTS.md")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = {"label": args.label, **analyse(args.model, args.task)}
    for name, value in result.items():
        print(f"{name:>42}: {value:.2f}" if isinstance(value, float) else f"{name:>42}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
