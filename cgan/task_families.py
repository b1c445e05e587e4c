"""Families of known-answer tasks: each kind of translation has a parameter space, and one draw from it is one task
(a fixed filter T that makes domain B). Profiles are chosen on the tuning draws (the quality benchmark's own
settings among them) and judged on held-out draws, which lie at least ``MARGIN`` (a fraction of each parameter's
range, in the largest difference) from every tuning draw: a profile tuned to one setting is judged on others.

Kinds: ``colour-grade`` (a tint from shadows to highlights, saturation, gamma), ``stylise`` (edge-preserving
smoothing, with dark outlines of a drawn strength), ``detail`` (detail enhancement), ``pencil`` (a colour pencil
sketch) and ``mosaic``, the structural kind: each output pixel is its cell's mean colour, posterised, so the output
depends on a block of pixels larger than a per-pixel filter sees.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import cv2
import numpy as np

from .errors import CganError

MARGIN = 0.2


@dataclasses.dataclass(frozen=True)
class Kind:
    space: dict[str, tuple[float, float]]  # parameter -> (low, high)
    tuning: tuple[dict[str, float], ...]  # the settings profiles were chosen on
    apply: Callable[..., np.ndarray]  # (rgb uint8, **parameters) -> rgb uint8
    integers: tuple[str, ...] = ()  # parameters drawn as whole numbers


@dataclasses.dataclass(frozen=True)
class Draw:
    """One task of a kind: its parameters, and the filter they make."""

    kind: str
    parameters: tuple[tuple[str, float], ...]

    @property
    def name(self) -> str:
        return f"{self.kind}(" + ", ".join(f"{k}={v:g}" for k, v in self.parameters) + ")"

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return KINDS[self.kind].apply(rgb, **dict(self.parameters))


def grade(rgb: np.ndarray, tint_r: float, tint_g: float, tint_b: float, saturation: float,
          gamma: float) -> np.ndarray:
    """Shadows and highlights tinted apart in proportion to luminance, saturation scaled, then a gamma."""
    x = rgb.astype(np.float32) / 255.0
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    x = x + ((x @ weights)[..., None] - 0.5) * np.array([tint_r, tint_g, tint_b], np.float32)
    grey = (x @ weights)[..., None]
    x = np.clip(grey + saturation * (x - grey), 0.0, 1.0) ** gamma
    return np.round(x * 255.0).astype(np.uint8)


def stylise_outlined(rgb: np.ndarray, sigma_s: float, sigma_r: float, outline: float) -> np.ndarray:
    """OpenCV's edge-preserving stylisation, with edges darkened by ``outline`` times their strength."""
    bgr = cv2.stylization(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), sigma_s=sigma_s, sigma_r=sigma_r)
    if outline:
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        edges = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        darken = 1.0 - outline * np.clip(edges / 2.0, 0.0, 1.0)
        bgr = np.round(bgr.astype(np.float32) * darken[..., None]).astype(np.uint8)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def enhance_detail(rgb: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    return cv2.detailEnhance(np.ascontiguousarray(rgb), sigma_s=sigma_s, sigma_r=sigma_r)


def pencil_sketch(rgb: np.ndarray, sigma_s: float, sigma_r: float, shade: float) -> np.ndarray:
    _, sketch = cv2.pencilSketch(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), sigma_s=sigma_s, sigma_r=sigma_r,
                                 shade_factor=shade)
    return cv2.cvtColor(sketch, cv2.COLOR_BGR2RGB)


def mosaic(rgb: np.ndarray, cell: float, levels: float) -> np.ndarray:
    """Each ``cell`` x ``cell`` block replaced by its mean colour, posterised to ``levels`` per channel."""
    cell, levels = int(cell), int(levels)
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    step = 255.0 / (levels - 1)
    small = np.round(np.round(small / step) * step).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


KINDS: dict[str, Kind] = {
    "colour-grade": Kind({"tint_r": (-0.35, 0.35), "tint_g": (-0.35, 0.35), "tint_b": (-0.35, 0.35),
                          "saturation": (0.6, 1.6), "gamma": (0.7, 1.3)},
                         ({"tint_r": 0.30, "tint_g": 0.05, "tint_b": -0.30, "saturation": 1.3, "gamma": 0.85},),
                         grade),
    "stylise": Kind({"sigma_s": (15.0, 90.0), "sigma_r": (0.2, 0.6), "outline": (0.0, 0.8)},
                    ({"sigma_s": 30.0, "sigma_r": 0.35, "outline": 0.0},), stylise_outlined),
    "detail": Kind({"sigma_s": (5.0, 40.0), "sigma_r": (0.05, 0.4)}, ({"sigma_s": 10.0, "sigma_r": 0.15},),
                   enhance_detail),
    "pencil": Kind({"sigma_s": (20.0, 80.0), "sigma_r": (0.04, 0.12), "shade": (0.02, 0.1)},
                   ({"sigma_s": 40.0, "sigma_r": 0.08, "shade": 0.05},), pencil_sketch),
    "mosaic": Kind({"cell": (4, 12), "levels": (3, 8)}, ({"cell": 6, "levels": 4},), mosaic,
                   integers=("cell", "levels")),
}


def distance(kind: str, a: dict[str, float], b: dict[str, float]) -> float:
    """The largest difference of two settings' parameters, each as a fraction of its range."""
    space = KINDS[kind].space
    return max(abs(a[k] - b[k]) / (high - low) for k, (low, high) in space.items())


def tuning_draws(kind: str) -> list[Draw]:
    """The settings a kind's profiles were chosen on."""
    return [Draw(kind, tuple(sorted(p.items()))) for p in _kind(kind).tuning]


def held_out_draws(kind: str, count: int, seed: int = 0) -> list[Draw]:
    """``count`` settings of ``kind`` drawn from ``seed``, each at least ``MARGIN`` from every tuning setting and
    from one another. The same arguments always give the same draws."""
    spec = _kind(kind)
    rng = np.random.default_rng([seed, sorted(KINDS).index(kind)])
    chosen: list[dict[str, float]] = []
    for _ in range(10_000):
        if len(chosen) == count:
            break
        candidate = {name: float(rng.integers(low, high + 1) if name in spec.integers else
                                 round(rng.uniform(low, high), 3))
                     for name, (low, high) in spec.space.items()}
        if all(distance(kind, candidate, other) >= MARGIN for other in (*spec.tuning, *chosen)):
            chosen.append(candidate)
    if len(chosen) < count:
        raise CganError(f"the {kind} family has room for {len(chosen)} held-out settings {MARGIN:g} apart, not {count}")
    return [Draw(kind, tuple(sorted(p.items()))) for p in chosen]


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise CganError(f"unknown task family {kind!r}: choose one of {', '.join(KINDS)}")
    return KINDS[kind]
