"""``cgan benchmark --formats``: one model in every export format and precision that runs here, side by side in
one run: images per second at each size (batch 1, the backend alone), PSNR against PyTorch fp32 on a photo, and
the size of what a device loads. PyTorch fp32 comes first: the reference."""
from __future__ import annotations

import dataclasses
import statistics
import tempfile
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..devices import cpu_has_fast_bf16
from ..errors import CganError
from ..pixels import to_model_range
from ..runtime.options import RuntimeOptions
from .inference import psnr_db, time_runs


@dataclasses.dataclass
class FormatRow:
    format: str
    precision: str
    file_mb: float
    backend: str
    images_per_s: dict[str, float]  # by size, "HxW"
    psnr_vs_fp32: dict[str, float | None]  # by size; None for the reference

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Variant:
    format: str
    precision: str
    file: str | None  # which export runs (a key of ``exporters``); None: the model file itself
    backend: str
    options: tuple = ()  # RuntimeOptions fields, as (name, value) pairs


def exporters(model: Path, calib: str | None) -> dict[str, Callable[[Path, tuple[int, int]], Path]]:
    """Each file the variants run, written into a folder when first needed (unverified: every output is compared
    with PyTorch fp32's here). Each takes the folder and the size measured, which only a fixed-size format
    (LiteRT) is exported at."""
    from ..export import export_onnx
    from ..export.ncnn import export_ncnn
    from ..export.openvino_ir import export_openvino

    def onnx(precision: str) -> Callable[[Path, tuple[int, int]], Path]:
        return lambda folder, size: export_onnx(model, folder / f"m.{precision}.onnx", precision=precision, verify=False,
                                          calib=calib if precision == "int8" else None)[0]

    def ir(precision: str) -> Callable[[Path, tuple[int, int]], Path]:
        return lambda folder, size: export_openvino(model, folder / f"m.{precision}.xml", precision=precision,
                                              verify=False, calib=calib if precision == "int8" else None)[0]

    def ncnn(precision: str) -> Callable[[Path, tuple[int, int]], Path]:
        return lambda folder, size: export_ncnn(model, folder / f"m.{precision}.ncnn.param", precision=precision,
                                          verify=False)[0]

    def tflite(precision: str) -> Callable[[Path, tuple[int, int]], Path]:
        def write(folder: Path, size: tuple[int, int]) -> Path:
            from ..export.tflite import export_tflite

            return export_tflite(model, folder / f"m.{precision}.{size[0]}x{size[1]}.tflite", size=size,
                                 precision=precision, verify=False, calib=calib if precision == "int8" else None)[0]
        return write

    return {**{f"tflite {p}": tflite(p) for p in ("fp32", "fp16", "int8")},
            **{f"onnx {p}": onnx(p) for p in ("fp32", "fp16", "int8")},
            **{f"ir {p}": ir(p) for p in ("fp32", "fp16", "int8")}, **{f"ncnn {p}": ncnn(p) for p in ("fp32", "fp16")}}


def variants(quantisable: bool, calib: str | None) -> list[Variant]:
    """Every format and precision this machine runs, PyTorch fp32 first; int8 only with calibration images and
    for generators without instance normalisation."""
    from ..runtime.ncnn_backend import ncnn_available
    from ..runtime.openvino_backend import openvino_available

    openvino = openvino_available()
    int8 = bool(calib) and quantisable
    found = [Variant("PyTorch (.safetensors)", "fp32", None, "torch"),
             Variant("ONNX, ONNX Runtime", "fp32", "onnx fp32", "onnxruntime"),
             Variant("ONNX, ONNX Runtime", "fp16", "onnx fp16", "onnxruntime")]
    if openvino:
        found += [Variant("ONNX, OpenVINO", "fp32", "onnx fp32", "openvino"),
                  Variant("OpenVINO IR", "fp32", "ir fp32", "openvino"),
                  Variant("OpenVINO IR", "fp16 weights", "ir fp16", "openvino")]
        if cpu_has_fast_bf16():
            found.append(Variant("OpenVINO IR", "bf16", "ir fp32", "openvino", (("precision", "bf16"),)))
    if ncnn_available():
        found += [Variant("ncnn", "fp32", "ncnn fp32", "ncnn"), Variant("ncnn", "fp16 weights", "ncnn fp16", "ncnn")]
    if litert_convertible():
        found.append(Variant("LiteRT (TFLite)", "fp32", "tflite fp32", "litert"))
    if litert_convertible(quantiser=True):  # (fp32 arithmetic on x86: fp16 runs in fp16 on ARM CPUs only)
        found.append(Variant("LiteRT (TFLite)", "fp16 weights", "tflite fp16", "litert"))
    if int8:
        found.append(Variant("ONNX, ONNX Runtime", "int8 (QDQ)", "onnx int8", "onnxruntime"))
    if int8 and openvino:
        found += [Variant("ONNX, OpenVINO", "int8 (QDQ)", "onnx int8", "openvino"),
                  Variant("OpenVINO IR", "int8 (NNCF)", "ir int8", "openvino")]
    if int8 and litert_convertible(quantiser=True):
        found.append(Variant("LiteRT (TFLite)", "int8 (convolutions)", "tflite int8", "litert"))
    return found


def litert_convertible(quantiser: bool = False) -> bool:
    """Whether LiteRT files (fp16 and int8 ones, with ``quantiser``) can be written and run here (litert-torch is not
    part of cgan[all]: README)."""
    import importlib.util

    needed = ("litert_torch", "ai_edge_litert", *(("litert_quantizer",) if quantiser else ()))
    return all(importlib.util.find_spec(m) is not None for m in needed)


def file_mb(path: Path) -> float:
    """What a device loads: the file, and the weights beside an IR or an ncnn param file."""
    weights = path.with_suffix(".bin") if path.suffix in (".xml", ".param") else None
    return (path.stat().st_size + (weights.stat().st_size if weights else 0)) / 1e6


def _open(path: Path, variant: Variant):
    from ..runtime.backends import OnnxBackend, TorchBackend
    from ..runtime.litert_backend import LiteRTBackend
    from ..runtime.ncnn_backend import NcnnBackend
    from ..runtime.openvino_backend import OpenVinoBackend

    kind = {"torch": TorchBackend, "onnxruntime": OnnxBackend, "openvino": OpenVinoBackend,
            "ncnn": NcnnBackend, "litert": LiteRTBackend}[variant.backend]
    return kind(path, RuntimeOptions(backend=variant.backend, device="cpu", **dict(variant.options)))


def compare_formats(model: str | Path, photo: np.ndarray, *, sizes: list[tuple[int, int]], calib: str | None = None,
                    max_seconds: float = 3.0, on_row: Callable[[FormatRow], None] | None = None) -> list[FormatRow]:
    """Each variant of ``model`` (a model file) at each (height, width) of ``sizes`` on ``photo`` (RGB uint8,
    resized to each size) on the CPU."""
    from ..modelfile import read_meta

    model = Path(model)
    meta = read_meta(model)
    for h, w in sizes:
        if h % meta.size_multiple or w % meta.size_multiple:
            raise CganError(f"size {h}x{w} is not a multiple of {meta.size_multiple}, which this generator needs")
    resized = {f"{h}x{w}": cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA) for h, w in sizes}
    inputs = {size: to_model_range(image.transpose(2, 0, 1)[None]) for size, image in resized.items()}
    rows, reference = [], {}
    write = exporters(model, calib)
    # Each export written once and run by every backend that runs it; a fixed-size one once per size
    files: dict[tuple[str | None, str | None], Path] = {(None, None): model}
    with tempfile.TemporaryDirectory(prefix="cgan-formats-") as tmp:
        for variant in variants(meta.config.normalization == "none", calib):
            row, backend = None, None
            for (h, w), (size, x) in zip(sizes, inputs.items()):
                key = (variant.file, size if (variant.file or "").startswith("tflite") else None)
                if key not in files:
                    files[key] = write[variant.file](Path(tmp), (h, w))
                if backend is None or key[1] is not None:
                    backend = _open(files[key], variant)
                if row is None:
                    row = FormatRow(variant.format, variant.precision, round(file_mb(files[key]), 3),
                                    backend.description, {}, {})
                output = np.asarray(backend.run(x), dtype=np.float32)
                first = size not in reference
                reference.setdefault(size, output)
                runs = time_runs(lambda: backend.run(x), max_seconds=max_seconds)
                row.images_per_s[size] = 1 / statistics.median(runs)
                row.psnr_vs_fp32[size] = None if first else round(psnr_db(output, reference[size]), 1)
            rows.append(row)
            if on_row:
                on_row(row)
    return rows


def format_rows_table(rows: list[FormatRow] | list[dict]) -> str:
    """Rows as a Markdown table: measured here, or read back from a result file."""
    rows = [r.to_dict() if isinstance(r, FormatRow) else r for r in rows]
    sizes = list(rows[0]["images_per_s"]) if rows else []
    header = ["format", "precision", *(f"images/s {s}" for s in sizes), f"PSNR vs fp32 ({sizes[-1]})" if sizes else
              "PSNR vs fp32", "size"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        psnr = r["psnr_vs_fp32"].get(sizes[-1]) if sizes else None
        cells = [r["format"], r["precision"], *(f"{r['images_per_s'][s]:.1f}" for s in sizes),
                 "reference" if psnr is None else f"{psnr:.1f} dB", f"{r['file_mb']:.2f} MB"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
