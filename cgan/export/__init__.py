"""Export: ``export_onnx`` (dynamic-shape ONNX, verified) and ``build_engine`` (TensorRT, verified, with sidecar)."""
from .onnx import ExportReport, export_onnx
from .tensorrt import build_engine

__all__ = ["ExportReport", "build_engine", "export_onnx"]
