"""Resolve the constraints the way a fresh install would (pip --dry-run, ignoring what is installed), and
check that every package of each install CI makes is pinned: the full install (every extra but gpu and tflite)
by constraints.txt, and the LiteRT converter's side install by constraints-tflite.txt. An unresolvable or missing
pin fails CI instead of a user's install."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLS = {  # constraints file -> what is installed with it
    "constraints.txt": [".[all,dev]"],
    "constraints-tflite.txt": [".[train,tflite]", "pytest", "hypothesis"],
}


def unresolved(constraints: str, requirements: list[str]) -> str | None:
    """Why ``requirements`` do not install under ``constraints`` fully pinned, or None where they do."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                               "--report", str(report), "-c", constraints, *requirements],
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            return f"{constraints} does not resolve:\n{done.stderr}"
        resolved = {_normalised(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]}
    lines = (ROOT / constraints).read_text().splitlines()
    pinned = {_normalised(re.split(r"[=<>!~ ]", line, 1)[0])
              for line in lines if line.strip() and not line.startswith("#")}
    unpinned = sorted(resolved - pinned - {"cgan"})
    if unpinned:
        return f"not pinned in {constraints}: {', '.join(unpinned)}"
    print(f"{constraints} resolves: {len(resolved)} packages, all pinned")
    return None


def _normalised(name: str) -> str:
    """A package's name as pip compares it (case and ``_`` against ``-`` do not matter)."""
    return name.lower().replace("_", "-")


def main() -> int:
    failures = [problem for constraints, requirements in INSTALLS.items()
                if (problem := unresolved(constraints, requirements)) is not None]
    for problem in failures:
        print(problem, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
