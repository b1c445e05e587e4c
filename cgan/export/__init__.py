"""Export: ``export_onnx`` (dynamic-shape ONNX, verified) and ``build_engine`` (TensorRT, verified, with sidecar)."""
from .onnx import export_onnx
from .options import EngineOptions, ExportOptions
from .tensorrt import build_engine
from .verify import ExportReport

__all__ = ["EngineOptions", "ExportOptions", "ExportReport", "build_engine", "export_onnx"]
