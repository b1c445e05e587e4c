"""Which device to run on, and what it does fast; shared by training and the runtime."""
from __future__ import annotations

import torch

from .errors import CganError


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU has bf16 instructions that oneDNN uses (AVX-512 BF16 or AMX)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA if PyTorch sees a GPU, else CPU), ``cpu``, ``cuda`` (this process's GPU) or ``cuda:N``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise CganError("--device cuda but no CUDA GPU is visible to PyTorch: use --device cpu, or install a "
                            "CUDA build of PyTorch")
        return torch.device(name if ":" in name else f"cuda:{local_rank}")
    if name != "cpu":
        raise CganError(f"unknown device {name!r}: choose auto, cpu, cuda or cuda:N")
    return torch.device("cpu")
