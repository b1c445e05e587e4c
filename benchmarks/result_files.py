"""The stored results that RESULTS.md is rendered from (``benchmarks/results/``)."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def read_folder(name: str) -> list[dict]:
    """Every result file of one folder of ``results/``, in name order."""
    return [json.loads(p.read_text()) for p in sorted((RESULTS / name).glob("*.json"))]


def read_recorded(name: str) -> dict:
    return json.loads((RESULTS / "recorded" / f"{name}.json").read_text())
