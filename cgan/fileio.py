"""Writes that a crash cannot half-finish, and the no-overwrite rule for user outputs."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import CganError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp and mkdtemp make files and folders their owner's alone; a finished output gets the usual modes instead.
FILE_MODE = 0o666 & ~_umask()
FOLDER_MODE = 0o777 & ~_umask()


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
        if tmp.is_symlink() or not tmp.is_file():  # replaced behind our back: never rename a planted link
            raise CganError(f"the temporary file for {path} was replaced while it was written: write somewhere "
                            f"that other users cannot change")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        _raise_if_out_of_space(path, e)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success rename it to ``path`` (a folder already there is
    moved aside first and removed after), so that ``path`` is the old folder or the complete new one. On an
    exception the temporary folder is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(staging, FOLDER_MODE)
        yield staging
        old = path.with_name(f".{path.name}.replaced") if path.exists() else None
        if old is not None:
            _remove(old)
            path.rename(old)
        staging.rename(path)
        if old is not None:
            _remove(old)
    except BaseException as e:
        _raise_if_out_of_space(path, e)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _fsync_dir(path.parent)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


_SPACE_ERRORS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # a full disk, the file size limit, a quota


def _raise_if_out_of_space(path: Path, error: BaseException) -> None:
    reason = _out_of_space(error)
    if reason:
        raise CganError(f"could not write {path} ({reason}): the previous version of it is kept; free some "
                        f"space and run again (training continues with --resume)") from None


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
    """``data`` written to a new temporary file beside ``path`` through the descriptor that created it (never
    reopened by name, so nothing planted in its place is followed), then renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException as e:
        Path(tmp_name).unlink(missing_ok=True)
        _raise_if_out_of_space(path, e)
        raise
    _fsync_dir(path.parent)


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


def plural(count: int, noun: str) -> str:
    """``noun`` as ``count`` of it reads: 1 frame, 2 frames."""
    return noun if count == 1 else f"{noun}s"


def safe_component(text: str, fallback: str) -> str:
    """``text`` (a domain name from a model's metadata, say) as one harmless file-name component: path
    separators, control characters and a leading dot replaced, at most 64 characters; ``fallback`` if nothing
    is left. A name such as ``x/../../tmp/escaped`` must not steer an output out of its folder."""
    cleaned = "".join("_" if ch in "/\\:" or not ch.isprintable() else ch for ch in text).strip().lstrip(".")
    return cleaned[:64] or fallback


def escape_control(text: str) -> str:
    """``text`` with control characters (terminal escapes, newlines) shown escaped, as Python writes them: a
    name from a file must not recolour the terminal or forge an ``error:`` line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(text))


class FileLock:
    """An exclusive ``fcntl`` lock on ``path`` for as long as the object lives (or until ``release``): a second
    process asking for it gets a CganError naming ``what`` and the holder's process id. The kernel drops the lock
    when its holder dies, so a crash leaves no stale lock, only a file that the next holder reuses."""

    def __init__(self, path: str | os.PathLike, what: str, remove: bool = False) -> None:
        import fcntl

        self.path, self.remove = Path(path), remove
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise CganError(f"{what} is in use by another cgan process (pid {holder}): wait for it to finish, "
                                f"or choose another output") from None
            # A holder that removes its lock file may have done so after we opened it: then lock the new file.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                    break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is None:
            return
        if self.remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "FileLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
