"""Where cgan keeps what it can rebuild but would rather not: compiled models, between runs."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import CganError


def cache_root() -> Path:
    """``$CGAN_CACHE``, else ``$XDG_CACHE_HOME/cgan``, else ``~/.cache/cgan``."""
    root = os.environ.get("CGAN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "cgan")
    return Path(root).expanduser()


def usable_cache(folder: Path) -> Path:
    """``folder`` created if needed; a CganError that names the cache (not the model being cached) when it cannot
    be: a file in its place, no permission."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CganError(f"cannot use the cache folder {folder} ({e.strerror}): point CGAN_CACHE at a folder you can "
                        f"write to") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CganError(f"cannot write to the cache folder {folder}: point CGAN_CACHE at a folder you can write to")
    return folder
