"""Export a generator to ONNX with dynamic batch, height and width, and verify it against PyTorch.

The written file carries the model file's metadata in ``metadata_props`` (key ``cgan``), passes
``onnx.checker`` (full check), and has run in ONNX Runtime at several shapes within tolerance;
if any of that fails, no file is left behind.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import CganError
from ..fileio import atomic_path, refuse_overwrite
from ..modelfile import load_model, resolve_model_path

DEFAULT_OPSET = 18  # the dynamo exporter's lowest working opset; TensorRT 10+ and ONNX Runtime parse it
PRECISIONS = ("fp32", "fp16")
# Largest |ONNX Runtime - PyTorch fp32| accepted per output value (outputs lie in [-1, 1], where one
# 8-bit grey level is 2/255 = 0.0078). fp16 keeps instance norm in fp32; its bound is 2.5 grey levels.
TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2}
# Shapes (N, H, W) checked by default: several batch sizes, non-square, far from the training size.
DEFAULT_CHECKS = ((1, 256, 256), (2, 320, 480), (1, 720, 1280))


@dataclasses.dataclass
class ShapeCheck:
    shape: tuple[int, ...]
    max_abs_error: float
    mean_abs_error: float


@dataclasses.dataclass
class ExportReport:
    path: Path
    precision: str
    opset: int
    tolerance: float
    checks: list[ShapeCheck]
    seconds: float

    def lines(self) -> list[str]:
        out = [f"  {'x'.join(map(str, c.shape)):>14}  max |error| {c.max_abs_error:.2e}  mean {c.mean_abs_error:.2e}"
               for c in self.checks]
        return out


def parse_shape(text: str, parts: int) -> tuple[int, ...]:
    """'1x3x64x64' -> (1, 3, 64, 64), with ``parts`` numbers required."""
    try:
        shape = tuple(int(v) for v in str(text).lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != parts or min(shape) < 1:
        example = "x".join(["1", "3", "256", "256"][-parts:])
        raise CganError(f"cannot read shape {text!r}: write {parts} positive numbers like {example}")
    return shape


def check_shapes(batch: int | None, size: tuple[int, int] | None, multiple: int) -> list[tuple[int, int, int, int]]:
    """The (N, 3, H, W) inputs verification runs: the defaults adapted to fixed dimensions and the size multiple."""
    shapes = []
    for n, h, w in DEFAULT_CHECKS:
        if size:
            h, w = size
        shape = (batch or n, 3, math.ceil(h / multiple) * multiple, math.ceil(w / multiple) * multiple)
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


def prepare_graph(model, precision: str, simplify: bool, metadata: dict):
    """Convert precision, simplify and attach metadata to an ONNX ModelProto."""
    import onnx

    if precision == "fp16":
        from onnxconverter_common import float16

        # InstanceNorm stays fp32 (inputs, scale and bias cast together): its variance overflows fp16.
        blocked = float16.DEFAULT_OP_BLOCK_LIST + ["InstanceNormalization"]
        with _quiet():
            model = float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=blocked)
    if simplify:  # after the conversion: the converter mistypes residual Adds in a slimmed graph
        import onnxslim

        with _quiet():
            model = onnxslim.slim(model)
    onnx.helper.set_model_props(model, {"cgan": json.dumps(metadata)})
    model.producer_name = "cgan"
    return model


def compare_with_pytorch(run, net: torch.nn.Module, shapes: list[tuple[int, ...]], seed: int = 0,
                         on_check=None) -> list[ShapeCheck]:
    """``run`` (an exported model: NCHW float32 tensor in, array out) against PyTorch fp32 on the same
    random inputs in [-1, 1]; the error per shape."""
    generator = torch.Generator().manual_seed(seed)
    checks = []
    for shape in shapes:
        x = torch.rand(shape, generator=generator) * 2 - 1
        with torch.no_grad():
            expected = net(x).numpy()
        got = np.asarray(run(x), dtype=np.float32)
        if got.shape != expected.shape:
            raise CganError(f"verification failed: output shape {got.shape} != PyTorch {expected.shape}")
        error = np.abs(got - expected)
        checks.append(ShapeCheck(tuple(shape), float(error.max()), float(error.mean())))
        if on_check:
            on_check(checks[-1])
    return checks


def verify_onnx(path: Path, net: torch.nn.Module, shapes: list[tuple[int, ...]], on_check=None) -> list[ShapeCheck]:
    """The ONNX file in ONNX Runtime (CPU) against PyTorch."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return compare_with_pytorch(lambda x: session.run(None, {input_name: x.numpy()})[0], net, shapes,
                                on_check=on_check)


def default_onnx_path(model_path: Path, precision: str) -> Path:
    return model_path.with_suffix(".onnx" if precision == "fp32" else f".{precision}.onnx")


def export_onnx(model: str | os.PathLike, out: str | os.PathLike | None = None, direction: str = "AtoB",
                opset: int = DEFAULT_OPSET, precision: str = "fp32", batch: int | None = None,
                size: tuple[int, int] | None = None, simplify: bool = True, verify: bool = True,
                verify_shapes: list[tuple[int, ...]] | None = None, overwrite: bool = False,
                on_check=None) -> tuple[Path, ExportReport]:
    """Write ``model`` (a model file or run directory) as ONNX; return the path and the verification report.

    ``batch``/``size`` fix those dimensions (None: dynamic). Verification failure raises a CganError
    and leaves no file.
    """
    if precision not in PRECISIONS:
        raise CganError(f"unknown precision {precision!r} for ONNX export: choose one of {', '.join(PRECISIONS)}")
    if opset < 18:
        raise CganError(f"--opset {opset} is too low: the exporter needs 18 or higher")
    started = time.perf_counter()
    model_path = resolve_model_path(model, direction)
    net = load_model(model_path, direction)
    multiple = net.size_multiple
    if size and (size[0] % multiple or size[1] % multiple):
        raise CganError(f"--size {size[0]}x{size[1]} is not a multiple of {multiple}, which this generator needs")
    out = Path(out) if out else default_onnx_path(model_path, precision)
    if out.suffix != ".onnx":
        raise CganError(f"output {out} must end in .onnx")
    refuse_overwrite(out, overwrite)
    metadata = {**net.meta.to_dict(), "export": {
        "precision": precision, "opset": opset, "batch": batch or "dynamic",
        "size": f"{size[0]}x{size[1]}" if size else "dynamic", "source": model_path.name}}
    shapes = verify_shapes or check_shapes(batch, size, multiple)
    import onnx

    with atomic_path(out) as tmp:
        _trace_to_onnx(net, tmp, opset, batch, size)
        graph = prepare_graph(onnx.load(str(tmp)), precision, simplify, metadata)
        onnx.save(graph, str(tmp))
        try:
            onnx.checker.check_model(str(tmp), full_check=True)
        except onnx.checker.ValidationError as e:
            raise CganError(f"the exported graph fails onnx.checker ({str(e).splitlines()[0]}); nothing written") from None
        checks = verify_onnx(tmp, net, shapes, on_check=on_check) if verify else []
        worst = max((c.max_abs_error for c in checks), default=0.0)
        if worst > TOLERANCE[precision] or not math.isfinite(worst):
            table = "; ".join(f"{'x'.join(map(str, c.shape))}: {c.max_abs_error:.2e}" for c in checks)
            raise CganError(f"verification failed: ONNX Runtime differs from PyTorch by up to {worst:.2e} "
                            f"(tolerance {TOLERANCE[precision]:.0e} for {precision}; {table}); nothing written")
    report = ExportReport(out, precision, opset, TOLERANCE[precision], checks, time.perf_counter() - started)
    return out, report
