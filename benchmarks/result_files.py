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


# Defaults that changed after some results were stored: how such a result's settings show it, the options that
# repeat it now, and what a caption says of it. quality.py records both values from the changes on.
CHANGED_DEFAULTS = (
    # --max-time fits the learning rate's decay to the run (2026-12-07); before, the benchmark held it constant
    (lambda settings: settings.get("epochs_decay") == 0, "epochs=1000 epochs_decay=0", "constant rate"),
    # --objective gan's identity loss on B is on by default (2026-12-07); before, it was off and not recorded
    (lambda settings: settings.get("objective") == "gan" and "lambda_identity_b" not in settings,
     "lambda_identity_b=0", "no identity loss on B"),
)


def older_defaults(settings: dict) -> list[tuple[str, str]]:
    """(options that repeat it, caption) for each changed default that a result's ``settings`` were measured under."""
    return [(options, caption) for measured_under, options, caption in CHANGED_DEFAULTS if measured_under(settings)]
