"""What an export writes, as named fields passed from the CLI to ``export_onnx`` and ``build_engine``."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import CganError
from ..modelfile import check_direction
from ..option_fields import option_field
from ..precision import EXPORT_PRECISIONS, check_precision
from ..presets import A_TO_B, DIRECTIONS
from ..shapes import parse_dynamic_batch, parse_dynamic_size

DEFAULT_OPSET = 18  # the dynamo exporter's lowest working opset; TensorRT 10+ and ONNX Runtime parse it
# The TensorRT optimisation profile (NCHW) when none is given: up to four 1080p frames per call
DEFAULT_MIN, DEFAULT_OPT, DEFAULT_MAX = (1, 3, 64, 64), (1, 3, 512, 512), (4, 3, 1088, 1920)


@dataclass(frozen=True)
class ExportOptions:
    """The ONNX file: which generator, opset, precision, fixed or dynamic dimensions, and its checks."""

    direction: str = option_field(A_TO_B, "Which generator of a run directory to export.", choices=DIRECTIONS)
    opset: int = option_field(DEFAULT_OPSET, f"ONNX opset ({DEFAULT_OPSET} or higher).")
    precision: str = option_field(
        "fp32", "Weights and arithmetic; fp16 keeps instance norm in fp32 (ONNX) or compresses the weights "
                "(OpenVINO, ncnn, LiteRT: there fp16 arithmetic on ARM CPUs where a check allows it); int8 (ONNX QDQ, "
                "OpenVINO NNCF or LiteRT, for students and the filter) is calibrated on --calib.",
        choices=EXPORT_PRECISIONS)
    calib: str | None = option_field(None, "int8: a folder of images like those the model will translate.")
    calib_images: int = option_field(64, "int8: how many calibration images (a quarter is held back to verify the "
                                         "file).")
    batch: int | None = option_field(None, "A fixed batch size N, or dynamic.", parse=parse_dynamic_batch,
                                     shown="dynamic")
    size: tuple[int, int] | None = option_field(
        None, "A fixed height x width, as in the NxCxHxW shape (480x640 for 640-wide video), or dynamic.",
        parse=parse_dynamic_size, shown="dynamic")
    simplify: bool = option_field(True, "Fold constants with onnxslim.")
    verify: bool = option_field(True, "Compare with PyTorch at several shapes; fail and write nothing above "
                                      "tolerance.")
    verify_shapes: tuple[tuple[int, ...], ...] | None = None  # NCHW shapes to verify at; None: the defaults
    overwrite: bool = option_field(False, "Replace existing outputs.")

    def __post_init__(self) -> None:
        check_direction(self.direction)
        check_precision(self.precision, EXPORT_PRECISIONS, "ONNX export")
        if self.opset < DEFAULT_OPSET:
            raise CganError(f"--opset {self.opset} is too low: the exporter needs {DEFAULT_OPSET} or higher")
        if self.calib is not None and self.precision != "int8":
            raise CganError("--calib gives int8 calibration images: it needs --precision int8")
        if self.precision == "int8" and not self.calib:  # before any export work starts
            raise CganError("int8 export needs calibration images of the kind the model will see: --calib DIR")
        if self.calib_images < 2:
            raise CganError("--calib-images must be at least 2")
        if self.batch is not None and self.batch < 1:
            raise CganError("--batch must be at least 1 (or dynamic)")
        if self.verify_shapes is not None:  # lists from callers become tuples: the options stay hashable
            object.__setattr__(self, "verify_shapes", tuple(tuple(s) for s in self.verify_shapes))


@dataclass(frozen=True)
class EngineOptions:
    """The TensorRT build: its optimisation profile (NxCxHxW text; None: the defaults), workspace and cache."""

    min_shape: str | None = option_field(None, "TensorRT profile minimum NxCxHxW.", flag="--min",
                                         shown="x".join(map(str, DEFAULT_MIN)))
    opt_shape: str | None = option_field(None, "TensorRT profile optimum.", flag="--opt",
                                         shown="x".join(map(str, DEFAULT_OPT)))
    max_shape: str | None = option_field(None, "TensorRT profile maximum.", flag="--max",
                                         shown="x".join(map(str, DEFAULT_MAX)))
    workspace_gb: float = option_field(4.0, "TensorRT workspace in GB.", flag="--workspace")
    timing_cache: str | None = option_field(None, "TensorRT timing cache file, read before the build and updated "
                                                  "after it.")


def export_options(options: ExportOptions | None = None, **fields) -> ExportOptions:
    """``options`` (default: the defaults) with ``fields`` changed: ``export_options(precision="fp16")``."""
    return dataclasses.replace(options or ExportOptions(), **fields)
