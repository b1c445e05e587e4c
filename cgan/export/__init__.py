"""Export: ``export_onnx`` (dynamic-shape ONNX, verified) and ``build_engine`` (TensorRT, verified, with sidecar).

The options (``options.py``) need no PyTorch, so that the command line reads its flags from them without it;
the exporters are imported on first use.
"""
from __future__ import annotations

import importlib

from .options import EngineOptions, ExportOptions

_LAZY = {"export_onnx": "onnx", "build_engine": "tensorrt", "ExportReport": "verify"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EngineOptions", "ExportOptions", "ExportReport", "build_engine", "export_onnx"]
