"""The formats a generator is exported to, in one table that export, the runtime's choice of backend, cgan info and
cgan benchmark all read: which file suffixes each has, what runs it, which pip extra brings that, its precisions, and
how an export is verified. A model file (.safetensors) or run directory is not exported: PyTorch runs it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    name: str  # as --format names it
    suffixes: tuple[str, ...]  # the first is what export writes
    backends: tuple[str, ...]  # what runs it here, in the order ``--backend auto`` prefers on a CPU
    extra: str  # the pip extra that exports it (cgan[...])
    precisions: tuple[str, ...]
    dynamic_shapes: bool  # batch, height and width chosen at run time
    verified_by: str


FORMATS = (
    Format("onnx", (".onnx",), ("onnxruntime", "openvino"), "export", ("fp32", "fp16", "int8"), True,
           "ONNX Runtime against PyTorch at three shapes (int8: PSNR on held-back calibration images)"),
    Format("openvino", (".xml",), ("openvino",), "openvino", ("fp32", "fp16", "int8"), True,
           "OpenVINO against PyTorch at three shapes by PSNR (int8: on held-back calibration images)"),
    Format("ncnn", (".ncnn.param",), ("ncnn",), "ncnn", ("fp32", "fp16"), True,
           "ncnn against PyTorch at three shapes by PSNR"),
    Format("tflite", (".tflite",), ("litert",), "tflite", ("fp32", "fp16", "int8"), False,
           "LiteRT against PyTorch by PSNR on three inputs at its one size (its converter fixes height and width; "
           "fp16: and XNNPACK's fp16 arithmetic, emulated; int8: on held-back calibration images)"),
    Format("coreml", (".mlpackage",), (), "coreml", ("fp32", "fp16"), True,
           "its spec checked (input, output, shape ranges, metadata); Core ML runs it only on Apple systems"),
    Format("engine", (".engine", ".plan"), ("tensorrt",), "gpu", ("fp32", "fp16"), True,
           "TensorRT against PyTorch within its profile"),
)
MODEL_FILE_BACKENDS = ("torch", "openvino")  # a .safetensors model file or run directory (OpenVINO: exported first)


def exported_format(path: str | os.PathLike) -> Format | None:
    """The format of an exported file, from its suffix; None for anything else (a model file, a run directory)."""
    name = Path(path).name.lower()  # (by the name's end: ncnn's suffix has two parts)
    return next((f for f in FORMATS if name.endswith(f.suffixes)), None)


def backends_for(path: str | os.PathLike) -> tuple[str, ...]:
    """The backends that can run ``path``: its format's, or PyTorch's (and OpenVINO's) for a model file."""
    found = exported_format(path)
    return found.backends if found else MODEL_FILE_BACKENDS


def known_suffixes() -> str:
    """Every exported suffix, for messages that list them."""
    return ", ".join(s for f in FORMATS for s in f.suffixes)


# What ``cgan export --format`` offers: the file formats, and ``web``, a page folder that only a browser runs
EXPORT_FORMATS = (*(f.name for f in FORMATS), "web")
