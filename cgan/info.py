"""What a model file is: architecture, size, cost, domains and input contract (``cgan info``).

Reads model files and run directories, ONNX files, and TensorRT engines through their sidecar.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .modelfile import ModelMeta, load_model, read_exported_meta, resolve_model_path
from .nets import build_generator, count_macs, count_parameters


def _common(meta: ModelMeta, net: torch.nn.Module, size: int) -> dict:
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
        "parameters": count_parameters(net),
        f"macs_at_{size}x{size}": count_macs(net, size, size),
        "domains": f"{meta.source_domain} -> {meta.target_domain}",
        "direction": meta.direction,
        "input": f"{meta.channel_order}, NCHW, range [{meta.input_range[0]:g}, {meta.input_range[1]:g}]",
        "size_multiple": meta.size_multiple,
        "normalization": meta.normalization,
        "provenance": meta.provenance,
    }


def describe_model(model: str | os.PathLike, direction: str = "AtoB", size: int = 256) -> dict:
    """A summary of a model file, run directory, ONNX file or engine, as plain values."""
    path = Path(model)
    if path.suffix.lower() in (".onnx", ".engine", ".plan"):
        return _describe_exported(path, size)
    path = resolve_model_path(model, direction)
    net = load_model(path)
    return {
        "file": str(path),
        "file_size_mb": round(path.stat().st_size / 1e6, 2),
        "format": f"cgan generator, format version {net.meta.format_version}",
        **_common(net.meta, net, size),
        "generator_config": dict(vars(net.meta.config)),
        "weights_sha256": net.meta.weights_sha256 or "none (written by an older cgan: damage cannot be detected)",
    }


def _describe_exported(path: Path, size: int) -> dict:
    meta, record = read_exported_meta(path)
    with torch.device("meta"):  # only the shapes matter here: nothing is allocated or initialised
        net = build_generator(meta.config)
    export = record.get("export", {})
    info = {"file": str(path), "file_size_mb": round(path.stat().st_size / 1e6, 2)}
    if path.suffix.lower() == ".onnx":
        info.update(_onnx_details(path, export, meta.size_multiple))
    else:
        info.update(_engine_details(record.get("tensorrt", {})))
    info.update(_common(meta, net, size))
    info["generator_config"] = dict(vars(meta.config))
    return info


def _onnx_details(path: Path, export: dict, multiple: int) -> dict:
    import onnx

    model = onnx.load(str(path), load_external_data=False)

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
            value = format_count(value)
        elif key == "file_size_mb":
            value = f"{value} MB"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        lines.append(f"{key.removesuffix('_mb').replace('_', ' '):<16}{value}")
    return "\n".join(lines)
