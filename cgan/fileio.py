"""Writes that a crash cannot half-finish, and the no-overwrite rule for user outputs."""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import CganError


def _default_file_mode() -> int:
    # mkstemp creates files readable by their owner only; a finished output gets the usual mode instead.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_file_mode()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    A kill at any instant leaves either the old file or the complete new one, never a torn
    one; on an exception the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        reason = _out_of_space(e)
        if reason:
            raise CganError(f"could not write {path} ({reason}): the previous version of it is kept; free some "
                            f"space and run again (training continues with --resume)") from None
        raise
    _fsync_dir(path.parent)


_SPACE_ERRORS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # a full disk, the file size limit, a quota


def _out_of_space(error: BaseException) -> str | None:
    """Why a write failed for lack of space, or None. Writers in Rust (safetensors) report the OS error only in
    their message, as "(os error N)"."""
    if isinstance(error, OSError) and error.errno in _SPACE_ERRORS:
        return error.strerror
    for code in _SPACE_ERRORS:
        if f"(os error {code})" in str(error):
            return os.strerror(code)
    return None


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; some file systems do not allow opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def refuse_overwrite(path: str | os.PathLike, overwrite: bool) -> None:
    """Raise a CganError if ``path`` exists and the user did not ask to overwrite it."""
    if not overwrite and Path(path).exists():
        raise CganError(f"{path} already exists: choose another output or pass --overwrite")


def numbered_path(path: str | os.PathLike) -> Path:
    """``path`` if it is free, else the first free ``path-2``, ``path-3``, ..."""
    path = Path(path)
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def printable(path: str | os.PathLike) -> str:
    """A path as a person can read it: bytes of a name that is not UTF-8 shown as the replacement character."""
    return os.fsencode(path).decode("utf-8", "replace")
