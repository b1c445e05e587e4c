"""Where frames come from: image files, folders and globs, video files (video.py), cameras and network streams.

Files are read in order and nothing is dropped. Live sources (cameras, rtsp/http streams) are
read by a thread of their own that keeps only the newest frames (a bounded buffer), counts what
it drops, reconnects with backoff when a stream breaks, and reports a source that stops
delivering instead of waiting for ever.
"""
from __future__ import annotations

import collections
import contextlib
import glob
import os
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import CganError
from ..fileio import printable
from ..images import (IMAGE_SUFFIXES, image_size_problem, list_images, opencv_path, read_header, read_rgb,
                      too_many_pixels)
from .frames import STREAM_PREFIXES, Frame, SourceLost

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


@contextlib.contextmanager
def quiet_opencv():
    """OpenCV logs its own warnings when a capture fails to open; we report those failures ourselves."""
    logging = cv2.utils.logging
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


class ImageSource:
    """Image files in a fixed order; unreadable ones are skipped and counted."""

    live = False
    dropped = 0
    lost = 0

    def __init__(self, files: list[Path], root: Path, scanned: bool = False) -> None:
        self.files, self.root = files, root
        self.scanned = scanned  # root is a folder read recursively: every image under it is an input
        self.skipped: list[Path] = []
        self.reasons: dict[Path, str] = {}  # why each skipped file was, in words
        self.fps = None

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.files):
            header = read_header(path)
            image = read_rgb(path, header)
            if image is None:
                self.skipped.append(path)
                self.reasons[path] = image_size_problem(path, header) or (
                    f"{printable(path)}: not a readable image (damaged, empty, too large or another format)")
                continue
            yield Frame(image, index, path.relative_to(self.root).as_posix(), header=header)

    def close(self) -> None:
        pass


class LiveSource:
    """A camera index, a stream URL, or a video file played at its own pace as if it were a camera.

    The reader thread keeps at most ``buffer`` frames, dropping the oldest (the newest frame wins). It starts
    with the first read, not when the source is opened: a model that loads after the source (the camera is
    checked first) does not see a file's first seconds played to nobody.
    """

    live = True
    lost = 0

    def __init__(self, target: int | str, size: tuple[int, int] | None = None, buffer: int = 1,
                 stall_timeout: float = 10.0, reconnects: int = 5) -> None:
        self.target, self.stall_timeout, self.reconnects = target, stall_timeout, reconnects
        self.reconnecting = False  # the reader is backing off or reopening: a wait then is not a stall
        self.is_file = isinstance(target, str) and Path(target).is_file()
        self.label = f"camera {target}" if isinstance(target, int) else str(target)
        self.frames: collections.deque = collections.deque(maxlen=buffer)
        self.dropped = 0
        self.skipped: list[Path] = []
        self.finished = False
        self.error: str | None = None
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._started: float | None = None  # when the first frame delivered was captured
        self.capture = self._open(size)
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and np.isfinite(fps) and fps > 0 else 30.0
        self._thread = threading.Thread(target=self._read, name=f"cgan-reader-{self.label}", daemon=True)

    def _open(self, size: tuple[int, int] | None) -> cv2.VideoCapture:
        with quiet_opencv():
            capture = cv2.VideoCapture(self.target if isinstance(self.target, int) else opencv_path(self.target))
        if capture.isOpened():
            problem = too_many_pixels(int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                      int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), f"each frame of {self.label}")
            if problem:
                capture.release()
                raise CganError(problem)
        if not capture.isOpened():
            capture.release()
            if isinstance(self.target, int):
                raise CganError(f"cannot open camera {self.target}: check that it is connected and not used by "
                                f"another program, or try another index such as {self.target + 1}")
            raise CganError(f"cannot open stream {self.target}: check the address and that it is reachable")
        if size:  # (height, width), as every size in cgan; OpenCV asks width first
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[1])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[0])
        return capture

    def _read(self) -> None:
        period = 1.0 / self.fps if self.is_file else 0.0  # a file stands in for a camera: play it in real time
        next_due = time.monotonic()
        failures = 0
        while not self._stop.is_set():
            ok, bgr = self.capture.read()
            if not ok:
                if self.is_file:
                    break
                failures += 1
                if failures > self.reconnects:
                    self.error = f"{self.label} stopped delivering frames and did not come back after {self.reconnects} reconnects"
                    break
                self.reconnecting = True
                self._stop.wait(_backoff(failures))  # back off, then reopen
                self.capture.release()
                with quiet_opencv():
                    self.capture = cv2.VideoCapture(self.target)
                continue
            failures, self.reconnecting = 0, False
            with self._lock:
                if len(self.frames) == self.frames.maxlen:
                    self.dropped += 1
                self.frames.append((cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic()))
                self._lock.notify()
            if period:
                next_due += period
                self._stop.wait(max(0.0, next_due - time.monotonic()))
        with self._lock:
            self.finished = True
            self._lock.notify()

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[Frame]:
        with self._lock:
            if self._thread.ident is None and not self._stop.is_set():
                self._thread.start()
        index = 0
        while True:
            with self._lock:
                # Every reconnect gets its try: the stall timeout counts only while the reader is not reconnecting.
                while not self._lock.wait_for(lambda: self.frames or self.finished, timeout=self.stall_timeout):
                    if self.reconnecting:
                        continue
                    raise SourceLost(f"{self.label} delivered no frame for {self.stall_timeout:g} s: check the "
                                     f"camera or stream")
                if not self.frames:
                    if self.error:
                        raise SourceLost(self.error)
                    return
                image, captured = self.frames.popleft()
                if self._started is None:
                    self._started = captured
            yield Frame(image, index, time=captured - self._started)
            index += 1

    def close(self) -> None:
        with self._lock:
            self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)
        self.capture.release()


def _backoff(failures: int) -> float:
    """Seconds to wait before reopening a stream after its ``failures``-th failed read in a row."""
    return min(8.0, 0.5 * 2 ** (failures - 1))


def is_video_file_url(spec: str) -> bool:
    """An http(s) address of a video file (its path ends in a video suffix): read as a file, not a stream."""
    parsed = urllib.parse.urlparse(spec)
    return parsed.scheme.lower() in ("http", "https") and parsed.path.lower().endswith(VIDEO_SUFFIXES)


def open_source(spec: str, camera_size: tuple[int, int] | None = None, live_buffer: int = 1,
                live: bool | None = None):
    """The source a ``--source`` value names: a camera index, a URL, a video, an image, a folder or a glob.

    A URL is a live stream unless it is the address of a video file over http(s), which is read like a local
    file: every frame, in order, ending at its end. ``live`` forces one or the other.
    """
    spec = str(spec)
    if spec.isdigit():
        return LiveSource(int(spec), camera_size, live_buffer)
    if spec.lower().startswith(STREAM_PREFIXES):
        as_file = is_video_file_url(spec) if live is None else not live
        if as_file:
            from .video import VideoSource

            return VideoSource(spec)
        return LiveSource(spec, camera_size, live_buffer)
    path = Path(spec)
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise CganError(f"no images in {path} (looked for {', '.join(IMAGE_SUFFIXES)})")
        return ImageSource(files, path, scanned=True)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            from .video import VideoSource

            return VideoSource(path)
        if suffix in IMAGE_SUFFIXES:
            return ImageSource([path], path.parent)
        raise CganError(f"{path} is neither an image ({', '.join(IMAGE_SUFFIXES)}) nor a video "
                        f"({', '.join(VIDEO_SUFFIXES)})")
    if any(c in spec for c in "*?["):
        files = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CganError(f"no images match {spec}")
        return ImageSource(files, Path(os.path.commonpath([str(f.parent) for f in files])))
    raise CganError(f"source not found: {spec} (give an image, a folder, a glob, a video, a camera index or a URL)")
