"""What a model file is: architecture, size, cost, domains and input contract (``cgan info``)."""
from __future__ import annotations

import os

from .modelfile import load_model, resolve_model_path
from .nets import count_macs, count_parameters


def describe_model(model: str | os.PathLike, direction: str = "AtoB", size: int = 256) -> dict:
    """A summary of a model file or run directory, as plain values (printed by ``cgan info``)."""
    path = resolve_model_path(model, direction)
    net = load_model(path)
    meta = net.meta
    config = meta.config
    blocks = f"{config.num_downs} levels" if config.arch == "unet" else f"{config.n_blocks} residual blocks"
    return {
        "file": str(path),
        "file_size_mb": round(path.stat().st_size / 1e6, 2),
        "format": f"cgan generator, format version {meta.format_version}",
        "architecture": f"{meta.preset or config.arch} ({config.arch}, {blocks}, ngf {config.ngf})",
        "parameters": count_parameters(net),
        f"macs_at_{size}x{size}": count_macs(net, size, size),
        "domains": f"{meta.source_domain} -> {meta.target_domain}",
        "direction": meta.direction,
        "input": f"{meta.channel_order}, NCHW, range [{meta.input_range[0]:g}, {meta.input_range[1]:g}]",
        "size_multiple": meta.size_multiple,
        "normalization": meta.normalization,
        "provenance": meta.provenance,
        "generator_config": dict(vars(config)),
    }


def format_count(n: float) -> str:
    """12345678 -> '12.35 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def format_description(info: dict) -> str:
    """The human-readable table ``cgan info`` prints."""
    lines = []
    for key, value in info.items():
        if key == "generator_config":
            continue
        if key == "parameters" or key.startswith("macs_at_"):
            value = format_count(value)
        elif key == "file_size_mb":
            value = f"{value} MB"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        lines.append(f"{key.removesuffix('_mb').replace('_', ' '):<16}{value}")
    return "\n".join(lines)
