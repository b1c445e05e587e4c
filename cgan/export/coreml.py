"""Export a generator to Core ML (an ML program, ``NAME.mlpackage``) for iPhones, iPads and Macs.

The network traced by ``torch.jit.trace`` is converted by ``coremltools`` with flexible height and width (or the
fixed ``--size``), fp16 or fp32 compute, and float32 input and output; cgan's metadata goes in the model's
user-defined metadata (``cgan``). Core ML runs only on Apple systems, so the export cannot run what it wrote here:
it checks the written package's spec instead (one float32 image input and one output, the shape ranges, the
metadata) and says "spec checked, not run" -- never "verified" for what did not run.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

from ..errors import CganError, first_line
from ..fileio import refuse_overwrite
from ..coreml_file import check_coreml_spec, import_coremltools
from ..modelfile import METADATA_KEY, load_model, resolve_model_path
from .options import ExportOptions, export_options
from .verify import ExportReport, ShapeCheck, stage_reporter

PRECISIONS = ("fp32", "fp16")
MAX_SIDE = 4096  # the flexible shape's upper bound: 4K frames


def coreml_stages(options: ExportOptions) -> list[str]:
    return ["tracing the network (torch.jit.trace)", "converting to Core ML (coremltools)",
            "checking the package's spec (Core ML runs only on Apple systems)"]


def default_coreml_path(model_path: Path, precision: str) -> Path:
    return model_path.with_suffix(".mlpackage" if precision == "fp32" else f".{precision}.mlpackage")


def export_coreml(model: str | os.PathLike, out: str | os.PathLike | None = None,
                  options: ExportOptions | None = None, *, on_check: Callable[[ShapeCheck], None] | None = None,
                  on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Write ``model`` (a model file or run directory) as a Core ML package; return its path and the report (no
    shape checks: it was not run). ``options`` and ``on_stage`` are ``export_onnx``'s."""
    options = export_options(options, **fields)
    model_path = resolve_model_path(model, options.direction)
    net = load_model(model_path, options.direction)
    out = Path(out) if out else default_coreml_path(model_path, options.precision)
    return write_coreml(net, model_path, out, options, on_stage)


def write_coreml(net: torch.nn.Module, model_path: Path, out: Path, options: ExportOptions,
                 on_stage: Callable[[str, int, int], None] | None = None) -> tuple[Path, ExportReport]:
    ct = import_coremltools()
    started = time.perf_counter()
    stages = coreml_stages(options)
    stage = stage_reporter(stages, on_stage)

    precision = options.precision
    if precision not in PRECISIONS:
        raise CganError("Core ML export writes fp32 or fp16 (int8 needs calibration on an Apple system): use "
                        "--precision fp16, or --format openvino for int8")
    if out.suffix.lower() != ".mlpackage":
        raise CganError(f"output {out} must end in .mlpackage (a Core ML ML program is a folder)")
    refuse_overwrite(out, options.overwrite)
    multiple = net.size_multiple
    side = max(multiple, 32) * 2
    record = {**net.meta.to_dict(), "export": {
        "format": "coreml", "precision": precision, "batch": 1,
        "size": f"{options.size[0]}x{options.size[1]}" if options.size else "dynamic",
        "source": model_path.name, "coremltools": ct.__version__}}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cgan-coreml-", dir=out.parent) as tmp:
        stage(stages[0])
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(net.eval(), torch.zeros(1, 3, *(options.size or (side, side))))
        stage("converting to Core ML (coremltools)")
        package = _convert(ct, traced, options.size, multiple, precision)
        package.user_defined_metadata[METADATA_KEY] = json.dumps(record)
        package.short_description = f"cgan generator {net.meta.source_domain} -> {net.meta.target_domain}"
        written = Path(tmp) / out.name
        package.save(str(written))
        stage(stages[2])
        check_coreml_spec(written)
        if out.exists():  # (--overwrite: refused above otherwise) a package is a folder: os.replace needs it gone
            shutil.rmtree(out)
        os.replace(written, out)
    return out, ExportReport(out, precision, options.opset, 0.0, [], time.perf_counter() - started,
                             format="coreml")


def _convert(ct, traced, size: tuple[int, int] | None, multiple: int, precision: str):
    if size:
        dims = (1, 3, *size)
    else:
        low = max(multiple, 16)
        dims = (1, 3, ct.RangeDim(lower_bound=low, upper_bound=MAX_SIDE, default=256),
                ct.RangeDim(lower_bound=low, upper_bound=MAX_SIDE, default=256))
    import numpy as np

    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return ct.convert(traced, inputs=[ct.TensorType(name="input", shape=ct.Shape(dims), dtype=np.float32)],
                              outputs=[ct.TensorType(name="output", dtype=np.float32)], convert_to="mlprogram",
                              compute_precision=ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32,
                              minimum_deployment_target=ct.target.iOS16)
    except Exception as e:  # coremltools raises its own types for operators it cannot convert
        raise CganError(f"coremltools could not convert the network ({first_line(e)}); nothing written") from None
