"""Where cgan keeps what it can rebuild but would rather not: compiled models, between runs."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$CGAN_CACHE``, else ``$XDG_CACHE_HOME/cgan``, else ``~/.cache/cgan``."""
    root = os.environ.get("CGAN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "cgan")
    return Path(root).expanduser()
