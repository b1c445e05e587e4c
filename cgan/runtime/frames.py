"""What the runtime's pipeline moves: a ``Frame``, the ``Source`` it comes from and the ``Sink`` it goes to (one
module, which sources.py, sinks.py and video.py all build on)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from ..errors import CganError
from ..images import ImageHeader

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


class SourceLost(CganError):
    """A live source that stopped for good (a stream that did not come back, a camera that went silent): what
    was recorded before is kept (the pipeline finishes its outputs) and the run ends with this error."""


@dataclasses.dataclass
class Frame:
    image: np.ndarray  # HxWx3 uint8 RGB
    index: int
    name: str = ""  # an image file's path relative to the source root; "" for video frames
    time: float | None = None  # seconds since the first frame: a video's timestamp, a live frame's capture time
    header: ImageHeader | None = None  # an image file's: the EXIF and colour profile its output keeps


@runtime_checkable
class Source(Protocol):
    """What the pipeline reads frames from. A live source drops frames it cannot deliver in time (newest wins);
    a file source delivers every frame in order."""

    live: bool
    fps: float | None  # frames per second of a video or camera; None for images
    dropped: int  # frames a live source dropped so far
    lost: int  # frames of a video file that could not be decoded
    skipped: list[Path]  # files that could not be read

    def __len__(self) -> int:
        """How many frames it will deliver, or 0 when unknown (live sources)."""

    def __iter__(self) -> Iterator[Frame]:
        """The frames, in order."""

    def close(self) -> None:
        """Release the file, camera or stream."""


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
