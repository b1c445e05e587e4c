"""Export a generator to ONNX with dynamic batch, height and width, and verify it against PyTorch.

The written file carries the model file's metadata in ``metadata_props`` (key ``cgan``), passes
``onnx.checker`` (full check), and has run in ONNX Runtime at several shapes within tolerance;
if any of that fails, no file is left behind.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

from ..errors import CganError
from ..fileio import atomic_path, refuse_overwrite
from ..modelfile import load_model, resolve_model_path
from ..shapes import round_up
from .int8 import MIN_PSNR as MIN_INT8_PSNR
from .options import ExportOptions, export_options
from .verify import ExportReport, ShapeCheck, compare_with_pytorch, require_within, stage_reporter

# Largest |ONNX Runtime - PyTorch fp32| accepted per output value (outputs lie in [-1, 1], where one
# 8-bit grey level is 2/255 = 0.0078). fp16 keeps instance norm in fp32; its bound is 2.5 grey levels.
TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2}
# Shapes (N, H, W) checked by default: several batch sizes, non-square, far from the training size.
DEFAULT_CHECKS = ((1, 256, 256), (2, 320, 480), (1, 720, 1280))


def check_shapes(batch: int | None, size: tuple[int, int] | None, multiple: int) -> list[tuple[int, int, int, int]]:
    """The (N, 3, H, W) inputs verification runs: the defaults adapted to fixed dimensions and the size multiple."""
    shapes = []
    for n, h, w in DEFAULT_CHECKS:
        if size:
            h, w = size
        shape = (batch or n, 3, round_up(h, multiple), round_up(w, multiple))
        if shape not in shapes:
            shapes.append(shape)
    return shapes


@contextlib.contextmanager
def _quiet():
    """The exporter prints progress and warns about packages we do not use (torchvision); hide that."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _trace_to_onnx(net: torch.nn.Module, path: Path, opset: int, batch: int | None, size: tuple[int, int] | None) -> None:
    multiple = net.size_multiple
    # A dynamic dimension must not be traced at 1 (the exporter would specialise it), so trace at 2.
    example_hw = size or (2 * max(multiple, 32), 2 * max(multiple, 32))
    example = torch.zeros(batch or 2, net.config.in_channels, *example_hw)
    dims = {}
    if batch is None:
        dims[0] = "batch"
    if size is None:
        dims.update({2: "height", 3: "width"})
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(net, (example,), dynamo=True, opset_version=opset, input_names=["input"],
                                    output_names=["output"], dynamic_shapes={"x": dims} if dims else None)
        program.save(str(path), external_data=False)  # one file: generators are far below protobuf's 2 GB


def prepare_graph(model, precision: str, simplify: bool, metadata: dict,
                  on_stage: Callable[[str], None] = lambda name: None):
    """Convert precision, simplify and attach metadata to an ONNX ModelProto; ``on_stage`` hears each step."""
    import onnx

    if precision == "fp16":
        on_stage("converting to fp16")
        from onnxconverter_common import float16

        # InstanceNorm stays fp32 (inputs, scale and bias cast together): its variance overflows fp16.
        blocked = float16.DEFAULT_OP_BLOCK_LIST + ["InstanceNormalization"]
        with _quiet():
            model = float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=blocked)
    if simplify:  # after the conversion: the converter mistypes residual Adds in a slimmed graph
        import onnxslim

        on_stage("simplifying (onnxslim)")
        with _quiet():
            model = onnxslim.slim(model)
    onnx.helper.set_model_props(model, {"cgan": json.dumps(metadata)})
    model.producer_name = "cgan"
    return model


def verify_onnx(path: Path, net: torch.nn.Module, shapes: list[tuple[int, ...]], on_check=None) -> list[ShapeCheck]:
    """The ONNX file in ONNX Runtime (CPU) against PyTorch."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return compare_with_pytorch(lambda x: session.run(None, {input_name: x.numpy()})[0], net, shapes,
                                on_check=on_check)


def default_onnx_path(model_path: Path, precision: str) -> Path:
    return model_path.with_suffix(".onnx" if precision == "fp32" else f".{precision}.onnx")


def export_onnx(model: str | os.PathLike, out: str | os.PathLike | None = None,
                options: ExportOptions | None = None, *, on_check: Callable[[ShapeCheck], None] | None = None,
                on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Write ``model`` (a model file or run directory) as ONNX; return the path and the verification report.

    ``options`` is an ``ExportOptions`` (or its fields by name: ``precision="fp16"``, ``size=(256, 256)``).
    Verification failure raises a CganError and leaves no file. ``on_check`` sees each verified shape as it
    completes, ``on_stage(name, number, count)`` each stage as it starts (numbered from 1).
    """
    options = export_options(options, **fields)
    model_path = resolve_model_path(model, options.direction)
    net = load_model(model_path, options.direction)
    out = Path(out) if out else default_onnx_path(model_path, options.precision)
    return write_onnx(net, model_path, out, options, on_check, on_stage)


def export_stages(options: ExportOptions) -> list[str]:
    """What ``write_onnx`` does, in order, as the names its progress shows."""
    precision = options.precision
    return ["tracing the network (torch.onnx)",
            *(["converting to fp16"] if precision == "fp16" else []),
            *(["simplifying (onnxslim)"] if options.simplify else []),
            *(["calibrating int8"] if precision == "int8" else []),
            "checking the graph (onnx.checker)",
            *(["verifying in ONNX Runtime against PyTorch"] if options.verify else [])]


def write_onnx(net: torch.nn.Module, model_path: Path, out: Path, options: ExportOptions,
               on_check: Callable[[ShapeCheck], None] | None = None,
               on_stage: Callable[[str, int, int], None] | None = None) -> tuple[Path, ExportReport]:
    """``export_onnx`` for a generator already loaded from ``model_path``."""
    started = time.perf_counter()
    stages = export_stages(options)
    stage = stage_reporter(stages, on_stage)

    multiple = net.size_multiple
    size, precision = options.size, options.precision
    if size and (size[0] % multiple or size[1] % multiple):
        raise CganError(f"--size {size[0]}x{size[1]} is not a multiple of {multiple}, which this generator needs")
    if out.suffix != ".onnx":
        raise CganError(f"output {out} must end in .onnx")
    refuse_overwrite(out, options.overwrite)
    calibration = held_back = None
    if precision == "int8":
        from .int8 import calibration_inputs, require_quantisable, split_calibration

        require_quantisable(net)
        held_back, calibration = split_calibration(calibration_inputs(options.calib, multiple, options.calib_images))
    metadata = {**net.meta.to_dict(), "export": {
        "precision": precision, "opset": options.opset, "batch": options.batch or "dynamic",
        "size": f"{size[0]}x{size[1]}" if size else "dynamic", "source": model_path.name}}
    import onnx

    with atomic_path(out) as tmp:
        stage(stages[0])
        _trace_to_onnx(net, tmp, options.opset, options.batch, size)
        graph = prepare_graph(onnx.load(str(tmp)), precision, options.simplify, metadata, on_stage=stage)
        onnx.save(graph, str(tmp))
        if calibration is not None:
            stage("calibrating int8")
            _quantise_in_place(tmp, calibration, metadata)
        stage("checking the graph (onnx.checker)")
        try:
            onnx.checker.check_model(str(tmp), full_check=True)
        except onnx.checker.ValidationError as e:
            raise CganError(f"the exported graph fails onnx.checker ({str(e).splitlines()[0]}); nothing written") from None
        if options.verify:
            stage("verifying in ONNX Runtime against PyTorch")
        if calibration is not None:
            return out, _verify_int8(tmp, out, net, held_back, options, on_check, started)
        shapes = list(options.verify_shapes or check_shapes(options.batch, size, multiple))
        checks = verify_onnx(tmp, net, shapes, on_check=on_check) if options.verify else []
        require_within(checks, TOLERANCE[precision], precision, "ONNX Runtime")
    report = ExportReport(out, precision, options.opset, TOLERANCE[precision], checks, time.perf_counter() - started)
    return out, report


def _quantise_in_place(path: Path, calibration: list, metadata: dict) -> None:
    """Replace the fp32 graph at ``path`` by its int8 (QDQ) version, keeping the cgan metadata."""
    import onnx

    from .int8 import quantise

    fp32 = path.with_name(path.name + ".fp32.onnx")
    os.replace(path, fp32)
    try:
        quantise(fp32, path, calibration)
    finally:
        fp32.unlink(missing_ok=True)
    graph = onnx.load(str(path))
    onnx.helper.set_model_props(graph, {"cgan": json.dumps(metadata)})
    graph.producer_name = "cgan"
    onnx.save(graph, str(path))


def _verify_int8(tmp: Path, out: Path, net: torch.nn.Module, held_back: list, options: ExportOptions,
                 on_check, started: float) -> ExportReport:
    """The int8 file against PyTorch fp32 on the calibration images held back from calibration."""
    from .int8 import require_int8_psnr, verify_int8

    psnr_db, checks = verify_int8(tmp, net, held_back, on_check) if options.verify else (None, [])
    if psnr_db is not None:
        require_int8_psnr(psnr_db, len(held_back), "the int8 file", "fp32")
    return ExportReport(out, "int8", options.opset, MIN_INT8_PSNR, checks, time.perf_counter() - started, psnr_db)
