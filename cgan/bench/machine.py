"""What machine a number was measured on, and what its arithmetic can do at best (matmul ceilings).

PyTorch is optional here: the light install benchmarks exported models, and measures its fp32 ceiling
with numpy's matrix multiply instead (the result names which library measured it)."""
from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from importlib import metadata

import numpy as np

from ..devices import cpu_flags, cpu_has_fast_bf16, cuda_visible
from ..extras import torch_installed

# Instruction sets that decide which kernels the engines choose, named with every measurement.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> dict:
    """CPU, cores, GPU and the versions of the libraries that decide speed."""
    versions = {}
    for package in ("torch", "onnxruntime", "onnxruntime-gpu", "openvino", "onnx", "opencv-python", "numpy", "tensorrt",
                    "ncnn", "ai-edge-litert", "litert-quantizer"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    flags = cpu_flags()
    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": [f for f in SPEED_FLAGS if f in flags],
        "cpu_bf16": cpu_has_fast_bf16(),
        "gpu": None,
        "python": platform.python_version(),
        "versions": versions,
    }
    if torch_installed():
        import torch

        machine["torch_threads"] = torch.get_num_threads()
        machine["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return machine


def _median_seconds(product, synchronize=lambda: None, repeats: int = 7) -> float:
    """The median time of ``repeats`` calls of ``product`` after one that warms up the kernels."""
    times = []
    for i in range(repeats + 1):
        synchronize()
        start = time.perf_counter()
        product()
        synchronize()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(dtype, device: str = "cpu", n: int = 2048, repeats: int = 7) -> float:
    """Best sustained PyTorch matrix-multiply rate: the median of ``repeats`` n x n products, in GFLOP/s."""
    import torch

    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    synchronize = torch.cuda.synchronize if device == "cuda" else lambda: None
    return 2 * n**3 / _median_seconds(lambda: torch.mm(a, b), synchronize, repeats) / 1e9


def numpy_matmul_gflops(n: int = 2048, repeats: int = 7) -> float:
    """The same ceiling measured with numpy's float32 matrix multiply (its BLAS), for installs without PyTorch."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    return 2 * n**3 / _median_seconds(lambda: a @ b, repeats=repeats) / 1e9


def ceilings() -> dict:
    """GFLOP/s ceilings per (device, precision) present on this machine (PyTorch's kernels where installed)."""
    if not torch_installed():
        return {"cpu fp32": numpy_matmul_gflops()}
    import torch

    found = {"cpu fp32": matmul_gflops(torch.float32)}
    if cpu_has_fast_bf16():
        found["cpu bf16"] = matmul_gflops(torch.bfloat16)
    if cuda_visible():
        found["cuda fp32"] = matmul_gflops(torch.float32, "cuda", 4096)
        found["cuda fp16"] = matmul_gflops(torch.float16, "cuda", 4096)
    return found


def resident_mb() -> float | None:
    """This process's resident memory now (not its peak), from /proc (None where there is none)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return None


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every few milliseconds (Linux /proc)."""

    def __init__(self) -> None:
        self.peak_mb: float | None = None

    def __enter__(self) -> "PeakMemory":
        self._base = resident_mb()
        self._max = self._base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            now = resident_mb()
            if now is not None and self._max is not None:
                self._max = max(self._max, now)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._base is not None:
            self.peak_mb = max(0.0, self._max - self._base)
