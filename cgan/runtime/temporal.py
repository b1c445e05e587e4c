"""Less flicker in translated video: blend each output with the previous one, warped by optical flow.

A generator translates every frame on its own, so textures and colours jump between frames.
Following the motion of the *input* (Farneback optical flow, computed at a reduced size), the
previous output is warped onto the current frame and blended in, except where the warped
previous input disagrees with the current one (occlusions, cuts), where the new output wins.
"""
from __future__ import annotations

import cv2
import numpy as np


def flow_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at each pixel's position plus ``flow`` (full-resolution, x then y)."""
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def backward_flow(current: np.ndarray, previous: np.ndarray, side: int = 320) -> np.ndarray:
    """For each pixel of ``current``, where it was in ``previous`` (flow computed at ``side`` px, then scaled)."""
    h, w = current.shape[:2]
    scale = min(1.0, side / max(h, w))
    small = (max(8, round(w * scale)), max(8, round(h * scale)))
    gray = [cv2.cvtColor(cv2.resize(im, small, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
            for im in (current, previous)]
    flow = cv2.calcOpticalFlowFarneback(gray[0], gray[1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    flow[..., 0] *= w / small[0]
    flow[..., 1] *= h / small[1]
    return flow


class TemporalSmoother:
    """Call once per frame, in order, with the input frame and its translation; returns the smoothed output."""

    def __init__(self, strength: float = 0.6, occlusion_threshold: float = 12.0) -> None:
        self.strength, self.threshold = strength, occlusion_threshold
        self.previous_input: np.ndarray | None = None
        self.previous_output: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, output: np.ndarray) -> np.ndarray:
        if self.previous_input is None or self.previous_input.shape != frame.shape or output.shape != frame.shape:
            result = output
        else:
            flow = backward_flow(frame, self.previous_input)
            warped_input = flow_warp(self.previous_input, flow)
            mismatch = np.abs(warped_input.astype(np.float32) - frame.astype(np.float32)).mean(axis=2, keepdims=True)
            weight = self.strength * np.exp(-mismatch / self.threshold)  # trust the past only where it fits
            warped_output = flow_warp(self.previous_output, flow).astype(np.float32)
            result = (weight * warped_output + (1 - weight) * output.astype(np.float32)).round().astype(np.uint8)
        self.previous_input, self.previous_output = frame, result
        return result


def flicker(outputs: list[np.ndarray]) -> float:
    """Mean absolute difference between consecutive frames (0-255 scale)."""
    diffs = [np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() for a, b in zip(outputs, outputs[1:])]
    return float(np.mean(diffs)) if diffs else 0.0


def warped_flicker(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    """Consecutive-output difference after following the input's motion: the flicker that is not motion."""
    diffs = []
    for (x0, y0), (x1, y1) in zip(zip(inputs, outputs), zip(inputs[1:], outputs[1:])):
        warped = flow_warp(y0, backward_flow(x1, x0))
        diffs.append(np.abs(warped.astype(np.float32) - y1.astype(np.float32)).mean())
    return float(np.mean(diffs)) if diffs else 0.0
