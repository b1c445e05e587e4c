"""What an export writes, as named fields passed from the CLI to ``export_onnx`` and ``build_engine``."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import CganError
from ..modelfile import check_direction
from ..precision import EXPORT_PRECISIONS, check_precision
from ..presets import A_TO_B

DEFAULT_OPSET = 18  # the dynamo exporter's lowest working opset; TensorRT 10+ and ONNX Runtime parse it


@dataclass(frozen=True)
class ExportOptions:
    """The ONNX file: which generator, opset, precision, fixed or dynamic dimensions, and its checks."""

    direction: str = A_TO_B  # the generator of a run directory to export
    opset: int = DEFAULT_OPSET
    precision: str = "fp32"  # fp16 keeps inputs, outputs and instance norm in fp32
    batch: int | None = None  # a fixed batch size; None: dynamic
    size: tuple[int, int] | None = None  # a fixed (height, width); None: dynamic
    simplify: bool = True  # fold constants with onnxslim
    verify: bool = True  # run the file against PyTorch; fail and write nothing above tolerance
    verify_shapes: tuple[tuple[int, ...], ...] | None = None  # NCHW shapes to verify at; None: the defaults
    overwrite: bool = False
    calib: str | None = None  # int8: a folder of images like those the model will translate
    calib_images: int = 64  # int8: how many of them (a quarter is held back to verify the quantised file)

    def __post_init__(self) -> None:
        check_direction(self.direction)
        check_precision(self.precision, EXPORT_PRECISIONS, "ONNX export")
        if self.opset < DEFAULT_OPSET:
            raise CganError(f"--opset {self.opset} is too low: the exporter needs {DEFAULT_OPSET} or higher")
        if self.calib is not None and self.precision != "int8":
            raise CganError("--calib gives int8 calibration images: it needs --precision int8")
        if self.calib_images < 2:
            raise CganError("--calib-images must be at least 2")
        if self.batch is not None and self.batch < 1:
            raise CganError("--batch must be at least 1 (or dynamic)")
        if self.verify_shapes is not None:  # lists from callers become tuples: the options stay hashable
            object.__setattr__(self, "verify_shapes", tuple(tuple(s) for s in self.verify_shapes))


@dataclass(frozen=True)
class EngineOptions:
    """The TensorRT build: its optimisation profile (NxCxHxW text; None: the defaults), workspace and cache."""

    min_shape: str | None = None
    opt_shape: str | None = None
    max_shape: str | None = None
    workspace_gb: float = 4.0
    timing_cache: str | None = None  # a file read before the build and updated after it


def export_options(options: ExportOptions | None = None, **fields) -> ExportOptions:
    """``options`` (default: the defaults) with ``fields`` changed: ``export_options(precision="fp16")``."""
    return dataclasses.replace(options or ExportOptions(), **fields)
