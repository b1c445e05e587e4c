"""int8 export: a statically quantised ONNX (QDQ, per-channel weights) calibrated on the user's images.

Only generators without instance normalisation qualify (the ``student`` presets of ``cgan
distill``): instance norm computes its statistics from each image, so the activation ranges that
static quantisation fixes at calibration time do not hold for the next image. The quantised file
is verified like every export, against the fp32 generator on held-back calibration images, by
PSNR (int8 errors are spread thinly over every pixel, so a PSNR says more than a worst pixel).
"""
from __future__ import annotations

import contextlib
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..errors import CganError
from ..images import fit_into, list_images, pad_to_multiple, read_rgb, resized
from ..pixels import to_model_range
from .verify import ShapeCheck, psnr_of

CALIBRATION_SIDE = 256  # calibration images are scaled to this long side (and padded to the size multiple)
# int8 is judged by PSNR against fp32 on real images (its error is spread thinly over every pixel), on the
# calibration images held back, in every format: at least this.
MIN_PSNR = 30.0


def require_quantisable(net: torch.nn.Module) -> None:
    if net.config.normalization != "none":
        raise CganError(f"int8 needs a generator without instance normalisation ({net.meta.preset or net.config.arch} "
                        f"normalises each image by its own statistics, so static int8 ranges do not hold): distil a "
                        f"student with cgan distill and export that")


def calibration_inputs(folder: str, multiple: int, count: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Up to ``count`` model inputs (1x3xHxW float32 in [-1, 1]) from the images in ``folder`` (``--calib``, which
    ExportOptions requires with int8). For a file of one frame ``size`` (LiteRT), each image enters it as the
    runtime's frames do (fitted and padded); else it is scaled to ``CALIBRATION_SIDE``."""
    root = Path(folder)
    if not root.is_dir():
        raise CganError(f"--calib {root}: folder not found")
    inputs = []
    for path in list_images(root):
        image = read_rgb(path)
        if image is None:
            continue
        if size is not None:
            image = fit_into(image, size)
        else:
            scale = CALIBRATION_SIDE / max(image.shape[:2])
            if scale < 1:
                image = resized(image, max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale)))
            image = pad_to_multiple(image, multiple)
        inputs.append(to_model_range(image.transpose(2, 0, 1)[None]))
        if len(inputs) == count:
            break
    if len(inputs) < 2:
        raise CganError(f"--calib {root} has {len(inputs)} readable images: give at least 2 (32 or more calibrate "
                        f"better)")
    return inputs


def split_calibration(inputs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(held back for verification, used for calibration): every fourth image is held back; with fewer than
    four images all serve both."""
    if len(inputs) < 4:
        return inputs, inputs
    return inputs[::4], [x for i, x in enumerate(inputs) if i % 4]


class _Reader:
    """ONNX Runtime's calibration data reader over a list of inputs."""

    def __init__(self, name: str, inputs: list[np.ndarray]) -> None:
        self.items = iter([{name: x} for x in inputs])

    def get_next(self) -> dict | None:
        return next(self.items, None)

    def rewind(self) -> None:  # noqa: D401 - part of the reader interface; one pass is all calibration needs
        pass


def quantise(fp32_path: Path, out: Path, inputs: list[np.ndarray]) -> None:
    """Write the QDQ int8 version of ``fp32_path`` to ``out``, calibrated on ``inputs`` (MinMax ranges)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="cgan-int8-") as tmp, contextlib.redirect_stdout(None):
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        name = onnx.load(str(prepared), load_external_data=False).graph.input[0].name
        quantize_static(str(prepared), str(out), _Reader(name, inputs), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        # Conv only: the float tail (colour map sum, atanh, tanh) keeps full precision.
                        op_types_to_quantize=["Conv"], extra_options={"ActivationSymmetric": False})


def require_int8_psnr(psnr_db: float, images: int, what: str, otherwise: str) -> None:
    """One line, nothing written, where ``what`` (the int8 file, in words) falls below ``MIN_PSNR`` on ``images``
    held-back calibration images; ``otherwise`` is the other precision to use."""
    if not psnr_db >= MIN_PSNR:
        raise CganError(f"verification failed: {what} reaches {psnr_db:.1f} dB PSNR against fp32 on {images} "
                        f"held-back calibration images (at least {MIN_PSNR:g} dB needed); nothing written: calibrate "
                        f"on more images like the ones it will translate, or use {otherwise}")


def verify_int8(path: Path, net: torch.nn.Module, inputs: list[np.ndarray], on_check=None) -> tuple[float, list]:
    """PSNR (dB, on [-1, 1] outputs) of the int8 file in ONNX Runtime against PyTorch fp32 on ``inputs``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return psnr_against_pytorch(lambda x: session.run(None, {name: x})[0], net, inputs, on_check)


def psnr_against_pytorch(run, net: torch.nn.Module, inputs: list[np.ndarray], on_check=None) -> tuple[float, list]:
    """PSNR (dB, on [-1, 1] outputs) of ``run`` (an exported model: NCHW float32 array in, array out) against
    PyTorch fp32 over all of ``inputs``, and the error of each."""
    squared, count, checks = 0.0, 0, []
    for x in inputs:
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        error = np.asarray(run(x), dtype=np.float32) - expected
        squared += float(np.sum(error.astype(np.float64) ** 2))
        count += error.size
        checks.append(ShapeCheck(tuple(x.shape), float(np.abs(error).max()), float(np.abs(error).mean()),
                                 psnr_of(error)))
        if on_check:
            on_check(checks[-1])
    mse = squared / count / 4  # outputs span [-1, 1]: a peak-to-peak of 2
    return (10 * math.log10(1 / mse) if mse > 0 else float("inf")), checks
