"""One generator = one ``.safetensors`` file: its weights plus JSON metadata. No pickle anywhere.

The metadata (under the safetensors metadata key ``"cgan"``) is the contract between the
stages: train writes it, export copies it into ONNX ``metadata_props`` and the engine's
sidecar, and the runtime reads input range, channel order and size multiple from it.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .errors import CganError
from .fileio import atomic_path, refuse_overwrite
from .nets import PRESETS, GeneratorConfig, build_generator

FORMAT = "cgan-generator"
FORMAT_VERSION = 1
METADATA_KEY = "cgan"
DIRECTIONS = ("AtoB", "BtoA")
PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".pkl", ".bin")


def check_direction(direction: str) -> str:
    """``direction`` if it names a generator of a run (AtoB or BtoA), else a CganError."""
    if direction not in DIRECTIONS:
        raise CganError(f"unknown direction {direction!r}: choose {' or '.join(DIRECTIONS)}")
    return direction


@dataclass
class ModelMeta:
    """What a model file says about its generator, beyond the weights."""

    config: GeneratorConfig
    preset: str | None = None
    source_domain: str = "A"
    target_domain: str = "B"
    direction: str = "AtoB"
    provenance: dict = field(default_factory=dict)  # how it was made: epochs, iterations, data, time
    # The input contract. Fixed for now, but stored so that readers never have to assume it.
    channel_order: str = "RGB"
    input_range: tuple[float, float] = (-1.0, 1.0)
    normalization: str = "instance"
    format_version: int = FORMAT_VERSION

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "preset": self.preset,
            "generator": dataclasses.asdict(self.config),
            "size_multiple": self.size_multiple,
            "domains": {"source": self.source_domain, "target": self.target_domain},
            "direction": self.direction,
            "input": {"channel_order": self.channel_order, "layout": "NCHW", "range": list(self.input_range)},
            "normalization": self.normalization,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "model file") -> "ModelMeta":
        if data.get("format") != FORMAT:
            raise CganError(f"{source} is not a cgan generator (format {data.get('format')!r})")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise CganError(f"{source} has an invalid format version {version!r}: the file is corrupt")
        if version > FORMAT_VERSION:
            raise CganError(f"{source} has format version {version}, newer than this cgan reads "
                            f"({FORMAT_VERSION}): upgrade cgan (pip install -U cgan)")
        try:
            return cls(
                config=GeneratorConfig.from_dict(data["generator"]),
                preset=data.get("preset"),
                source_domain=data["domains"]["source"],
                target_domain=data["domains"]["target"],
                direction=data["direction"],
                provenance=data.get("provenance", {}),
                channel_order=data["input"]["channel_order"],
                input_range=tuple(data["input"]["range"]),
                normalization=data.get("normalization", "instance"),
                format_version=version,
            )
        except (KeyError, TypeError) as e:
            raise CganError(f"{source} has incomplete cgan metadata (missing {e}): the file is corrupt") from None


def new_meta(config: GeneratorConfig, preset: str | None = None, source_domain: str = "A",
             target_domain: str = "B", direction: str = "AtoB", **provenance) -> ModelMeta:
    """Metadata for a generator made now, with the creation time and cgan version recorded."""
    check_direction(direction)
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    provenance = {"created": created, "cgan_version": __version__, **provenance}
    return ModelMeta(config, preset, source_domain, target_domain, direction, provenance,
                     normalization=config.normalization)


def save_model(net: nn.Module, path: str | os.PathLike, meta: ModelMeta, overwrite: bool = True) -> Path:
    """Write ``net``'s weights and ``meta`` atomically to ``path`` (a ``.safetensors`` file)."""
    from safetensors.torch import save_file

    path = Path(path)
    refuse_overwrite(path, overwrite)
    # Unwrap DDP / torch.compile so the names are the plain module's.
    net = getattr(net, "module", net)
    net = getattr(net, "_orig_mod", net)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(meta.to_dict())})
    return path


def resolve_model_path(model: str | os.PathLike, direction: str = "AtoB") -> Path:
    """A model argument as a file: a run directory stands for its latest ``G_<direction>``."""
    path = Path(model)
    if path.is_dir():
        candidate = path / f"G_{check_direction(direction)}.safetensors"
        if not candidate.is_file():
            raise CganError(f"{path} is a directory without G_{direction}.safetensors: give a run directory "
                            f"written by cgan train, or a model file")
        return candidate
    if not path.exists():
        raise CganError(f"model file not found: {path}")
    return path


def read_meta(path: str | os.PathLike) -> ModelMeta:
    """The metadata of a model file, without loading its weights."""
    from safetensors import safe_open

    path = Path(path)
    _refuse_foreign_formats(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as e:  # safetensors raises its own error types for every kind of damage
        raise CganError(f"{path} is not a readable safetensors model file ({_first_line(e)}): "
                        f"the file is truncated or corrupt; export or download it again") from None
    if METADATA_KEY not in header:
        raise CganError(f"{path} is a safetensors file without cgan metadata: if it holds reference "
                        f"CycleGAN weights, convert them with cgan convert")
    try:
        data = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError:
        raise CganError(f"{path} has unreadable cgan metadata: the file is corrupt") from None
    return ModelMeta.from_dict(data, source=str(path))


def load_model(model: str | os.PathLike, direction: str = "AtoB", device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a generator from a model file (or a run directory) alone, in eval mode.

    The returned module carries its metadata as ``.meta`` (a ``ModelMeta``).
    """
    from safetensors.torch import load_file

    path = resolve_model_path(model, direction)
    meta = read_meta(path)
    try:
        tensors = load_file(str(path))
    except Exception as e:
        raise CganError(f"{path}: weights unreadable ({_first_line(e)}): the file is truncated or corrupt") from None
    net = build_generator(meta.config)
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError:
        raise CganError(f"{path}: the weights do not match the architecture in its metadata: "
                        f"the file is corrupt") from None
    net.meta = meta
    return net.to(device).eval()


def read_exported_meta(path: str | os.PathLike) -> tuple[ModelMeta, dict]:
    """The metadata of an exported model: ``.onnx`` (metadata_props) or ``.engine``/``.plan`` (its ``.json``
    sidecar). Also returns the whole record, with its ``export`` (and ``tensorrt``) sections."""
    path = Path(path)
    if not path.is_file():
        raise CganError(f"model file not found: {path}")
    if path.suffix.lower() == ".onnx":
        import onnx

        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as e:
            raise CganError(f"{path} is not a readable ONNX file ({_first_line(e)}): export it again") from None
        props = {p.key: p.value for p in model.metadata_props}
        if METADATA_KEY not in props:
            raise CganError(f"{path} has no cgan metadata: export it with cgan export")
        text, source = props[METADATA_KEY], str(path)
    else:
        sidecar = path.with_suffix(".json")
        if not sidecar.is_file():
            raise CganError(f"{path} has no sidecar {sidecar.name} beside it: keep the .json that cgan export "
                            f"--trt wrote next to the engine, or rebuild the engine")
        text, source = sidecar.read_text(), str(sidecar)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise CganError(f"{source} has unreadable cgan metadata: the file is corrupt") from None
    return ModelMeta.from_dict(data, source=source), data


def _refuse_foreign_formats(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise CganError(f"{path} is a PyTorch checkpoint, not a cgan model file: convert it with "
                        f"cgan convert {path} --preset {next(iter(PRESETS))} -o model.safetensors")
    if suffix in (".onnx", ".engine", ".plan"):
        raise CganError(f"{path} is an exported model: this step needs the .safetensors model file it came from")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
