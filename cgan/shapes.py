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
