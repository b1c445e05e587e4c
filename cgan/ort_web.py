"""onnxruntime-web's files for an exported page: from the npm registry's release tarball, checked against the
integrity hash the registry publishes for it (pinned here, the one place its version is named), kept in the cache;
or from a local copy (``--ort-web DIR``: an unpacked package, its ``dist/``, or a folder holding the files).

A page holds two builds and its visitors fetch one: the WebAssembly build (its loader script, the module that starts
the wasm, and the 14 MB wasm), and the WebGPU-capable build (the same three, 28 MB), fetched only by a browser that
offers a WebGPU adapter.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from .cache import cache_root, usable_cache
from .errors import CganError
from .fileio import atomic_folder

ORT_WEB_VERSION = "1.30.0"
# npm's "dist.integrity" of onnxruntime-web@1.30.0 (https://registry.npmjs.org/onnxruntime-web/1.30.0)
ORT_WEB_INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
TARBALL_URL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{ORT_WEB_VERSION}.tgz"
WASM_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
WEBGPU_FILES = ("ort.min.js", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm")
PAGE_RUNTIME_FILES = WASM_FILES + WEBGPU_FILES
MAX_TARBALL_BYTES = 200 * 2**20  # the 1.30.0 tarball is 33 MB
DOWNLOAD_SECONDS = 300


def ort_web_files(local: str | os.PathLike | None = None) -> Path:
    """A folder holding ``PAGE_RUNTIME_FILES``: ``local`` (checked), else the cached copy, else downloaded and
    checked."""
    if local is not None:
        return _local_copy(Path(local))
    folder = cache_root() / "ort-web" / ORT_WEB_VERSION
    if all((folder / name).is_file() for name in PAGE_RUNTIME_FILES):
        return folder
    data = _download(TARBALL_URL)
    if integrity_of(data) != ORT_WEB_INTEGRITY:
        raise CganError(f"the onnxruntime-web {ORT_WEB_VERSION} tarball from {TARBALL_URL} does not match the "
                        f"registry's integrity hash: it was altered on the way; nothing was kept. Try again, or give "
                        f"a checked copy with --ort-web DIR")
    usable_cache(folder.parent)
    with atomic_folder(folder) as staging:  # replaces a copy that lacks files
        _unpack_wasm_files(data, staging)
    return folder


def integrity_of(data: bytes) -> str:
    """npm's integrity string (Subresource Integrity form) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _local_copy(folder: Path) -> Path:
    for candidate in (folder, folder / "dist", folder / "package" / "dist", folder / "node_modules" /
                      "onnxruntime-web" / "dist"):
        if all((candidate / name).is_file() for name in PAGE_RUNTIME_FILES):
            return candidate
    raise CganError(f"--ort-web {folder} does not hold onnxruntime-web's {', '.join(PAGE_RUNTIME_FILES)}: give the "
                    f"unpacked package (npm install onnxruntime-web@{ORT_WEB_VERSION}: node_modules/onnxruntime-web) "
                    f"or its dist/ folder")


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_SECONDS) as answer:
            data = answer.read(MAX_TARBALL_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CganError(f"cannot download onnxruntime-web {ORT_WEB_VERSION} from {url} ({reason}): give a local "
                        f"copy with --ort-web DIR (npm install onnxruntime-web@{ORT_WEB_VERSION} on a machine "
                        f"that can reach the registry)") from None
    if len(data) > MAX_TARBALL_BYTES:
        raise CganError(f"{url} is larger than {MAX_TARBALL_BYTES >> 20} MB: not the onnxruntime-web tarball")
    return data


def _unpack_wasm_files(data: bytes, folder: Path) -> None:
    """Only ``PAGE_RUNTIME_FILES`` from ``package/dist/``, written by name (no path from the archive is used)."""
    wanted = {f"package/dist/{name}": name for name in PAGE_RUNTIME_FILES}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.name in wanted and member.isfile():
                (folder / wanted.pop(member.name)).write_bytes(archive.extractfile(member).read())
    if wanted:
        raise CganError(f"the onnxruntime-web tarball lacks {', '.join(wanted)}")
