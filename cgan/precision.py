"""One precision vocabulary for every command and backend: fp32, fp16, bf16, int8.

``half`` is the one alias: the device's fast reduced precision (fp16 on CUDA, bf16 on CPUs
with bf16 instructions, else fp32). ``--half`` and ``--fp16`` are short flags for
``--precision half`` and ``--precision fp16``; both are resolved here and nowhere else.
"""
from __future__ import annotations

from .errors import CganError

PRECISIONS = ("fp32", "fp16", "bf16", "int8")
HALF = "half"
# What each consumer supports today (int8 comes with quantised exports).
TORCH_PRECISIONS = ("fp32", "fp16", "bf16")  # the PyTorch backend: fp16 on CUDA, bf16 on CPUs with it
EXPORT_PRECISIONS = ("fp32", "fp16", "int8")  # ONNX export (int8: statically quantised, for students)
# What each short flag may stand for: it contradicts an explicit --precision outside this set.
_SHORT_FLAGS = {"--half": (HALF, {"fp16", "bf16"}), "--fp16": ("fp16", {"fp16"})}


def precision_from_flags(precision: str | None, *, half: bool = False, fp16: bool = False) -> str | None:
    """``--precision`` combined with its short flags; None when none was given."""
    for flag, given in (("--half", half), ("--fp16", fp16)):
        if not given:
            continue
        alias, compatible = _SHORT_FLAGS[flag]
        if precision is not None and precision not in compatible:
            raise CganError(f"{flag} contradicts --precision {precision}: give one of them")
        return precision or alias
    return precision


def check_precision(precision: str, allowed: tuple[str, ...] = PRECISIONS, what: str = "this step") -> str:
    """``precision`` if ``what`` supports it, else a CganError listing what it does support."""
    if precision not in allowed:
        known = "" if precision in PRECISIONS or precision == HALF else f" (the precisions are {', '.join(PRECISIONS)})"
        raise CganError(f"{what} does not run in {precision}{known}: choose one of {', '.join(allowed)}")
    return precision


def resolve_precision(precision: str | None, device) -> str:
    """The precision to run in on ``device`` (a torch.device): ``half`` resolved, None meaning fp32."""
    if precision is None:
        return "fp32"
    if precision != HALF:
        return check_precision(precision)
    from .devices import cpu_has_fast_bf16

    if device.type == "cuda":
        return "fp16"
    return "bf16" if device.type == "cpu" and cpu_has_fast_bf16() else "fp32"
