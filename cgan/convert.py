"""Bring a generator checkpoint of the reference PyTorch CycleGAN code into a cgan model file."""
from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from .errors import CganError, first_line
from .modelfile import ModelMeta, new_meta
from .presets import A_TO_B, B_TO_A
from .nets import build_generator, preset_config

# Old checkpoints (before PyTorch 0.4) stored running statistics for InstanceNorm layers,
# which the reference code strips on load; so do we.
_OBSOLETE_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a ``.pth`` checkpoint, read without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise CganError(f"checkpoint not found: {path}")
    _refuse_inflating(path)
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the outcome is reported below
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():  # the weights-only unpickler met a reference to a Python callable
            raise CganError(f"{path} holds Python objects besides tensors, which cgan never unpickles (they can run "
                            f"code): give a checkpoint of the generator's state_dict, such as latest_net_G_A.pth") from None
        raise CganError(f"{path} is not a checkpoint written by torch.save (or it is damaged): give a generator file "
                        f"such as latest_net_G_A.pth") from None
    except Exception as e:  # damaged or foreign files fail in many ways inside the unpickler
        reason = first_line(e).split(". ")[0]
        raise CganError(f"{path} is not a readable PyTorch checkpoint ({reason[:160]}): give a generator file such "
                        f"as latest_net_G_A.pth") from None
    for key in ("state_dict", "model"):  # wrappers some training scripts add
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CganError(f"{path} does not hold a state dict of tensors: give a generator checkpoint "
                        f"such as latest_net_G_A.pth")
    return {k.removeprefix("module."): v for k, v in data.items()}


# The most a generator checkpoint holds once read: resnet9 at ngf 64 is 45 MB, at ngf 128 180 MB.
MAX_CHECKPOINT_BYTES = 1 << 30


def _refuse_inflating(path: Path) -> None:
    """A checkpoint whose contents would take more than ``MAX_CHECKPOINT_BYTES`` is refused before it is read.
    torch.save writes a zip archive whose entries are stored, not compressed, but a zip can declare deflated
    entries: 4.7 MB can inflate to 4 GiB. The archive's directory says each entry's size without inflating it.
    (The legacy format is no archive: what it holds is no larger than the file.)"""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CganError(f"{path} is a damaged zip archive ({first_line(e)}): give a generator file such as "
                        f"latest_net_G_A.pth") from None
    if total > MAX_CHECKPOINT_BYTES:
        raise CganError(f"{path} would take {total / 2**30:.1f} GB once read, more than any generator checkpoint "
                        f"({MAX_CHECKPOINT_BYTES / 2**30:.0f} GB at most): it is not a cgan-convertible generator")


def direction_from_name(path: str | os.PathLike) -> str:
    """The reference code's G_A maps A to B and its G_B maps B to A."""
    return B_TO_A if "G_B" in Path(path).name else A_TO_B


def load_matching(net: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``net``, requiring every tensor to match by name and shape."""
    expected = net.state_dict()
    state = {k: v for k, v in state.items() if k in expected or not k.endswith(_OBSOLETE_SUFFIXES)}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
                  if k in state and state[k].shape != v.shape]
    if missing or unexpected or mismatched:
        parts = [f"{label} ({len(items)}): {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
                 for label, items in (("missing", missing), ("unexpected", unexpected),
                                      ("wrong shape", mismatched)) if items]
        hint = ""
        stem = next((v for v in state.values() if v.ndim == 4), None)  # the first conv: ngf filters
        if stem is not None:
            hint = f" (its first layer has {stem.shape[0]} filters: try --ngf {stem.shape[0]})"
        raise CganError(f"{source} does not fit this preset: {'; '.join(parts)}; pick the preset and "
                        f"--ngf it was trained with{hint}")
    net.load_state_dict({k: state[k] for k in expected})


def convert_checkpoint(checkpoint: str | os.PathLike, preset: str, ngf: int | None = None,
                       name_a: str = "A", name_b: str = "B", direction: str | None = None) -> tuple[nn.Module, ModelMeta]:
    """A reference-code generator checkpoint as a cgan generator and its metadata."""
    config = preset_config(preset, ngf=ngf)
    net = build_generator(config)
    load_matching(net, read_state_dict(checkpoint), str(checkpoint))
    direction = direction or direction_from_name(checkpoint)
    source, target = (name_a, name_b) if direction == A_TO_B else (name_b, name_a)
    meta = new_meta(config, preset, source, target, direction, converted_from=Path(checkpoint).name)
    return net.eval(), meta
