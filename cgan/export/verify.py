"""Verification, part of every export: the exported file against PyTorch fp32 on the same random inputs.

ONNX Runtime and TensorRT use the same comparison and the same rule: any error above the
precision's tolerance (or not finite) fails the export, which then leaves no file.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import CganError


@dataclasses.dataclass
class ShapeCheck:
    shape: tuple[int, ...]
    max_abs_error: float
    mean_abs_error: float
    psnr_db: float | None = None  # on outputs in [-1, 1] (peak-to-peak 2)

    def text(self) -> str:
        psnr = "" if self.psnr_db is None else f", PSNR {self.psnr_db:.1f} dB"
        return (f"  verified {'x'.join(map(str, self.shape)):>14}: max |error| {self.max_abs_error:.2e}, "
                f"mean {self.mean_abs_error:.2e}{psnr}")


@dataclasses.dataclass
class ExportReport:
    path: Path
    precision: str
    opset: int
    tolerance: float
    checks: list[ShapeCheck]
    seconds: float
    psnr_db: float | None = None  # int8: PSNR against PyTorch fp32 on held-back calibration images
    format: str = "onnx"  # ``tolerance`` is a largest error for ONNX and TensorRT, a least PSNR (dB) for the others
    note: str = ""  # what the verdict adds (LiteRT fp16: what its fp16 arithmetic check found)

    def to_dict(self) -> dict:
        """The record of the export, for ``--json``."""
        return {**dataclasses.asdict(self), "path": str(self.path), "verified": bool(self.checks),
                "checks": [{**dataclasses.asdict(c), "shape": list(c.shape)} for c in self.checks]}

    def lines(self) -> list[str]:
        return [check.text() for check in self.checks]

    def verdict(self) -> str:
        """How the file was verified, in words."""
        return "; ".join(part for part in (self._checked(), self.note) if part)

    def _checked(self) -> str:
        if self.format == "coreml":
            return "spec checked; not run: Core ML runs only on Apple systems"
        if not self.checks:
            return "not verified (--no-verify)"
        if self.psnr_db is not None:
            return (f"verified: {self.psnr_db:.1f} dB PSNR against fp32 on {len(self.checks)} held-back calibration "
                    f"images, at least {self.tolerance:g} needed")
        if self.format in ("onnx", "engine"):
            return f"verified within {self.tolerance:.0e}"
        worst = min(c.psnr_db for c in self.checks)
        shapes = {c.shape for c in self.checks}
        where = f"at {len(self.checks)} shapes" if len(shapes) == len(self.checks) else \
            f"on {len(self.checks)} inputs of {'x'.join(map(str, self.checks[0].shape))}"
        return f"verified: at least {worst:.1f} dB PSNR against PyTorch {where} ({self.tolerance:g} needed)"


def stage_reporter(stages: list[str], on_stage: Callable[[str, int, int], None] | None) -> Callable[[str], None]:
    """``stage(name)``: tells ``on_stage`` (if any) that the stage ``name`` of ``stages`` starts, numbered from 1."""
    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name, stages.index(name) + 1, len(stages))

    return stage


def compare_with_pytorch(run: Callable[[torch.Tensor], np.ndarray], net: torch.nn.Module,
                         shapes: list[tuple[int, ...]], seed: int = 0,
                         on_check: Callable[[ShapeCheck], None] | None = None,
                         saturated: bool = False) -> list[ShapeCheck]:
    """``run`` (an exported model: NCHW float32 tensor in, array out) against PyTorch fp32 on the same
    random inputs in [-1, 1]; the error per shape. ``saturated`` pushes half the values to -1 or 1, as a photo's
    blown highlights and deep shadows are: where reduced precision hurts a colour map most (its atanh of the input
    is steepest there), and where uniform random values almost never fall."""
    return compare_on_inputs(run, net, check_inputs(shapes, seed, saturated), on_check)


def compare_on_inputs(run: Callable[[torch.Tensor], np.ndarray], net: torch.nn.Module, inputs: list[torch.Tensor],
                      on_check: Callable[[ShapeCheck], None] | None = None) -> list[ShapeCheck]:
    """``compare_with_pytorch`` on the given ``inputs``, in order."""
    checks = []
    for x in inputs:
        with torch.no_grad():
            expected = net(x).numpy()
        got = np.asarray(run(x), dtype=np.float32)
        if got.shape != expected.shape:
            raise CganError(f"verification failed: output shape {got.shape} != PyTorch {expected.shape}")
        error = np.abs(got - expected)
        checks.append(ShapeCheck(tuple(x.shape), float(error.max()), float(error.mean()), psnr_of(error)))
        if on_check:
            on_check(checks[-1])
    return checks


def check_inputs(shapes: list[tuple[int, ...]], seed: int = 0, saturated: bool = False) -> list[torch.Tensor]:
    """The inputs ``compare_with_pytorch`` runs: random in [-1, 1], half pushed to -1 or 1 where ``saturated``."""
    generator = torch.Generator().manual_seed(seed)
    inputs = []
    for shape in shapes:
        x = torch.rand(shape, generator=generator) * 2 - 1
        inputs.append(torch.where(x.abs() > 0.5, x.sign(), x) if saturated else x)
    return inputs


def psnr_of(error: np.ndarray) -> float:
    """PSNR in dB of an output error on [-1, 1] outputs (a peak-to-peak of 2); infinity where it is zero,
    NaN where the output was not finite."""
    mse = float(np.mean(error.astype(np.float64) ** 2)) / 4
    return 10 * math.log10(1 / mse) if mse > 0 else float("inf")


def require_psnr(checks: list[ShapeCheck], minimum: float, precision: str, runtime: str) -> None:
    """Raise the export's failure unless every check reaches ``minimum`` dB (and is finite)."""
    worst = min((c.psnr_db for c in checks), default=float("inf"))
    if not worst >= minimum:  # (NaN fails too)
        table = "; ".join(f"{'x'.join(map(str, c.shape))}: {c.psnr_db:.1f} dB" for c in checks)
        raise CganError(f"verification failed: {runtime} reaches {worst:.1f} dB PSNR against PyTorch (at least "
                        f"{minimum:g} dB needed for {precision}; {table}); nothing written")


def require_within(checks: list[ShapeCheck], tolerance: float, precision: str, runtime: str) -> None:
    """Raise the export's failure unless every check is finite and within ``tolerance``."""
    worst = max((c.max_abs_error for c in checks), default=0.0)
    if worst > tolerance or not math.isfinite(worst):
        table = "; ".join(f"{'x'.join(map(str, c.shape))}: {c.max_abs_error:.2e}" for c in checks)
        raise CganError(f"verification failed: {runtime} differs from PyTorch by up to {worst:.2e} "
                        f"(tolerance {tolerance:.0e} for {precision}; {table}); nothing written")
