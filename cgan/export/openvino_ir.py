"""Export a generator to OpenVINO's IR (``.xml`` + ``.bin``), verified by OpenVINO against PyTorch.

The route is PyTorch -> ONNX (the same traced graph ``cgan export`` writes, with dynamic batch, height and width)
-> ``openvino.convert_model`` -> ``openvino.save_model``. fp16 is OpenVINO's weight compression (weights stored
in fp16, computed in the device's precision); int8 is NNCF's post-training quantisation, calibrated on the user's
images, for generators without instance normalisation (students, the filter). cgan's metadata travels in the IR's
rt_info (``cgan/meta``). Verification runs the written pair in OpenVINO (fp32 inference, so the file is judged,
not the CPU's bf16) at three shapes and refuses it below the precision's PSNR; int8 is judged on calibration
images held back from calibration. If anything fails, no file is left behind.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import CganError, first_line
from ..fileio import refuse_overwrite
from ..ir_file import META_PATH, bin_path, read_ir
from ..modelfile import load_model, resolve_model_path
from .int8 import MIN_PSNR as MIN_INT8_PSNR
from .onnx import check_shapes, write_onnx
from .options import ExportOptions, export_options
from .verify import ExportReport, ShapeCheck, compare_with_pytorch, require_psnr, stage_reporter

# The least PSNR (dB, against PyTorch fp32) an IR must reach to be written.
MIN_PSNR = {"fp32": 40.0, "fp16": 35.0, "int8": MIN_INT8_PSNR}
INSTALL_HINT = 'pip install "cgan[openvino]"'


def openvino_stages(options: ExportOptions) -> list[str]:
    """What ``write_openvino`` does, in order, as the names its progress shows."""
    return ["tracing the network (torch.onnx)", "converting to OpenVINO IR",
            *(["quantising int8 (NNCF)"] if options.precision == "int8" else []),
            *(["verifying in OpenVINO against PyTorch"] if options.verify else [])]


def default_ir_path(model_path: Path, precision: str) -> Path:
    return model_path.with_suffix(".xml" if precision == "fp32" else f".{precision}.xml")


def export_openvino(model: str | os.PathLike, out: str | os.PathLike | None = None,
                    options: ExportOptions | None = None, *, on_check: Callable[[ShapeCheck], None] | None = None,
                    on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Write ``model`` (a model file or run directory) as an OpenVINO IR; return the ``.xml`` path and the
    verification report. ``options`` and the callbacks are ``export_onnx``'s."""
    options = export_options(options, **fields)
    model_path = resolve_model_path(model, options.direction)
    net = load_model(model_path, options.direction)
    out = Path(out) if out else default_ir_path(model_path, options.precision)
    return write_openvino(net, model_path, out, options, on_check, on_stage)


def _import_openvino():
    try:
        import openvino
    except ImportError as e:
        raise CganError(f"OpenVINO is not installed ({e}): {INSTALL_HINT}") from None
    return openvino


def write_openvino(net: torch.nn.Module, model_path: Path, out: Path, options: ExportOptions,
                   on_check: Callable[[ShapeCheck], None] | None = None,
                   on_stage: Callable[[str, int, int], None] | None = None) -> tuple[Path, ExportReport]:
    """``export_openvino`` for a generator already loaded from ``model_path``."""
    ov = _import_openvino()
    started = time.perf_counter()
    stages = openvino_stages(options)
    stage = stage_reporter(stages, on_stage)

    if out.suffix.lower() != ".xml":
        raise CganError(f"output {out} must end in .xml (OpenVINO writes the weights beside it, as .bin)")
    for path in (out, bin_path(out)):
        refuse_overwrite(path, options.overwrite)
    precision = options.precision
    held_back = calibration = None
    if precision == "int8":
        held_back, calibration = _calibration(net, options)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.stem}-", dir=out.parent) as tmp:
        onnx_path = Path(tmp) / "traced.onnx"
        stage(stages[0])
        traced = dataclasses.replace(options, precision="fp32", verify=False, calib=None, overwrite=True)
        write_onnx(net, model_path, onnx_path, traced)
        stage("converting to OpenVINO IR")
        graph = _convert(ov, onnx_path)
        if calibration is not None:
            stage("quantising int8 (NNCF)")
            graph = _quantise(graph, calibration)
        record = {**net.meta.to_dict(), "export": {
            "format": "openvino", "precision": precision, "batch": options.batch or "dynamic",
            "size": f"{options.size[0]}x{options.size[1]}" if options.size else "dynamic",
            "source": model_path.name, "openvino": ov.__version__.split("-")[0]}}
        graph.set_rt_info(json.dumps(record), list(META_PATH))
        written = Path(tmp) / out.name
        ov.save_model(graph, str(written), compress_to_fp16=precision == "fp16")
        read_ir(written)  # never write what cgan's own runtime would refuse
        checks, psnr_db = [], None
        if options.verify:
            stage("verifying in OpenVINO against PyTorch")
            run = _compiled_fp32(ov, written)
            if held_back is not None:
                from .int8 import psnr_against_pytorch, require_int8_psnr

                psnr_db, checks = psnr_against_pytorch(run, net, held_back, on_check)
            else:
                shapes = list(options.verify_shapes or check_shapes(options.batch, options.size, net.size_multiple))
                checks = compare_with_pytorch(lambda x: run(x.numpy()), net, shapes, on_check=on_check,
                                              saturated=True)
            if psnr_db is None:
                require_psnr(checks, MIN_PSNR[precision], precision, "OpenVINO")
            else:
                require_int8_psnr(psnr_db, len(held_back), "the int8 IR", "fp16")
        os.replace(bin_path(written), bin_path(out))  # the weights first: an .xml is never left without them
        os.replace(written, out)
    report = ExportReport(out, precision, options.opset, MIN_PSNR[precision], checks, time.perf_counter() - started,
                          psnr_db, format="openvino")
    return out, report


def _calibration(net: torch.nn.Module, options: ExportOptions) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from .int8 import calibration_inputs, require_quantisable, split_calibration

    require_quantisable(net)
    try:
        import nncf  # noqa: F401 - here, before minutes of work, not after
    except ImportError as e:
        raise CganError(f"int8 OpenVINO export needs NNCF ({e}): {INSTALL_HINT}") from None
    return split_calibration(calibration_inputs(options.calib, net.size_multiple, options.calib_images))


def _convert(ov, onnx_path: Path):
    try:
        return ov.convert_model(str(onnx_path))
    except Exception as e:  # OpenVINO's frontends raise their own error types
        raise CganError(f"OpenVINO could not convert the traced graph ({first_line(e)}); nothing written") from None


def _quantise(graph, calibration: list[np.ndarray]):
    """NNCF's post-training quantisation, calibrated on ``calibration`` (asymmetric activations: a generator's
    values are not centred on zero)."""
    import logging

    import nncf

    logging.getLogger("nncf").setLevel(logging.ERROR)  # its notes and progress bars are not the user's concern
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return nncf.quantize(graph, nncf.Dataset(calibration), preset=nncf.QuantizationPreset.MIXED,
                             subset_size=len(calibration))


def _compiled_fp32(ov, xml: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The written IR compiled on the CPU at fp32 inference precision: the file is judged, not the CPU's bf16."""
    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return lambda x: np.asarray(compiled(x)[0], dtype=np.float32)
