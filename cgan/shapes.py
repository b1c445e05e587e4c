"""Tensor shapes as people write them (``1x3x64x64``): read once here for export, the runtime and the CLI."""
from __future__ import annotations

from .errors import CganError


def parse_shape(text: str, parts: int) -> tuple[int, ...]:
    """'1x3x64x64' -> (1, 3, 64, 64), with ``parts`` numbers required."""
    try:
        shape = tuple(int(v) for v in str(text).lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != parts or min(shape) < 1:
        example = "x".join(["1", "3", "256", "256"][-parts:])
        raise CganError(f"cannot read shape {text!r}: write {parts} positive numbers like {example}")
    return shape


def round_up(n: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``n``: the size a generator takes for a side of ``n``
    (the runtime pads to it and crops back)."""
    return -(-n // multiple) * multiple


def parse_dynamic_batch(text: str) -> int | None:
    """'dynamic' -> None (any batch), '4' -> 4."""
    if text == "dynamic":
        return None
    if not text.isdigit() or int(text) < 1:
        raise CganError(f"cannot read batch {text!r}: give a positive number or dynamic")
    return int(text)


def parse_dynamic_size(text: str) -> tuple[int, int] | None:
    """'dynamic' -> None (any height and width), '480x640' -> (480, 640): height x width, as in NCHW."""
    return None if text == "dynamic" else parse_shape(text, 2)
