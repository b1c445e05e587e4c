"""Resume state without pickle: tensors in safetensors, everything else as JSON beside them.

A state is a tree of dicts (any int or str keys), lists, tuples, tensors and plain scalars,
such as optimiser ``state_dict()``s, RNG states and image pools. Reading one never executes
anything from the file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import CganError
from ..fileio import atomic_path
from ..modelfile import RESUME_STATE_KEY

STATE_KEY = RESUME_STATE_KEY  # (modelfile names a state file given as a model)
STATE_VERSION = 1


def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"t": key}
    if isinstance(obj, dict):
        return {"d": [[k, _encode(v, f"{key}/{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"l" if isinstance(obj, list) else "u": [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"v": obj}
    raise TypeError(f"cannot store {type(obj).__name__} in a training state")


def _decode(node: dict, tensors: dict[str, torch.Tensor]) -> Any:
    (kind, value), = node.items()
    if kind == "t":
        return tensors[value]
    if kind == "d":
        return {k: _decode(v, tensors) for k, v in value}
    if kind in ("l", "u"):
        items = [_decode(v, tensors) for v in value]
        return items if kind == "l" else tuple(items)
    if kind == "v":
        return value
    raise ValueError(f"unknown node {kind!r}")


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` atomically: a kill at any instant leaves the previous state or this one."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    tree = _encode(state, "", tensors)
    header = json.dumps({"version": STATE_VERSION, "tree": tree})
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={STATE_KEY: header})


def load_state(path: str | os.PathLike) -> dict:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        if (path.parent / "config.yaml").is_file():
            raise CganError(f"{path.parent} stopped before its first checkpoint, so there is nothing to resume: start "
                            f"it again with the same --out (the folder is reused)")
        raise CganError(f"no training state at {path}: --resume needs a run directory written by cgan train")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = json.loads((f.metadata() or {})[STATE_KEY])
        tensors = load_file(str(path))
        if header["version"] > STATE_VERSION:
            raise CganError(f"{path} was written by a newer cgan: upgrade cgan (pip install -U cgan)")
        return _decode(header["tree"], tensors)
    except CganError:
        raise
    except Exception as e:  # any damage: bad header, missing key, truncated data
        raise CganError(f"{path} is damaged ({type(e).__name__}): resume from another run or start a new one") from None
