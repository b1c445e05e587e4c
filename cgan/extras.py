"""Which optional part of cgan (a pip extra) provides a module, for one-line errors when it is missing.

The core (``pip install cgan``) runs exported models; training, export and the other engines are
extras, so a command may need a package that is not installed.
"""
from __future__ import annotations

import importlib.util

# top-level module -> (what it is, the extra that installs it)
PROVIDERS = {
    "torch": ("PyTorch", "train"),
    "tensorboard": ("TensorBoard", "train"),
    "matplotlib": ("matplotlib", "train"),
    "skimage": ("scikit-image", "train"),
    "onnxscript": ("the ONNX exporter", "export"),
    "onnxslim": ("onnxslim", "export"),
    "onnxconverter_common": ("onnxconverter-common", "export"),
    "openvino": ("OpenVINO", "openvino"),
    "tensorrt": ("TensorRT", "gpu"),
    "ai_edge_litert": ("LiteRT", "litert"),
    "litert_torch": ("litert-torch", "tflite"),
}


def missing_extra(module: str | None) -> str | None:
    """The one-line fix for a missing module that an extra provides, or None for any other module."""
    root = (module or "").split(".")[0]
    if root not in PROVIDERS:
        return None
    what, extra = PROVIDERS[root]
    return f'this needs {what}, which is not installed: pip install "cgan[{extra}]"'


def torch_installed() -> bool:
    """Whether PyTorch is installed (found without importing it: the light install runs exported models alone)."""
    return importlib.util.find_spec("torch") is not None
