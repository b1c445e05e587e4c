"""What a model file is: architecture, size, cost, domains and input contract (``cgan info``).

Reads model files and run directories, ONNX files, and TensorRT engines through their sidecar. An ONNX file
is described from its graph alone (weights counted, multiply-adds from the inferred shapes), so the core
install, without PyTorch, describes what it runs; model files and engines need PyTorch.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..extras import torch_installed
from ..fileio import escape_control
from ..formats import exported_format
from ..images import smallest_side
from ..modelfile import ModelMeta, read_exported_meta, resolve_model_path
from ..presets import A_TO_B
from ..shapes import round_up

if TYPE_CHECKING:
    import torch


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
        f"macs_at_{size}x{size}": macs,
        "domains": f"{meta.source_domain} -> {meta.target_domain}",
        "direction": meta.direction,
        "input": f"{meta.channel_order}, NCHW, range [{meta.input_range[0]:g}, {meta.input_range[1]:g}]",
        "size_multiple": meta.size_multiple,
        "normalization": meta.normalization,
        "provenance": meta.provenance,
    }


def _side(multiple: int, size: int) -> int:
    """The side nearest ``size`` that a network of this size multiple takes."""
    return max(round_up(size, multiple), smallest_side(multiple))


def _macs(net: torch.nn.Module, multiple: int, size: int) -> int:
    """Multiply-adds at ``size`` x ``size``; a network that cannot take that size (a U-Net of 10 levels takes
    multiples of 1024) is counted at the smallest size it takes and scaled by pixels, as convolutions scale."""
    from ..nets import count_macs

    side = _side(multiple, size)
    return count_macs(net, size, size) if side == size else round(count_macs(net, side, side) * (size / side) ** 2)


def describe_model(model: str | os.PathLike, direction: str = A_TO_B, size: int = 256) -> dict:
    """A summary of a model file, run directory, ONNX file or engine, as plain values."""
    path = Path(model)
    if exported_format(path):
        return _describe_exported(path, size)
    path = resolve_model_path(model, direction)
    if not torch_installed():
        return _describe_header(path, size)
    from ..modelfile import load_model
    from ..nets import count_parameters

    net = load_model(path)
    return {
        "file": str(path),
        "file_size_mb": round(path.stat().st_size / 1e6, 2),
        "format": f"cgan generator, format version {net.meta.format_version}",
        **_common(net.meta, count_parameters(net), _macs(net, net.meta.size_multiple, size), size),
        "generator_config": dict(vars(net.meta.config)),
        "weights_sha256": net.meta.weights_sha256 or "none (written by an older cgan: damage cannot be detected)",
    }


def _describe_header(path: Path, size: int) -> dict:
    """A model file described from its header alone, where PyTorch is not installed: the metadata, and the
    weights counted from their declared shapes; multiply-adds and the checksum need the network itself."""
    from safetensors import safe_open

    from ..modelfile import read_meta

    meta = read_meta(path)
    with safe_open(str(path), framework="numpy") as f:
        parameters = sum(int(np.prod(f.get_slice(name).get_shape())) for name in f.keys())
    return {
        "file": str(path),
        "file_size_mb": round(path.stat().st_size / 1e6, 2),
        "format": f"cgan generator, format version {meta.format_version}",
        **_common(meta, parameters, None, size),
        "generator_config": dict(vars(meta.config)),
        "weights_sha256": f"{meta.weights_sha256 or 'none'} (not checked: {NEEDS_TORCH})",
    }


NEEDS_TORCH = 'multiply-adds and the checksum need PyTorch: pip install "cgan[train]"'


def _describe_exported(path: Path, size: int) -> dict:
    meta, record = read_exported_meta(path)
    export = record.get("export", {})
    info = {"file": str(path), "file_size_mb": round(path.stat().st_size / 1e6, 2)}
    if path.suffix.lower() == ".onnx":
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        info.update(_onnx_details(path, model, export, meta.size_multiple))
        info.update(_common(meta, _onnx_weights(model), onnx_macs(path, model, meta.size_multiple, size, size), size))
    else:
        import torch

        from ..nets import build_generator, count_parameters

        info.update(_engine_details(record.get("tensorrt", {})))
        with torch.device("meta"):  # only the shapes matter here: nothing is allocated or initialised
            net = build_generator(meta.config)
        info.update(_common(meta, count_parameters(net), _macs(net, meta.size_multiple, size), size))
    info["generator_config"] = dict(vars(meta.config))
    return info


def _onnx_weights(model) -> int:
    """Values of the graph's weight initializers (float, or int8 in a quantised graph): its weights, and fixed
    kernels such as the edge map's."""
    import onnx

    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.INT8,
              onnx.TensorProto.UINT8)
    total = 0
    for tensor in model.graph.initializer:
        count = 1
        for d in tensor.dims:
            count *= d
        if tensor.data_type in floats and count > 1:  # (single constants such as 127.5 are not weights)
            total += count
    return total


def onnx_macs(path: Path, model, multiple: int, height: int, width: int) -> int:
    """Multiply-adds of the graph's convolutions for one ``height`` x ``width`` image (scaled from the nearest
    size it takes, or from its fixed batch and size), from the shapes ONNX infers: each output value of a Conv
    sums in/groups x kernel products; each input value of a ConvTranspose meets out/groups x kernel weights,
    as ``nets.count_macs`` counts them. Needs no PyTorch."""
    from ..runtime.graph_check import inferred_shapes, probe_shape

    side = _side(multiple, max(height, width))
    n, _, h, w = probe_shape(model, multiple, side)  # a fixed-size export at its own size
    shapes = inferred_shapes(path.name, model, (n, 3, h, w))
    shapes.update({t.name: list(t.dims) for t in model.graph.initializer})
    total = 0
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        counted = node.output[0] if node.op_type == "Conv" else node.input[0]
        values, weight = shapes.get(counted), shapes.get(node.input[1])
        if values and weight and all(d is not None for d in [*values, *weight]):
            per_value = 1
            for d in weight[1:]:
                per_value *= d
            elements = 1
            for d in values:
                elements *= d
            total += elements * per_value
    return round(total * height * width / (n * h * w))


def _onnx_details(path: Path, model, export: dict, multiple: int) -> dict:
    import onnx

    from ..runtime.graph_check import check_graph

    graph = check_graph(path, model, multiple)  # a graph the runtime would refuse is not described as a model

    def dims(value) -> str:
        """NCHW with fixed sizes as numbers and free ones by axis name (the exporter's own names are expressions)."""
        shape = value.type.tensor_type.shape.dim
        names = "NCHW" if len(shape) == 4 else [f"d{i}" for i in range(len(shape))]
        text = "x".join(str(d.dim_value) if d.dim_value else names[i] for i, d in enumerate(shape))
        free_sides = any(not d.dim_value for d in shape[2:])
        return text + (f" (any H, W that are multiples of {multiple})" if free_sides else "")

    types = {onnx.TensorProto.FLOAT: "fp32", onnx.TensorProto.FLOAT16: "fp16", onnx.TensorProto.BFLOAT16: "bf16"}
    weights = [types.get(t.data_type, onnx.TensorProto.DataType.Name(t.data_type)) for t in model.graph.initializer]
    counts = ", ".join(f"{weights.count(t)} {t}" for t in sorted(set(weights)))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {
        "format": f"ONNX, opset {opset}, exported {export.get('precision', '?')}",
        "inputs": ", ".join(f"{i.name} {dims(i)}" for i in model.graph.input),
        "outputs": ", ".join(f"{o.name} {dims(o)}" for o in model.graph.output),
        "precision": f"{export.get('precision', '?')} (initializers: {counts})",
        "graph_check": f"passed (largest tensor {graph.elements_per_input:.1f} values per input value at "
                       f"{'x'.join(map(str, graph.probe))})",
    }


def _engine_details(trt_info: dict) -> dict:
    # A sidecar is a file a user may have edited: sections of the wrong type read as missing.
    profile, gpu = (trt_info.get(key) if isinstance(trt_info.get(key), dict) else {} for key in ("profile", "gpu"))
    details = {
        "format": f"TensorRT engine, {trt_info.get('precision', '?')}",
        "tensorrt": trt_info.get("version", "?"),
        "built_for_gpu": f"{gpu.get('name', '?')} (compute capability {gpu.get('compute_capability', '?')})",
        "profile": " / ".join("x".join(map(str, profile.get(k, []))) for k in ("min", "opt", "max")) + " (min / opt / max)",
    }
    details["warnings"] = _engine_mismatches(trt_info)
    return details


def _engine_mismatches(trt_info: dict) -> list[str]:
    """Why this engine may not run here: another TensorRT version or another GPU."""
    warnings = []
    try:
        import tensorrt

        if tensorrt.__version__ != trt_info.get("version"):
            warnings.append(f"built with TensorRT {trt_info.get('version')}, this machine has {tensorrt.__version__}: "
                            f"rebuild it with cgan export --trt")
    except ImportError:
        warnings.append("TensorRT is not installed here, so this engine cannot run on this machine")
    import torch

    if torch.cuda.is_available():
        here = torch.cuda.get_device_name(0)
        built = trt_info.get("gpu", {}).get("name")
        if here != built:
            warnings.append(f"built for {built}, this machine has {here}: rebuild it here with cgan export --trt")
    else:
        warnings.append("no CUDA GPU here, so this engine cannot run on this machine")
    return warnings


def format_count(n: float) -> str:
    """12345678 -> '12.35 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def format_description(info: dict) -> str:
    """The human-readable table ``cgan info`` prints (warnings go separately, to stderr)."""
    lines = []
    for key, value in info.items():
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
