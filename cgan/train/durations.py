"""Durations as people write them (--max-time 90s, 30m, 2h, 1h30m)."""
from __future__ import annotations

import re

from ..errors import CganError


def parse_duration(text: str | None) -> float | None:
    """'90' or '90s' -> 90.0, '30m' -> 1800.0, '1h30m' -> 5400.0, None -> None."""
    if text is None:
        return None
    text = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise CganError(f"cannot read duration {text!r}: write it like 90s, 30m, 2h or 1h30m")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
