"""What ``cgan benchmark`` measures, as named fields passed from the CLI to ``bench.inference.benchmark``."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import CganError
from ..option_fields import option_field

BACKENDS = ("torch", "onnxruntime", "openvino", "ncnn", "litert", "tensorrt")
DEVICES = ("auto", "cpu", "cuda")


def parse_names(text: str) -> tuple[str, ...]:
    """'torch, onnxruntime' -> ('torch', 'onnxruntime')."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def parse_numbers(text: str) -> tuple[int, ...]:
    """'1,4' -> (1, 4)."""
    try:
        return tuple(int(number) for number in text.split(","))
    except ValueError:
        raise CganError(f"cannot read --batch {text!r}: give numbers like 1,4") from None


@dataclass(frozen=True)
class BenchmarkOptions:
    """Which backends, sizes and batch sizes to measure, what besides fp32 eager, where, and for how long."""

    backends: tuple[str, ...] = option_field(BACKENDS, "Backends to measure; those not available here are listed as "
                                                       "skipped.", parse=parse_names, shown=",".join(BACKENDS))
    sizes: str = option_field("256,512,720p,1080p", "256, 512, 720p, 1080p or HxW.")
    batches: tuple[int, ...] = option_field((1, 4), "Batch sizes.", flag="--batch", parse=parse_numbers,
                                            shown="1,4")
    also_half: bool = option_field(True, "Also measure reduced precision (--half, its old name, means 'run in it' "
                                         "elsewhere).", aliases=("--half",))
    also_compiled: bool = option_field(False, "Also measure PyTorch compiled by torch.compile (--compile, its old "
                                              "name, means 'run compiled' elsewhere).", aliases=("--compile",))
    pipeline: bool = option_field(True, "Also measure the end-to-end video pipeline (640x360 clip).")
    max_seconds: float = option_field(30.0, "Time cap per row.")
    device: str = option_field("auto", "Where to measure; the baseline is PyTorch fp32 eager on the same device.",
                               choices=DEVICES)
    calib: str | None = option_field(None, "Images for int8 calibration: adds int8 rows for students (cgan distill).")

    def __post_init__(self) -> None:
        # lists from callers become tuples: the options stay hashable
        object.__setattr__(self, "backends", tuple(self.backends))
        object.__setattr__(self, "batches", tuple(self.batches))
        unknown = sorted(set(self.backends) - set(BACKENDS))
        if unknown or not self.backends:
            raise CganError(f"unknown backends {', '.join(unknown) or '(none given)'}: choose from "
                            f"{', '.join(BACKENDS)}")
        if not self.batches or min(self.batches) < 1:
            raise CganError(f"--batch sizes must be at least 1, not {','.join(map(str, self.batches))}")
        if not self.max_seconds > 0:
            raise CganError("--max-seconds must be more than 0")
        if self.device not in DEVICES:
            raise CganError(f"unknown device {self.device!r}: choose one of {', '.join(DEVICES)}")


def benchmark_options(options: BenchmarkOptions | None = None, **fields) -> BenchmarkOptions:
    """``options`` (default: the defaults) with ``fields`` changed: ``benchmark_options(batches=[1])``."""
    return dataclasses.replace(options or BenchmarkOptions(), **fields)
