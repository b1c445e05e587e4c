"""Where translated frames go: image files, a video file (video.py), a window."""
from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import CganError
from ..fileio import FileLock, atomic_write_bytes
from .frames import Frame

class ImageFolderSink:
    """Each output under ``root`` with its source's relative name and format."""

    stop_requested = False

    def __init__(self, root: Path, overwrite: bool, single_file: Path | None = None) -> None:
        self.root, self.overwrite, self.single_file = root, overwrite, single_file
        self.written = 0
        self.notes: list[str] = []
        # Two cgan runs writing one folder (or file) would mix their outputs: the second is refused.
        lock = single_file.with_name(f".{single_file.name}.lock") if single_file else root / ".cgan-output.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(lock, f"the output {self.output}", remove=True)

    @property
    def output(self) -> Path:
        return self.single_file or self.root

    def target(self, name: str) -> Path:
        return self.single_file or self.root / name

    def write(self, frame: Frame, image: np.ndarray) -> None:
        target = self.target(frame.name)
        if not self.overwrite and target.exists():
            raise CganError(f"{target} already exists: choose another --out or pass --overwrite")
        atomic_write_bytes(target, encode_image(image, target.suffix, frame.header))
        self.written += 1

    def close(self) -> None:
        self.lock.release()

    def abort(self) -> None:
        self.lock.release()


# Formats whose files hold EXIF and an ICC profile, as Pillow names them: a translated photo keeps its camera's
# data and its colour profile (the orientation reset: outputs are stored upright).
METADATA_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}


def encode_image(image: np.ndarray, suffix: str, header=None) -> bytes:
    """An RGB uint8 image as the bytes of a file ending in ``suffix`` (PNG where there is none), keeping ``header``'s
    EXIF and colour profile (the source photo's ``ImageHeader``) where the format holds them."""
    if header and (header.exif or header.icc_profile) and suffix.lower() in METADATA_FORMATS:
        return _with_metadata(image, METADATA_FORMATS[suffix.lower()], header)
    ok, encoded = cv2.imencode(suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CganError(f"OpenCV cannot write {suffix} files: use a name ending in .png or .jpg")
    return encoded.tobytes()


def _with_metadata(image: np.ndarray, format: str, header) -> bytes:
    import io

    from PIL import Image

    extra = {"quality": 95} if format in ("JPEG", "WEBP") else {}  # OpenCV's default quality, as other outputs
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format, **({"exif": header.exif} if header.exif else {}),
                                **({"icc_profile": header.icc_profile} if header.icc_profile else {}), **extra)
    return buffer.getvalue()


def require_writable_folder(folder: Path) -> None:
    """``folder`` (or the nearest existing folder above it, where it will be made) can be written to."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CganError(f"{existing} is a file, not a folder: choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CganError(f"cannot write to {existing} (permission denied): choose another --out")


GUI_HINT = ("this OpenCV has no windows (cgan installs opencv-python-headless): pip uninstall "
            "opencv-python-headless && pip install opencv-python")


def opencv_has_windows() -> bool:
    """Whether the installed OpenCV was built with a GUI (opencv-python) rather than without (-headless)."""
    gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
    return bool(gui) and not gui[0].split(":", 1)[1].strip().upper().startswith("NONE")


def display_available() -> bool:
    """Whether a window can be shown: an OpenCV with windows, and a display (X11 or Wayland on Linux)."""
    if not opencv_has_windows():
        return False
    if os.name != "posix" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class WindowSink:
    """A window with the frame rate drawn on it; ``q`` or Esc asks the pipeline to stop."""

    def __init__(self, title: str = "cgan") -> None:
        if not opencv_has_windows():
            raise CganError(f"{GUI_HINT}; or run without a window (--out / --record)")
        if not display_available():
            raise CganError("no display to show a window on: run without --show (or set DISPLAY)")
        self.title = title
        self.stop_requested = False
        self.notes: list[str] = []
        self._times: list[float] = []

    @property
    def output(self) -> None:
        return None

    def write(self, frame: Frame, image: np.ndarray) -> None:
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < 1.0] + [now]
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.putText(bgr, f"{len(self._times)} fps", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(bgr, f"{len(self._times)} fps", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2,
                    cv2.LINE_AA)
        cv2.imshow(self.title, bgr)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stop_requested = True

    def close(self) -> None:
        cv2.destroyAllWindows()

    def abort(self) -> None:
        self.close()
