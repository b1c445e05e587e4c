"""Export a generator to LiteRT (TFLite, ``NAME.tflite``), the runtime of Android phones and ARM boards, verified by
LiteRT's own interpreter against PyTorch.

The route is Google's: ``litert-torch`` (PyTorch's converter to LiteRT) in a child process (litert_convert.py says
why), at the one size ``--size`` gives: LiteRT's converter cannot keep height and width free, so the file takes
frames of that size and the runtime fits every frame into it. Three precisions:

- fp32.
- fp16: LiteRT Quantizer stores the convolutions' weights in half precision (half the file). XNNPACK computes such a
  file in fp16 on CPUs with FP16 arithmetic (most ARM phones and boards) only where the file says it may (LiteRT's
  ``reduced_precision_support`` metadata), and cgan says so only after checking that arithmetic: XNNPACK emulates
  it on x86 CPUs with AVX2 (each operation rounded to fp16), and the emulated output must reach the fp16 threshold
  against PyTorch. Elsewhere, or below it, the file keeps fp16 weights and fp32 arithmetic, and the export says why.
- int8, for generators without instance normalisation (students, the filter): LiteRT Quantizer quantises the
  convolutions, calibrated on ``--calib`` images fitted to that size as the runtime fits frames, and leaves the
  float tail float (litert_convert.py says why); input and output stay float32, and XNNPACK runs the convolutions
  in int8. It is verified like the other int8 exports, by PSNR against PyTorch on calibration images held back.

cgan's metadata goes into the file's own metadata table. If verification fails, nothing is left behind.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import CganError
from ..fileio import refuse_overwrite
from ..modelfile import load_model, resolve_model_path
from ..tflite_file import TfliteRunner, read_tflite, with_metadata
from .int8 import MIN_PSNR as MIN_INT8_PSNR
from .int8 import calibration_inputs, psnr_against_pytorch, require_int8_psnr, require_quantisable, split_calibration
from .options import ExportOptions, export_options
from .verify import (ExportReport, ShapeCheck, check_inputs, compare_on_inputs, compare_with_pytorch, require_psnr,
                     stage_reporter)

MIN_PSNR = {"fp32": 40.0, "fp16": 35.0, "int8": MIN_INT8_PSNR}
INSTALL_HINT = 'pip install "cgan[tflite]"'
CONVERT_SECONDS = 900
CHECKS = 3  # inputs verified at the file's one size


def tflite_stages(options: ExportOptions) -> list[str]:
    fp16 = "converting to LiteRT (litert-torch) with fp16 weights (LiteRT Quantizer)" + \
        (", emulating fp16 arithmetic" if options.verify else "")
    convert = {"fp32": "converting to LiteRT (litert-torch)", "fp16": fp16,
               "int8": "converting to LiteRT (litert-torch) and quantising int8 (LiteRT Quantizer)"}[options.precision]
    return [convert, *(["verifying in LiteRT against PyTorch"] if options.verify else [])]


def default_tflite_path(model_path: Path, size: tuple[int, int], precision: str) -> Path:
    """Beside the model file, named by its one size (and fp16 or int8): ``G_AtoB.480x640.tflite``,
    ``G_AtoB.int8.480x640.tflite``."""
    kind = "" if precision == "fp32" else f".{precision}"
    return model_path.with_name(f"{model_path.stem}{kind}.{size[0]}x{size[1]}.tflite")


def export_tflite(model: str | os.PathLike, out: str | os.PathLike | None = None,
                  options: ExportOptions | None = None, *, on_check: Callable[[ShapeCheck], None] | None = None,
                  on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Write ``model`` (a model file or run directory) as a ``.tflite`` file of the fixed ``options.size``;
    return its path and the verification report. ``options`` and the callbacks are ``export_onnx``'s."""
    options = export_options(options, **fields)
    if options.size is None:
        raise CganError("a LiteRT file takes one frame size (its converter cannot keep height and width free): give "
                        "--size HxW, the size of the frames it will see (480x640 for a VGA camera); the runtime "
                        "fits other frames into it")
    model_path = resolve_model_path(model, options.direction)
    net = load_model(model_path, options.direction)
    out = Path(out) if out else default_tflite_path(model_path, options.size, options.precision)
    return write_tflite(net, model_path, out, options, on_check, on_stage)


def write_tflite(net: torch.nn.Module, model_path: Path, out: Path, options: ExportOptions,
                 on_check: Callable[[ShapeCheck], None] | None = None,
                 on_stage: Callable[[str, int, int], None] | None = None) -> tuple[Path, ExportReport]:
    """``export_tflite`` for a generator already loaded from ``model_path``."""
    started = time.perf_counter()
    precision = options.precision
    if precision not in MIN_PSNR:
        raise CganError(f"LiteRT export writes fp32, fp16 or int8, not {precision}: choose one of them with "
                        f"--precision")
    if options.batch not in (None, 1):
        raise CganError("a LiteRT file takes one frame at a time: leave --batch out")
    if not out.name.lower().endswith(".tflite"):
        raise CganError(f"output {out} must end in .tflite")
    height, width = options.size
    multiple = net.size_multiple
    if height % multiple or width % multiple:
        raise CganError(f"--size {height}x{width} is not a multiple of {multiple}, which this generator needs: use "
                        f"{-(-height // multiple) * multiple}x{-(-width // multiple) * multiple}")
    if precision == "int8":
        require_quantisable(net)
    _require_converter(precision)
    refuse_overwrite(out, options.overwrite)
    held_back = calibration = None
    if precision == "int8":
        held_back, calibration = split_calibration(calibration_inputs(options.calib, multiple, options.calib_images,
                                                                      size=(height, width)))
    stages = tflite_stages(options)
    stage = stage_reporter(stages, on_stage)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cgan-tflite-", dir=out.parent) as tmp:
        work = Path(tmp)
        bare, labelled = work / "bare.tflite", work / out.name
        stage(stages[0])
        given = None  # int8: the calibration inputs; fp16: the inputs its fp16 arithmetic is checked on
        arithmetic_inputs = check_inputs([(1, 3, height, width)] * CHECKS, saturated=True) \
            if precision == "fp16" and options.verify else None
        if calibration is not None or arithmetic_inputs:
            given = work / "inputs.npy"
            np.save(given, np.concatenate(calibration if calibration is not None else
                                          [x.numpy() for x in arithmetic_inputs]))
        _convert(model_path, options.direction, height, width, precision, bare, given)
        tools = {"litert_torch": version("litert-torch"),
                 **({"litert_quantizer": version("litert-quantizer")} if precision != "fp32" else {})}
        record = {**net.meta.to_dict(), "export": {
            "format": "tflite", "precision": precision, "batch": 1, "size": f"{height}x{width}",
            "source": model_path.name, **tools}}
        arithmetic = None
        if arithmetic_inputs:
            emulated = bare.with_name(bare.name + ".fp16-arithmetic.npy")
            arithmetic = fp16_arithmetic_verdict(np.load(emulated, allow_pickle=False) if emulated.is_file() else None,
                                                 arithmetic_inputs, net)
            record["export"]["fp16_arithmetic"] = arithmetic
        allow_fp16 = bool(arithmetic and arithmetic["allowed"])
        labelled.write_bytes(with_metadata(bare.read_bytes(), record, fp16_arithmetic=allow_fp16))
        read_tflite(labelled)  # never write what cgan's own runtime would refuse
        checks: list[ShapeCheck] = []
        psnr_db = None
        if options.verify:
            stage(stages[-1])
            run = _runner(labelled)
            if held_back is not None:
                psnr_db, checks = psnr_against_pytorch(run, net, held_back, on_check)
                require_int8_psnr(psnr_db, len(held_back), "the int8 LiteRT file", "fp32")
            else:
                checks = compare_with_pytorch(lambda x: run(x.numpy()), net, [(1, 3, height, width)] * CHECKS,
                                              on_check=on_check, saturated=True)
                require_psnr(checks, MIN_PSNR[precision], precision, "LiteRT")
        os.replace(labelled, out)
    note = fp16_arithmetic_note(arithmetic) if precision == "fp16" else ""
    report = ExportReport(out, precision, options.opset, MIN_PSNR[precision], checks, time.perf_counter() - started,
                          psnr_db, format="tflite", note=note)
    return out, report


def fp16_arithmetic_verdict(emulated: np.ndarray | None, inputs: list[torch.Tensor], net: torch.nn.Module) -> dict:
    """Whether XNNPACK may compute an fp16 file in fp16: its outputs in that arithmetic (the converter's emulation;
    None where it could not) against PyTorch on ``inputs``, at least the fp16 threshold.
    {"allowed", "psnr_db" (None: not checked), "why" (where not allowed)}."""
    if emulated is None:
        return {"allowed": False, "psnr_db": None,
                "why": "LiteRT cannot emulate fp16 arithmetic here (it needs an x86 CPU with AVX2)"}
    found = iter(emulated)  # (the outputs of ``inputs``, in their order)
    checks = compare_on_inputs(lambda x: next(found)[None], net, inputs)
    worst = min(c.psnr_db for c in checks)
    allowed = worst >= MIN_PSNR["fp16"]
    return {"allowed": allowed, "psnr_db": round(worst, 2),
            "why": "" if allowed else f"XNNPACK's emulation of it reached {worst:.1f} dB, below {MIN_PSNR['fp16']:g}"}


def fp16_arithmetic_note(arithmetic: dict | None) -> str:
    """What an fp16 file's arithmetic check found, in words (for the export's verdict)."""
    if arithmetic is None:
        return "fp16 arithmetic not checked (--no-verify): XNNPACK computes the file in fp32"
    if arithmetic["allowed"]:
        return (f"fp16 arithmetic (XNNPACK's emulation): at least {arithmetic['psnr_db']:.1f} dB, so CPUs with FP16 "
                f"arithmetic (ARM phones and boards) compute it in fp16")
    return f"fp16 arithmetic not allowed ({arithmetic['why']}): XNNPACK computes the file in fp32"


def _require_converter(precision: str) -> None:
    needed = [("litert_torch", "litert-torch"), ("ai_edge_litert", "ai-edge-litert"),
              *([("litert_quantizer", "litert-quantizer")] if precision != "fp32" else [])]
    for module, package in needed:
        if importlib.util.find_spec(module) is None:
            raise CganError(f"LiteRT export needs {package}, which is not installed: {INSTALL_HINT}")


def _convert(model_path: Path, direction: str, height: int, width: int, precision: str, out: Path,
             given: Path | None) -> None:
    """Run the converter child (litert_convert.py) with the ``given`` inputs (int8: its calibration; fp16: those its
    fp16 arithmetic is emulated on); what it writes stays in the temporary folder."""
    command = [sys.executable, "-m", "cgan.export.litert_convert", str(model_path), direction, str(height),
               str(width), precision, str(out), *([str(given)] if given else [])]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_SECONDS, env=environment)
    except subprocess.TimeoutExpired:
        raise CganError(f"litert-torch took more than {CONVERT_SECONDS} s converting the network; nothing "
                        f"written") from None
    if done.returncode != 0 or not out.is_file():
        lines = [line for line in (done.stderr + done.stdout).splitlines() if "Error" in line or "error:" in line]
        tail = (lines or (done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1]
        raise CganError(f"litert-torch could not convert the network (exit {done.returncode}: {tail.strip()[:200]}); "
                        f"nothing written")


def _runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The file in LiteRT's interpreter: a 1x3xHxW float32 batch in, the batch out."""
    runner = TfliteRunner(path, threads=os.cpu_count() or 1)
    return lambda batch: np.stack([runner.run(image) for image in batch])
