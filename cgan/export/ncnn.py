"""Export a generator to ncnn (``NAME.ncnn.param`` + ``NAME.ncnn.bin``), the inference library of Android phones and
ARM boards, verified by ncnn's own Python package against PyTorch.

The route is Tencent's: the network traced by ``torch.jit.trace`` at two input sizes, so that height and width
stay free, then the ``pnnx`` converter (run as its own process: it prints its passes, and a crash of it must not be
cgan's) writes the ncnn pair. fp16 stores the weights in half precision (half the file; ncnn computes in fp32 on
CPUs without fp16 arithmetic). ncnn's param file has no place for metadata: cgan's travels in a JSON sidecar,
``NAME.ncnn.json``, which ``cgan info`` and the runtime read. If verification fails, nothing is left behind.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import CganError
from ..fileio import atomic_write_text, refuse_overwrite
from ..modelfile import load_model, resolve_model_path
from ..ncnn_file import load_ncnn, ncnn_files, read_ncnn_param, run_ncnn
from .onnx import check_shapes
from .options import ExportOptions, export_options
from .verify import ExportReport, ShapeCheck, compare_with_pytorch, require_psnr, stage_reporter

MIN_PSNR = {"fp32": 40.0, "fp16": 35.0}
INSTALL_HINT = 'pip install "cgan[ncnn]"'
CONVERT_SECONDS = 600


def ncnn_stages(options: ExportOptions) -> list[str]:
    return ["tracing the network (torch.jit.trace)", "converting to ncnn (pnnx)",
            *(["verifying in ncnn against PyTorch"] if options.verify else [])]


def default_ncnn_path(model_path: Path, precision: str) -> Path:
    return model_path.with_suffix(".ncnn.param" if precision == "fp32" else f".{precision}.ncnn.param")


def export_ncnn(model: str | os.PathLike, out: str | os.PathLike | None = None,
                options: ExportOptions | None = None, *, on_check: Callable[[ShapeCheck], None] | None = None,
                on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Write ``model`` (a model file or run directory) as an ncnn pair with its sidecar; return the ``.ncnn.param``
    path and the verification report. ``options`` and the callbacks are ``export_onnx``'s."""
    options = export_options(options, **fields)
    model_path = resolve_model_path(model, options.direction)
    net = load_model(model_path, options.direction)
    out = Path(out) if out else default_ncnn_path(model_path, options.precision)
    return write_ncnn(net, model_path, out, options, on_check, on_stage)


def write_ncnn(net: torch.nn.Module, model_path: Path, out: Path, options: ExportOptions,
               on_check: Callable[[ShapeCheck], None] | None = None,
               on_stage: Callable[[str, int, int], None] | None = None) -> tuple[Path, ExportReport]:
    """``export_ncnn`` for a generator already loaded from ``model_path``."""
    pnnx = _import_pnnx()
    started = time.perf_counter()
    stages = ncnn_stages(options)
    stage = stage_reporter(stages, on_stage)

    precision = options.precision
    if precision not in MIN_PSNR:
        raise CganError("ncnn export writes fp32 or fp16 (its int8 needs ncnn's own calibration tools, which its "
                        "Python package does not ship): use --precision fp16, or --format openvino for int8")
    if not out.name.endswith(".ncnn.param"):
        raise CganError(f"output {out} must end in .ncnn.param (ncnn's weights go beside it, as .ncnn.bin)")
    param, weights, sidecar = ncnn_files(out)
    for path in (param, weights, sidecar):
        refuse_overwrite(path, options.overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cgan-ncnn-", dir=out.parent) as tmp:
        work = Path(tmp).resolve()  # (pnnx runs in it: every path it is given is absolute)
        stage(stages[0])
        first, second = _trace_sizes(net.size_multiple, options)
        traced = work / "traced.pt"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # torch.jit.trace is deprecated in PyTorch; pnnx reads what it writes
            torch.jit.trace(net.eval(), torch.zeros(first)).save(str(traced))
        stage("converting to ncnn (pnnx)")
        temp_param, temp_bin, temp_sidecar = ncnn_files(work / out.name)
        _convert(pnnx, traced, first, second, temp_param, temp_bin, fp16=precision == "fp16")
        read_ncnn_param(temp_param)  # never write what cgan's own runtime would refuse
        record = {**net.meta.to_dict(), "export": {
            "format": "ncnn", "precision": precision, "batch": 1,
            "size": f"{options.size[0]}x{options.size[1]}" if options.size else "dynamic",
            "source": model_path.name, "pnnx": _version("pnnx")}}
        atomic_write_text(temp_sidecar, json.dumps(record, indent=2))
        checks: list[ShapeCheck] = []
        if options.verify:
            stage("verifying in ncnn against PyTorch")
            run = _ncnn_runner(temp_param, temp_bin)
            shapes = [(1, *shape[1:]) for shape in
                      (options.verify_shapes or check_shapes(1, options.size, net.size_multiple))]
            checks = compare_with_pytorch(lambda x: run(x.numpy()), net, list(dict.fromkeys(shapes)),
                                          on_check=on_check, saturated=True)
            require_psnr(checks, MIN_PSNR[precision], precision, "ncnn")
        # The weights and the sidecar first: a .ncnn.param is never left without them.
        os.replace(temp_bin, weights)
        os.replace(temp_sidecar, sidecar)
        os.replace(temp_param, param)
    report = ExportReport(param, precision, options.opset, MIN_PSNR[precision], checks,
                          time.perf_counter() - started, format="ncnn")
    return param, report


def _import_pnnx():
    try:
        import ncnn  # noqa: F401 - verification runs the file in it
        import pnnx
    except ImportError as e:
        raise CganError(f"ncnn export needs pnnx and ncnn ({e}): {INSTALL_HINT}") from None
    return pnnx


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _trace_sizes(multiple: int, options: ExportOptions) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two input shapes of different height and width: pnnx keeps free what differs between them (a fixed
    ``--size`` is traced at that size alone)."""
    if options.size:
        return (1, 3, *options.size), (1, 3, *options.size)
    side = max(multiple, 32)
    return (1, 3, 2 * side, 2 * side), (1, 3, 3 * side, 4 * side)


def _convert(pnnx, traced: Path, first: tuple, second: tuple, param: Path, weights: Path, fp16: bool) -> None:
    """Run the pnnx converter on the traced network; its many other outputs stay in the temporary folder."""
    work = traced.parent
    shape = lambda s: "[" + ",".join(map(str, s)) + "]f32"  # noqa: E731 - pnnx's notation
    command = [pnnx.EXEC_PATH, str(traced), f"inputshape={shape(first)}", "device=cpu",
               f"pnnxparam={work / 'm.pnnx.param'}", f"pnnxbin={work / 'm.pnnx.bin'}",
               f"pnnxpy={work / 'm_pnnx.py'}", f"pnnxonnx={work / 'm.pnnx.onnx'}", f"ncnnparam={param}",
               f"ncnnbin={weights}", f"ncnnpy={work / 'm_ncnn.py'}", f"fp16={int(fp16)}"]
    if second != first:
        command.insert(3, f"inputshape2={shape(second)}")
    try:
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=CONVERT_SECONDS)
    except subprocess.TimeoutExpired:
        raise CganError(f"pnnx took more than {CONVERT_SECONDS} s converting the network; nothing written") from None
    if done.returncode != 0 or not param.is_file() or not weights.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CganError(f"pnnx could not convert the network (exit {done.returncode}: {tail[0][:200]}); nothing "
                        f"written")


def _ncnn_runner(param: Path, weights: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The pair loaded in ncnn: an NCHW float32 batch in, the batch out (image by image: ncnn takes one)."""
    net, names = load_ncnn(param, weights, threads=os.cpu_count() or 1)
    return lambda batch: np.stack([run_ncnn(net, names, image) for image in batch])
