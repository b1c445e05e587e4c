"""One generator = one ``.safetensors`` file: its weights plus JSON metadata. No pickle anywhere.

The metadata (under the safetensors metadata key ``"cgan"``) is the contract between the
stages: train writes it, export copies it into ONNX ``metadata_props`` and the engine's
sidecar, and the runtime reads input range, channel order and size multiple from it.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import CganError, first_line
from .fileio import atomic_path, refuse_overwrite
from .formats import exported_format, known_suffixes
from .presets import A_TO_B, DIRECTIONS, PRESETS, GeneratorConfig

if TYPE_CHECKING:  # PyTorch is needed only to save or load weights (cgan[train]); metadata reads without it
    import torch
    from torch import nn

FORMAT = "cgan-generator"
FORMAT_VERSION = 1
METADATA_KEY = "cgan"
RESUME_STATE_KEY = "cgan_state"  # the metadata key of a run's state.safetensors (train/state.py)
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
    direction: str = A_TO_B
    provenance: dict = field(default_factory=dict)  # how it was made: epochs, iterations, data, time
    # The input contract. Fixed for now, but stored so that readers never have to assume it.
    channel_order: str = "RGB"
    input_range: tuple[float, float] = (-1.0, 1.0)
    normalization: str = "instance"
    format_version: int = FORMAT_VERSION
    weights_sha256: str | None = None  # of the tensor data, written by save_model; None in files made before it

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
            **({"weights_sha256": self.weights_sha256} if self.weights_sha256 else {}),
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "model file") -> "ModelMeta":
        if not isinstance(data, dict):
            raise CganError(f"{source} has cgan metadata that is a {type(data).__name__}, not an object: the file is "
                            f"corrupt")
        if data.get("format") != FORMAT:
            raise CganError(f"{source} is not a cgan generator (format {data.get('format')!r})")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise CganError(f"{source} has an invalid format version {version!r}: the file is corrupt")
        if version > FORMAT_VERSION:
            raise CganError(f"{source} has format version {version}, newer than this cgan reads "
                            f"({FORMAT_VERSION}): upgrade cgan (pip install -U cgan)")
        try:
            meta = cls(
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
                weights_sha256=data.get("weights_sha256"),
            )
        except KeyError as e:
            raise CganError(f"{source} has incomplete cgan metadata (missing {e}): the file is corrupt") from None
        except TypeError:
            raise CganError(f"{source} has cgan metadata with a section of the wrong type: the file is corrupt") from None
        except CganError as e:
            raise CganError(f"{source} has invalid cgan metadata ({e}): the file is corrupt") from None
        meta._check_types(source)
        return meta

    def _check_types(self, source: str) -> None:
        """Every field read from a file has the type the code relies on."""
        text = {"preset": self.preset, "source domain": self.source_domain, "target domain": self.target_domain,
                "channel order": self.channel_order, "normalization": self.normalization,
                "weights checksum": self.weights_sha256}
        bad = [name for name, value in text.items() if value is not None and not isinstance(value, str)]
        if not isinstance(self.provenance, dict):
            bad.append("provenance")
        if len(self.input_range) != 2 or not all(type(v) in (int, float) for v in self.input_range):
            bad.append("input range")
        if self.direction not in DIRECTIONS:
            bad.append("direction")
        if bad:
            raise CganError(f"{source} has invalid cgan metadata ({', '.join(bad)}): the file is corrupt")


def new_meta(config: GeneratorConfig, preset: str | None = None, source_domain: str = "A",
             target_domain: str = "B", direction: str = A_TO_B, **provenance) -> ModelMeta:
    """Metadata for a generator made now, with the creation time and cgan version recorded."""
    check_direction(direction)
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    provenance = {"created": created, "cgan_version": __version__, **provenance}
    return ModelMeta(config, preset, source_domain, target_domain, direction, provenance,
                     normalization=config.normalization)


def save_model(net: nn.Module, path: str | os.PathLike, meta: ModelMeta, overwrite: bool = True) -> Path:
    """Write ``net``'s weights and ``meta`` atomically to ``path`` (a ``.safetensors`` file)."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    refuse_overwrite(path, overwrite)
    # Unwrap DDP / torch.compile so the names are the plain module's.
    net = getattr(net, "module", net)
    net = getattr(net, "_orig_mod", net)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in net.state_dict().items()}
    meta = dataclasses.replace(meta, weights_sha256=weights_checksum(tensors))
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(meta.to_dict())})
    return path


def weights_checksum(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order: a flipped bit changes it."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def resolve_model_path(model: str | os.PathLike, direction: str = A_TO_B) -> Path:
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
    from .images import has_image_signature

    if path.is_file() and has_image_signature(path):
        raise CganError(f"{path} is an image, not a model: give it as --source, and as the model a run directory, a "
                        f".safetensors model file or an exported file ({known_suffixes()})")
    return path


def read_meta(path: str | os.PathLike) -> ModelMeta:
    """The metadata of a model file, without loading its weights."""
    from safetensors import safe_open

    path = Path(path)
    _refuse_foreign_formats(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = f.metadata() or {}
    except Exception as e:  # safetensors raises its own error types for every kind of damage
        if path.suffix.lower() != ".safetensors":  # another format altogether (an OpenVINO .xml, a .tflite)
            raise CganError(f"{path.name} is not a file cgan runs: give a .safetensors model file, a run directory "
                            f"or an exported file ({known_suffixes()})") from None
        raise CganError(f"{path} is not a readable safetensors model file ({first_line(e)}): "
                        f"the file is truncated or corrupt; export or download it again") from None
    if METADATA_KEY not in header:
        if RESUME_STATE_KEY in header:
            raise CganError(f"{path} is a training run's resume state, not a generator: give the run directory "
                            f"({path.parent}) or one of its G_AtoB.safetensors, G_BtoA.safetensors")
        raise CganError(f"{path} is a safetensors file without cgan metadata: if it holds reference "
                        f"CycleGAN weights, convert them with cgan convert")
    return ModelMeta.from_dict(_parse_json(header[METADATA_KEY], str(path)), source=str(path))


def _record_inside(path: Path) -> dict:
    """cgan's record from a LiteRT file's metadata table or an OpenVINO IR's rt_info, after the file's check."""
    if path.suffix.lower() == ".tflite":
        from .tflite_file import read_tflite

        record, kind, flags = read_tflite(path).record, "a LiteRT model", "--format tflite --size HxW"
    else:
        from .ir_file import read_ir

        record, kind, flags = read_ir(path).record, "an OpenVINO IR", "--format openvino"
    if record is None:
        raise CganError(f"{path} is {kind} without cgan's metadata (made by another tool): export the model with cgan "
                        f"export MODEL {flags}, which records its domains, direction and input range")
    return record


def _parse_json(text: str, source: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise CganError(f"{source} has unreadable cgan metadata: the file is corrupt") from None


def load_model(model: str | os.PathLike, direction: str = A_TO_B, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a generator from a model file (or a run directory) alone, in eval mode.

    The returned module carries its metadata as ``.meta`` (a ``ModelMeta``).
    """
    import torch
    from safetensors.torch import load_file

    from .nets import build_generator

    path = resolve_model_path(model, direction)
    meta = read_meta(path)
    # The architecture is built on the meta device (no memory) and its shapes compared with the file's before
    # anything is allocated: metadata that declares a huge network next to small weights is refused, not built.
    with torch.device("meta"):
        skeleton = build_generator(meta.config)
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    stored, dtypes = _stored_shapes(path)
    if stored != expected:
        raise CganError(f"{path}: the weights do not match the architecture in its metadata: the file is corrupt")
    if dtypes - {"F32"}:
        raise CganError(f"{path}: weights stored as {', '.join(sorted(dtypes - {'F32'}))}, not float32: cgan did not "
                        f"write this file; convert the original weights with cgan convert")
    try:
        tensors = load_file(str(path))
    except Exception as e:
        raise CganError(f"{path}: weights unreadable ({first_line(e)}): the file is truncated or corrupt") from None
    _verify_checksum(path, meta, tensors)
    net = build_generator(meta.config)
    net.load_state_dict(tensors, strict=True)
    net.meta = meta
    return net.to(device).eval()


def _stored_shapes(path: Path) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """Each tensor's shape as the file's header declares it, and the dtypes used, without reading the data."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            slices = {name: f.get_slice(name) for name in f.keys()}
            return {name: tuple(s.get_shape()) for name, s in slices.items()}, {s.get_dtype() for s in slices.values()}
    except Exception as e:
        raise CganError(f"{path}: weights unreadable ({first_line(e)}): the file is truncated or corrupt") from None


def _verify_checksum(path: Path, meta: ModelMeta, tensors: dict[str, torch.Tensor]) -> None:
    """The weights are the ones saved (a flipped byte can turn -0.02 into 313) and all finite."""
    import torch

    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise CganError(f"{path}: weight {name} holds NaN or infinite values: the model is broken (training "
                            f"diverged); use an earlier checkpoint")
    if meta.weights_sha256 is None:
        logging.getLogger(__name__).warning(
            f"note: {path} has no checksum of its weights (written by an older cgan): damage to them cannot be "
            f"detected")
        return
    if weights_checksum(tensors) != meta.weights_sha256:
        raise CganError(f"{path}: the weights do not match their checksum: the file is damaged; copy or download "
                        f"it again")


def read_exported_meta(path: str | os.PathLike) -> tuple[ModelMeta, dict]:
    """The metadata of an exported model: ``.onnx`` (metadata_props), OpenVINO's ``.xml`` (its rt_info, read
    after the IR's text check), ``.tflite`` (its metadata table, read after the file's check), ``.ncnn.param`` or
    ``.engine``/``.plan`` (their ``.json`` sidecar). Also returns the whole record, with its ``export`` (and
    ``tensorrt``) sections."""
    path = Path(path)
    if path.suffix.lower() == ".mlpackage" and path.is_dir():  # a Core ML package is a folder
        from .coreml_file import check_coreml_spec

        text, source = check_coreml_spec(path), str(path)
    elif not path.is_file():
        raise CganError(f"model file not found: {path}")
    elif path.suffix.lower() == ".onnx":
        import onnx

        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as e:
            raise CganError(f"{path} is not a readable ONNX file ({first_line(e)}): export it again") from None
        props = {p.key: p.value for p in model.metadata_props}
        if METADATA_KEY not in props:
            raise CganError(f"{path} has no cgan metadata: export it with cgan export")
        text, source = props[METADATA_KEY], str(path)
    elif path.suffix.lower() in (".tflite", ".xml"):  # cgan's record inside the file, read after its check
        text, source = json.dumps(_record_inside(path)), str(path)
    else:
        sidecar = path.with_suffix(".json")  # (an engine's NAME.json; an ncnn pair's NAME.ncnn.json)
        if not sidecar.is_file():
            raise CganError(f"{path} has no sidecar {sidecar.name} beside it: keep the .json that cgan export "
                            f"wrote next to it, or export it again")
        text, source = sidecar.read_text(), str(sidecar)
    data = _parse_json(text, source)
    meta = ModelMeta.from_dict(data, source=source)
    for section in ("export", "tensorrt"):
        if not isinstance(data.get(section, {}), dict):
            raise CganError(f"{source} has an invalid {section} section: the file is corrupt")
    return meta, data


def _refuse_foreign_formats(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise CganError(f"{path} is a PyTorch checkpoint, not a cgan model file: convert it with "
                        f"cgan convert {path} --preset {next(iter(PRESETS))} -o model.safetensors")
    if exported_format(path):
        raise CganError(f"{path} is an exported model: this step needs the .safetensors model file it came from")

