"""cgan: unpaired image-to-image translation (CycleGAN), from training to real-time inference.

The public API is the handful of names below; they are imported on first use so that
``import cgan`` and ``cgan --help`` stay fast.
"""
from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

# OpenCV decodes whatever size an image header declares (a 1 MB PNG can declare 20000x20000: 1.2 GB of pixels).
# cgan.images checks each header against CGAN_MAX_PIXELS first (default 2**26: a 67-megapixel photo, 200 MB
# decoded) and names the limit; OpenCV's own, read when cv2 is first imported, is the backstop at the same size.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", os.environ.get("CGAN_MAX_PIXELS", str(2**26)))

_API = {
    "CganError": "errors",
    "GeneratorConfig": "presets",
    "PRESETS": "presets",
    "preset_config": "presets",
    "build_generator": "nets",
    "ModelMeta": "modelfile",
    "load_model": "modelfile",
    "save_model": "modelfile",
    "read_meta": "modelfile",
    "convert_checkpoint": "convert",
    "describe_model": "apps.info",
    "train": "train",
    "Trainer": "train",
    "TrainConfig": "train",
    "export_onnx": "export",
    "build_engine": "export",
    "ExportOptions": "export",
    "EngineOptions": "export",
    "Translator": "apps.translator",
    "RuntimeOptions": "runtime.options",
    "FrameOptions": "runtime.options",
    "BenchmarkOptions": "bench.options",
    "translate": "apps.translate",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'cgan' has no attribute {name!r}")
