"""Where translated frames go: image files, a video file (with the source's audio), a window."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from ..errors import CganError
from ..fileio import atomic_write_bytes
from ..images import opencv_path
from .sources import Frame, quiet_opencv

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}


@runtime_checkable
class Sink(Protocol):
    """Where the pipeline writes translated frames. ``close`` completes the output; ``abort`` leaves nothing
    half-written. ``stop_requested`` (a window where q was pressed) ends the run."""

    stop_requested: bool
    notes: list[str]  # what the user should know once the run is over (e.g. audio not copied)

    @property
    def output(self) -> Path | None:
        """The file or folder written, or None for a window."""

    def write(self, frame: Frame, image: np.ndarray) -> None:
        """Take one translated RGB uint8 frame."""

    def close(self) -> None:
        """Finish: every output complete and in place."""

    def abort(self) -> None:
        """Give up after an error: remove what is not complete."""


class ImageFolderSink:
    """Each output under ``root`` with its source's relative name and format."""

    stop_requested = False

    def __init__(self, root: Path, overwrite: bool, single_file: Path | None = None) -> None:
        self.root, self.overwrite, self.single_file = root, overwrite, single_file
        self.written = 0
        self.notes: list[str] = []

    @property
    def output(self) -> Path:
        return self.single_file or self.root

    def target(self, name: str) -> Path:
        return self.single_file or self.root / name

    def write(self, frame: Frame, image: np.ndarray) -> None:
        target = self.target(frame.name)
        if not self.overwrite and target.exists():
            raise CganError(f"{target} already exists: choose another --out or pass --overwrite")
        ok, encoded = cv2.imencode(target.suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise CganError(f"OpenCV cannot write {target.suffix} files: use an --out ending in .png or .jpg")
        atomic_write_bytes(target, encoded.tobytes())
        self.written += 1

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class VideoSink:
    """A video at the source's fps; written to a temporary file and renamed when complete.

    The source's audio is copied in when ffmpeg is available.
    """

    stop_requested = False

    def __init__(self, path: Path, fps: float, overwrite: bool, audio_from: Path | None = None) -> None:
        if path.suffix.lower() not in FOURCC:
            raise CganError(f"cannot write video {path.name}: use one of {', '.join(FOURCC)}")
        if not overwrite and path.exists():
            raise CganError(f"{path} already exists: choose another --out or pass --overwrite")
        require_writable_folder(path.parent)
        self.path, self.fps, self.audio_from = path, fps, audio_from
        self.tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        self.writer: cv2.VideoWriter | None = None
        self.written = 0
        self.notes: list[str] = []

    @property
    def output(self) -> Path:
        return self.path

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = image.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()])
            with quiet_opencv():
                self.writer = cv2.VideoWriter(opencv_path(self.tmp), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                other = "" if self.path.suffix.lower() == ".avi" else ": try an --out ending in .avi"
                raise CganError(f"OpenCV cannot write a {w}x{h} {self.path.suffix} video to {self.path.parent}{other}")
            self.size = (w, h)
        if (image.shape[1], image.shape[0]) != self.size:  # a video has one size: fit stray frames to it
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.written += 1

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.release()
        if self.audio_from is None or not self._mux_audio():
            os.replace(self.tmp, self.path)

    def _mux_audio(self) -> bool:
        """Copy the source's audio (if any) next to our video stream; False if ffmpeg is missing or fails."""
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            self.notes.append("audio not copied: ffmpeg is not installed (apt install ffmpeg, or brew install ffmpeg)")
            return False
        muxed = self.tmp.with_name(f".{self.path.stem}.muxed{self.path.suffix}")
        command = [ffmpeg, "-y", "-loglevel", "error", "-i", str(self.tmp), "-i", str(self.audio_from),
                   "-map", "0:v:0", "-map", "1:a?", "-c:v", "copy", "-c:a", "copy", str(muxed)]  # every frame kept
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            muxed.unlink(missing_ok=True)
            self.notes.append(f"audio not copied: ffmpeg failed ({done.stderr.strip().splitlines()[-1:]})")
            return False
        os.replace(muxed, self.path)
        self.tmp.unlink(missing_ok=True)
        return True

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.release()
        self.tmp.unlink(missing_ok=True)


def require_writable_folder(folder: Path) -> None:
    """``folder`` (or the nearest existing folder above it, where it will be made) can be written to."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CganError(f"{existing} is a file, not a folder: choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CganError(f"cannot write to {existing} (permission denied): choose another --out")


def display_available() -> bool:
    """Whether a window can be shown (an X11 or Wayland display on Linux; always elsewhere)."""
    if os.name != "posix" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class WindowSink:
    """A window with the frame rate drawn on it; ``q`` or Esc asks the pipeline to stop."""

    def __init__(self, title: str = "cgan") -> None:
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
