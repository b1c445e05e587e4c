"""What a model file is: architecture, size, cost, domains and input contract (``cgan info``).

Reads model files and run directories, ONNX files, OpenVINO IRs, LiteRT files, ncnn pairs and TensorRT engines
(the last two through their sidecar); what only each format has is in format_details.py. An ONNX file is described from its
graph alone (weights counted, multiply-adds from the inferred shapes), so the core install, without PyTorch,
describes what it runs.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..extras import torch_installed
from ..fileio import escape_control
from ..formats import exported_format
from ..modelfile import ModelMeta, read_exported_meta, resolve_model_path
from ..presets import A_TO_B
from .format_details import (coreml_details, engine_details, engine_mismatches, ir_details, ncnn_details, nearest_side,
                             onnx_details, onnx_macs, onnx_weights, tflite_details)

if TYPE_CHECKING:
    import torch


@dataclasses.dataclass
class ModelDescription:
    """What ``cgan info`` says of a model: the file, its format, and what every generator has (architecture,
    cost, domains, input contract); ``details`` holds what only its format has (an ONNX graph's inputs and
    outputs, an engine's profile), in the order it is printed."""
    file: str
    file_size_mb: float
    format: str
    architecture: str
    parameters: int
    macs: int | None
    macs_side: int
    domains: str
    direction: str
    input: str
    size_multiple: int
    normalization: str
    provenance: dict
    generator_config: dict
    weights_sha256: str | None = None
    details: dict[str, str] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain values for JSON, in the order ``cgan info`` prints them."""
        values = {"file": self.file, "file_size_mb": self.file_size_mb, "format": self.format, **self.details,
                  "architecture": self.architecture, "parameters": self.parameters,
                  f"macs_at_{self.macs_side}x{self.macs_side}": self.macs, "domains": self.domains,
                  "direction": self.direction, "input": self.input, "size_multiple": self.size_multiple,
                  "normalization": self.normalization, "provenance": self.provenance,
                  "generator_config": self.generator_config}
        if self.weights_sha256 is not None:
            values["weights_sha256"] = self.weights_sha256
        if self.warnings:
            values["warnings"] = self.warnings
        return values


def _common(meta: ModelMeta, parameters: int, macs: int | None, size: int) -> dict:
    config = meta.config
    blocks = f"{config.num_downs} levels" if config.arch == "unet" else f"{config.n_blocks} residual blocks"
    options = [name for name, on in (("identity start", config.identity_start), ("colour map", config.colour_map),
                                     ("edge map", config.edge_map),
                                     ("resize upsampling", config.upsample == "resize"),
                                     ("pixel-shuffle upsampling", config.upsample == "shuffle")) if on]
    parts = ", ".join(["filter: the colour map on each pixel and its surroundings"] if config.arch == "filter"
                      else [config.arch, blocks, f"ngf {config.ngf}", *options])
    return {
        "architecture": f"{meta.preset or config.arch} ({parts})",
        "parameters": parameters,
        "macs": macs,
        "macs_side": size,
        "domains": f"{meta.source_domain} -> {meta.target_domain}",
        "direction": meta.direction,
        "input": f"{meta.channel_order}, NCHW, range [{meta.input_range[0]:g}, {meta.input_range[1]:g}]",
        "size_multiple": meta.size_multiple,
        "normalization": meta.normalization,
        "provenance": meta.provenance,
        "generator_config": dict(vars(config)),
    }


def _macs(net: torch.nn.Module, multiple: int, size: int) -> int:
    """Multiply-adds at ``size`` x ``size``; a network that cannot take that size (a U-Net of 10 levels takes
    multiples of 1024) is counted at the smallest size it takes and scaled by pixels, as convolutions scale."""
    from ..nets import count_macs

    side = nearest_side(multiple, size)
    return count_macs(net, size, size) if side == size else round(count_macs(net, side, side) * (size / side) ** 2)


def describe_model(model: str | os.PathLike, direction: str = A_TO_B, size: int = 256) -> ModelDescription:
    """A summary of a model file, run directory, ONNX file or engine."""
    path = Path(model)
    if exported_format(path):
        return _describe_exported(path, size)
    path = resolve_model_path(model, direction)
    if not torch_installed():
        return _describe_header(path, size)
    from ..modelfile import load_model
    from ..nets import count_parameters

    net = load_model(path)
    return ModelDescription(
        file=str(path), file_size_mb=round(path.stat().st_size / 1e6, 2),
        format=f"cgan generator, format version {net.meta.format_version}",
        **_common(net.meta, count_parameters(net), _macs(net, net.meta.size_multiple, size), size),
        weights_sha256=net.meta.weights_sha256 or "none (written by an older cgan: damage cannot be detected)")


def _describe_header(path: Path, size: int) -> ModelDescription:
    """A model file described from its header alone, where PyTorch is not installed: the metadata, and the
    weights counted from their declared shapes; multiply-adds and the checksum need the network itself."""
    from safetensors import safe_open

    from ..modelfile import read_meta

    meta = read_meta(path)
    with safe_open(str(path), framework="numpy") as f:
        parameters = sum(int(np.prod(f.get_slice(name).get_shape())) for name in f.keys())
    return ModelDescription(
        file=str(path), file_size_mb=round(path.stat().st_size / 1e6, 2),
        format=f"cgan generator, format version {meta.format_version}", **_common(meta, parameters, None, size),
        weights_sha256=f"{meta.weights_sha256 or 'none'} (not checked: {NEEDS_TORCH})")


NEEDS_TORCH = 'multiply-adds and the checksum need PyTorch: pip install "cgan[train]"'


def _describe_exported(path: Path, size: int) -> ModelDescription:
    meta, record = read_exported_meta(path)
    export = record.get("export", {})
    file = {"file": str(path), "file_size_mb": round(path.stat().st_size / 1e6, 2)}
    if path.suffix.lower() == ".onnx":
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        form, details = onnx_details(path, model, export, meta.size_multiple)
        common = _common(meta, onnx_weights(model), onnx_macs(path, model, meta.size_multiple, size, size), size)
        return ModelDescription(**file, format=form, details=details, **common)
    if path.suffix.lower() == ".xml":
        form, details, parameters, macs = ir_details(path, export, meta.size_multiple, size)
        return ModelDescription(**file, format=form, details=details, **_common(meta, parameters, macs, size))
    if path.suffix.lower() == ".mlpackage":
        form, details = coreml_details(path, export)
        parameters, macs = _counted_from_config(meta, size)
        file["file_size_mb"] = round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 2)
        return ModelDescription(**file, format=form, details=details, **_common(meta, parameters, macs, size))
    if path.suffix.lower() == ".tflite":
        form, details, parameters = tflite_details(path, export)
        macs = _counted_from_config(meta, size)[1]
        return ModelDescription(**file, format=form, details=details, **_common(meta, parameters, macs, size))
    if path.name.lower().endswith(".ncnn.param"):
        form, details = ncnn_details(path, export)
        parameters, macs = _counted_from_config(meta, size)
        return ModelDescription(**file, format=form, details=details, **_common(meta, parameters, macs, size))
    import torch

    from ..nets import build_generator, count_parameters

    trt_info = record.get("tensorrt", {})
    form, details = engine_details(trt_info)
    with torch.device("meta"):  # only the shapes matter here: nothing is allocated or initialised
        net = build_generator(meta.config)
    common = _common(meta, count_parameters(net), _macs(net, meta.size_multiple, size), size)
    return ModelDescription(**file, format=form, details=details, warnings=engine_mismatches(trt_info), **common)


def _counted_from_config(meta: ModelMeta, size: int) -> tuple[int | None, int | None]:
    """Weights and multiply-adds of the network the metadata describes, built on PyTorch's meta device (nothing
    allocated); (None, None) where PyTorch is not installed."""
    if not torch_installed():
        return None, None
    import torch

    from ..nets import build_generator, count_parameters

    with torch.device("meta"):
        net = build_generator(meta.config)
    return count_parameters(net), _macs(net, meta.size_multiple, size)


def format_count(n: float) -> str:
    """12345678 -> '12.35 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def format_description(description: ModelDescription) -> str:
    """The human-readable table ``cgan info`` prints (warnings go separately, to stderr)."""
    lines = []
    for key, value in description.to_dict().items():
        if key in ("generator_config", "warnings"):
            continue
        if key == "parameters" or key.startswith("macs_at_"):
            value = "- (needs PyTorch)" if value is None else format_count(value)
        elif key == "file_size_mb":
            value = f"{value} MB"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        lines.append(f"{key.removesuffix('_mb').replace('_', ' '):<16}{escape_control(value)}")
    return "\n".join(lines)
