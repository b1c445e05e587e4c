"""Which device to run on, and what it does fast; shared by training, the runtime and the benchmarks."""
from __future__ import annotations

import os

from .errors import CganError

DEVICE_NAMES = "auto, cpu, cuda or cuda:N (or openvino:GPU, openvino:NPU with --backend openvino)"


def check_device_name(name: str) -> str:
    """``name`` if it is a device cgan knows (without looking for the device itself), else a CganError."""
    index = name[5:] if name.startswith("cuda:") else "0"
    openvino = name.startswith("openvino:") and len(name) > len("openvino:")
    if name not in ("auto", "cpu", "cuda") and not (name.startswith("cuda:") and index.isdigit()) and not openvino:
        raise CganError(f"unknown --device {name!r}: choose {DEVICE_NAMES}")
    return name


def cuda_visible() -> bool:
    """Whether PyTorch is installed and sees a CUDA GPU (False without PyTorch: exported models run without it)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def cpu_flags() -> set[str]:
    """The instruction-set flags this CPU reports (Linux's /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# oneDNN's instruction-set ceilings (ONEDNN_MAX_CPU_ISA) that still include bf16 instructions
BF16_ISAS = {"ALL", "DEFAULT", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
             "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2"}


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU has bf16 instructions that oneDNN uses (AVX-512 BF16 or AMX): PyTorch's own answer where
    it is installed, else the CPU's flags. An ``ONEDNN_MAX_CPU_ISA`` below bf16 (how a CPU without it is measured
    on one with it: OpenVINO's and PyTorch's oneDNN honour it) answers no, as that CPU would."""
    ceiling = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL").upper()
    if ceiling not in BF16_ISAS:
        return False
    try:
        import torch
    except ImportError:
        return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def device_kind(name: str) -> str:
    """``cuda`` or ``cpu``: what ``name`` runs on here (``auto``: CUDA if PyTorch sees a GPU; the CPU without
    PyTorch); a CganError when CUDA is asked for and none is visible."""
    check_device_name(name)
    if name.startswith("openvino:"):
        raise CganError(f"--device {name} is an OpenVINO device: it needs --backend openvino and an .onnx model")
    if name == "cpu" or (name == "auto" and not cuda_visible()):
        return "cpu"
    if not cuda_visible():
        raise CganError("--device cuda but no CUDA GPU is visible to PyTorch: use --device cpu, or install a "
                        "CUDA build of PyTorch")
    return "cuda"


def pick_device(name: str, local_rank: int = 0):
    """The torch.device for ``name`` (see ``device_kind``); plain ``cuda`` is this process's GPU."""
    import torch

    if device_kind(name) == "cpu":
        return torch.device("cpu")
    return torch.device(name if ":" in name else f"cuda:{local_rank}")


def autocast_settings(device, amp: bool) -> tuple[dict, bool]:
    """torch.autocast keyword arguments for training on ``device`` with ``amp``, and whether gradients need
    scaling: fp16 with scaling on CUDA, bf16 on CPUs with bf16 instructions, else off."""
    import torch

    if amp and device.type == "cuda":
        return {"device_type": "cuda", "dtype": torch.float16, "enabled": True}, True
    bf16_ok = amp and device.type == "cpu" and cpu_has_fast_bf16()
    return {"device_type": device.type, "dtype": torch.bfloat16, "enabled": bf16_ok}, False


def available_memory() -> int | None:
    """Bytes of memory this machine can give a process now without swapping (Linux's MemAvailable), or None
    where that is not known."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
