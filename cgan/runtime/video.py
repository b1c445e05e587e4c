"""Video files through PyAV (its wheels carry FFmpeg): reading every frame with damage counted, and
writing H.264 (or HEVC, VP9, MJPEG) that browsers and phones play, with the source's audio copied
and its frame rate kept. OpenCV stays for cameras, live streams and windows.

Frames are rotated upright as they are decoded (a phone's portrait clip is stored sideways with a
rotation tag), so the model sees what a viewer sees and the output needs no tag.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import CganError, first_line
from .sources import Frame

# Containers whose header states the exact frame count (others estimate it from the duration), so that frames
# missing at the end count as lost.
EXACT_COUNT_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi")
# --codec name -> FFmpeg encoder, and the containers each goes into.
CODECS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "mjpeg": "mjpeg"}
CONTAINERS = {".mp4": ("h264", "hevc", "vp9"), ".m4v": ("h264", "hevc"), ".mov": ("h264", "hevc", "mjpeg"),
              ".mkv": ("h264", "hevc", "vp9", "mjpeg"), ".webm": ("vp9",), ".avi": ("mjpeg", "h264")}
# The 4:2:0 formats the encoders take (each needs even width and height); MJPEG's is full-range.
PIXEL_FORMATS = {"h264": "yuv420p", "hevc": "yuv420p", "vp9": "yuv420p", "mjpeg": "yuvj420p"}


def default_codec(path: Path) -> str:
    """What plays most widely in ``path``'s container: H.264, VP9 in WebM."""
    return CONTAINERS.get(path.suffix.lower(), ("h264",))[0]


def _import_av():
    import av  # a core dependency; imported here so that importing the runtime stays light

    return av


class VideoSource:
    """A video file (a path, or an http(s) URL of one), every frame in order.

    A packet that fails to decode is skipped and counted in ``lost``, and reading goes on; frames
    missing at the end of a container that states its frame count are counted too, so a damaged file
    is never translated short without saying so.
    """

    live = False
    dropped = 0

    def __init__(self, path: Path | str) -> None:
        av = _import_av()
        self.path = path
        try:
            self.container = av.open(str(path), metadata_errors="ignore", timeout=30.0)
        except (av.error.FFmpegError, OSError, UnicodeError) as e:
            raise CganError(f"cannot open video {path} ({first_line(e)}): the file is damaged or not a video") \
                from None
        if not self.container.streams.video:
            self.container.close()
            raise CganError(f"{path} has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"  # FFmpeg decodes on several threads
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.rate = Fraction(rate) if rate else Fraction(30)  # some containers state none
        self.fps = float(self.rate)
        self.frame_count = self.stream.frames or None
        self.exact_count = str(path).lower().endswith(EXACT_COUNT_SUFFIXES)
        self.has_audio = bool(self.container.streams.audio)
        self.lost = 0
        self.skipped: list[Path] = []

    def __len__(self) -> int:
        return self.frame_count or 0

    def __iter__(self) -> Iterator[Frame]:
        av = _import_av()
        index = 0
        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:  # damaged data: this packet's frame is lost, the next may decode
                self.lost += 1
                continue
            for frame in frames:
                yield Frame(_upright(frame.to_ndarray(format="rgb24"), frame.rotation), index)
                index += 1
        if self.exact_count and self.frame_count is not None:
            self.lost = max(self.lost, self.frame_count - index)

    def close(self) -> None:
        self.container.close()


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as a viewer sees it: ``rotation`` is how far (degrees, counterclockwise) to turn it."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


class VideoSink:
    """A video at the source's frame rate, encoded by PyAV; written to a temporary file and renamed when
    complete. ``audio_from``: a video whose audio streams are copied in (no re-encoding)."""

    stop_requested = False

    def __init__(self, path: Path, fps: float | Fraction, overwrite: bool, audio_from: Path | str | None = None,
                 codec: str | None = None) -> None:
        from .sinks import require_writable_folder

        suffix = path.suffix.lower()
        if suffix not in CONTAINERS:
            raise CganError(f"cannot write video {path.name}: use one of {', '.join(CONTAINERS)}")
        self.codec = codec or default_codec(path)
        if self.codec not in CODECS:
            raise CganError(f"unknown --codec {self.codec!r}: choose one of {', '.join(CODECS)}")
        if self.codec not in CONTAINERS[suffix]:
            raise CganError(f"{self.codec} does not go into {suffix} files: use --codec "
                            f"{' or '.join(CONTAINERS[suffix])}, or another --out")
        if not overwrite and path.exists():
            raise CganError(f"{path} already exists: choose another --out or pass --overwrite")
        require_writable_folder(path.parent)
        self.path, self.audio_from = path, audio_from
        self.rate = Fraction(fps).limit_denominator(1001) if fps else Fraction(30)
        self.tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        self.container = None
        self.stream = None
        self.audio_source = None  # the container the audio is copied from, open while writing
        self.audio_streams: dict = {}  # source audio stream index -> output stream
        self.size: tuple[int, int] | None = None
        self.written = 0
        self.notes: list[str] = []

    @property
    def output(self) -> Path:
        return self.path

    def _open(self, width: int, height: int) -> None:
        av = _import_av()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (width, height)
        even = (width + width % 2, height + height % 2)  # 4:2:0 needs even sides: pad by a pixel, say so
        if even != self.size:
            self.notes.append(f"{width}x{height} is padded to {even[0]}x{even[1]}: {self.codec} needs even sizes")
        try:
            self.container = av.open(str(self.tmp), mode="w")
            self.stream = self.container.add_stream(CODECS[self.codec], rate=self.rate)
        except (av.error.FFmpegError, ValueError) as e:
            raise CganError(f"cannot write a {self.codec} video to {self.path} ({first_line(e)})") from None
        self.stream.width, self.stream.height = even
        self.stream.pix_fmt = PIXEL_FORMATS[self.codec]
        if self.codec in ("h264", "hevc"):
            self.stream.options = {"crf": "18", "preset": "veryfast"}  # visually lossless, fast to encode
        if self.audio_from is not None:
            self._add_audio_streams()  # every stream must exist before the first packet is written

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self.container is None:
            self._open(image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != self.size:  # a video has one size: fit stray frames to it
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        width, height = self.stream.width, self.stream.height
        if (width, height) != self.size:
            image = cv2.copyMakeBorder(image, 0, height - self.size[1], 0, width - self.size[0], cv2.BORDER_REPLICATE)
        picture = self._picture(image)
        picture.pts = self.written
        self.container.mux(self.stream.encode(picture))
        self.written += 1

    def _picture(self, image: np.ndarray):
        """An RGB frame as the encoder takes it. 4:2:0 (every codec but MJPEG) is converted by OpenCV: the same
        BT.601 limited-range matrix as FFmpeg's default conversion, with chroma averaged over 2x2 pixels, about
        ten times faster than that conversion, which an encoder handed RGB runs on one thread (at 1080p it was a
        quarter of the writer's time: benchmarks/host_pipeline.py)."""
        av = _import_av()
        if self.stream.pix_fmt == "yuv420p":
            return av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")

    def close(self) -> None:
        if self.container is None:
            return
        self.container.mux(self.stream.encode(None))  # what the encoder still holds
        if self.audio_from is not None:
            self._copy_audio()
        self.container.close()
        os.replace(self.tmp, self.path)

    def _add_audio_streams(self) -> None:
        """Output streams for the source's audio streams; a codec the container cannot hold is noted."""
        av = _import_av()
        try:
            self.audio_source = av.open(str(self.audio_from), metadata_errors="ignore")
        except (av.error.FFmpegError, OSError):
            return
        for stream in self.audio_source.streams.audio:
            try:
                self.audio_streams[stream.index] = self.container.add_stream_from_template(stream)
            except (av.error.FFmpegError, ValueError) as e:
                self.notes.append(f"audio not copied: {stream.codec_context.name} cannot go into "
                                  f"{self.path.suffix} files ({first_line(e)})")

    def _copy_audio(self) -> None:
        """The source's audio, packet for packet (no re-encoding), into the streams made for it."""
        av = _import_av()
        if self.audio_source is None:
            return
        with self.audio_source:
            wanted = [s for s in self.audio_source.streams.audio if s.index in self.audio_streams]
            for packet in self.audio_source.demux(*wanted) if wanted else ():
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = self.audio_streams[packet.stream.index]
                try:
                    self.container.mux(packet)
                except av.error.FFmpegError as e:
                    self.notes.append(f"audio copied in part: {first_line(e)}")
                    return

    def abort(self) -> None:
        if self.audio_source is not None:
            self.audio_source.close()
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # closing a stream that failed half-way may fail again; the file goes anyway
                pass
        self.tmp.unlink(missing_ok=True)
