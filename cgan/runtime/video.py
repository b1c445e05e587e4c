"""Video files through PyAV (its wheels carry FFmpeg): reading every frame with damage counted, and
writing H.264 (or HEVC, VP9, MJPEG) that browsers and phones play, with the source's audio copied
and its frame rate kept. OpenCV stays for cameras, live streams and windows.

Frames are rotated upright as they are decoded (a phone's portrait clip is stored sideways with a
rotation tag), so the model sees what a viewer sees and the output needs no tag.
"""
from __future__ import annotations

import errno
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import CganError, first_line
from ..fileio import FILE_MODE, FileLock
from ..images import too_many_pixels
from .codecs import CODECS, CONTAINERS, default_codec
from .frames import STREAM_PREFIXES, Frame

# Containers whose header states the exact frame count (others estimate it from the duration), so that frames
# missing at the end count as lost.
EXACT_COUNT_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi")
# The FFmpeg muxer for each container (FFmpeg is handed an open file, so it cannot guess from the name).
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
# The 4:2:0 formats the encoders take (each needs even width and height); MJPEG's is full-range.
PIXEL_FORMATS = {"h264": "yuv420p", "hevc": "yuv420p", "vp9": "yuv420p", "mjpeg": "yuvj420p"}


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
            raise CganError(_open_failure(str(path), e)) from None
        if not self.container.streams.video:
            self.container.close()
            raise CganError(f"{path} has no video stream")
        self.stream = self.container.streams.video[0]
        problem = too_many_pixels(self.stream.codec_context.width, self.stream.codec_context.height,
                                  f"each frame of {path}")  # a few MB of H.264 can declare 12000x12000 frames
        if problem:
            self.container.close()
            raise CganError(problem)
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
        first_time = None  # the first frame's timestamp: outputs start at zero
        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:  # damaged data: this packet's frame is lost, the next may decode
                self.lost += 1
                continue
            for frame in frames:
                if first_time is None:
                    first_time = frame.time
                time = None if frame.time is None or first_time is None else frame.time - first_time
                yield Frame(_upright(frame.to_ndarray(format="rgb24"), frame.rotation), index, time=time)
                index += 1
        if self.exact_count and self.frame_count is not None:
            self.lost = max(self.lost, self.frame_count - index)

    def close(self) -> None:
        self.container.close()


def _open_failure(path: str, error: BaseException) -> str:
    """Why a video could not be opened, and the fix: a URL fails for other reasons than a file."""
    reason = first_line(error)
    if not path.lower().startswith(STREAM_PREFIXES):
        return f"cannot open video {path} ({reason}): the file is damaged or not a video"
    if isinstance(error, OSError) and error.errno == errno.EIO:
        # An MP4 whose index follows its frames is read by seeking (HTTP Range requests) to the index first.
        return (f"cannot read video {path} ({reason}): the server may not allow seeking (HTTP Range requests), "
                f"which an MP4 with its index at the end needs; download the file first, or serve it with Range "
                f"support")
    return f"cannot open video {path} ({reason}): check that the address is reachable and serves a video file"


def _by_descriptor(fd: int, path: Path) -> str:
    """A name under which FFmpeg opens the file behind ``fd`` itself (Linux's /proc/self/fd), else ``path``."""
    name = f"/proc/self/fd/{fd}"
    return name if os.path.exists(name) else str(path)


# The audio codecs a container holds, where it holds only some (the first is what others are converted to).
AUDIO_CODECS = {".webm": ("opus", "vorbis")}
# Containers whose index (moov) FFmpeg moves to the front when the video is complete, so that a browser plays it
# while it downloads.
FAST_START_SUFFIXES = (".mp4", ".m4v", ".mov")
# FFmpeg's numbers (libavutil/pixfmt.h) for the colour description written into the stream. The frames are
# sRGB; OpenCV converts them to 4:2:0 with BT.601's matrix in limited range (MJPEG: the encoder, full range),
# and the tags say exactly that, so that a player converts back with the same matrix at every size: untagged,
# browsers assume BT.709 for HD and shift the colours.
_PRIMARIES_BT709, _TRANSFER_BT709, _MATRIX_BT601, _RANGE_LIMITED, _RANGE_FULL = 1, 1, 6, 1, 2


def _tag_colours(context, codec: str) -> None:
    context.color_primaries = _PRIMARIES_BT709  # (sRGB's primaries are BT.709's)
    context.color_trc = _TRANSFER_BT709
    context.colorspace = _MATRIX_BT601
    context.color_range = _RANGE_FULL if codec == "mjpeg" else _RANGE_LIMITED


def _same_file(a: Path | str, b: Path | str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as a viewer sees it: ``rotation`` is how far (degrees, counterclockwise) to turn it."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


class VideoSink:
    """A video at the source's frame rate, encoded by PyAV; written to a temporary file and renamed when
    complete. ``audio_from``: a video whose audio streams are copied in (no re-encoding); ``source``: the video
    translated, which is never replaced (not even with ``overwrite``); ``time_base``: that of the frames' times."""

    stop_requested = False

    def __init__(self, path: Path, fps: float | Fraction, overwrite: bool, audio_from: Path | str | None = None,
                 codec: str | None = None, source: Path | str | None = None,
                 time_base: Fraction | None = None) -> None:
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
        if not overwrite and os.path.lexists(path):  # (a link, even a dangling one, is not ours to replace)
            raise CganError(f"{path} already exists: choose another --out or pass --overwrite")
        if source is not None and not str(source).startswith(STREAM_PREFIXES) and _same_file(path, source):
            raise CganError(f"--out {path} is the source video itself: choose another file name")
        require_writable_folder(path.parent)
        self.path, self.audio_from = path, audio_from
        self.rate = Fraction(fps).limit_denominator(1001) if fps else Fraction(30)
        self.timed = path.suffix.lower() != ".avi"  # AVI holds a constant frame rate only
        # The source's time base keeps its timestamps exact; milliseconds for a camera's wall clock.
        self.time_base = Fraction(time_base) if time_base and self.timed else (
            Fraction(1, 1000) if self.timed else 1 / self.rate)
        self._last_pts = -1
        self.tmp: Path | None = None  # the partial file, made with a unique name when the first frame comes
        self._fd: int | None = None  # its descriptor, open until the video is complete
        # Another cgan writing the same output is refused, not interleaved.
        self.lock = FileLock(path.with_name(f".{path.name}.lock"), f"the output {path}", remove=True)
        self.container = None
        self.stream = None
        self.audio_source = None  # the container the audio is copied from, open while writing
        self.audio_streams: dict = {}  # source audio stream index -> output stream
        self.converted: dict = {}  # source audio stream index -> resampler, for streams re-encoded
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
        # The partial file is created anew (O_EXCL, a name nobody can guess), and FFmpeg opens it through the
        # descriptor (/proc/self/fd on Linux: the file we made, whatever its name points to by then), so a
        # planted link is never followed. FFmpeg opens it twice: fast start moves the index to the front.
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".partial{self.path.suffix}",
                                    dir=self.path.parent)
        self.tmp, self._fd = Path(name), fd
        suffix = self.path.suffix.lower()
        options = {"movflags": "+faststart"} if suffix in FAST_START_SUFFIXES else {}
        try:
            self.container = av.open(_by_descriptor(fd, self.tmp), mode="w", format=MUXERS[suffix],
                                     options=options)
            self.stream = self.container.add_stream(CODECS[self.codec], rate=self.rate)
            self.stream.codec_context.time_base = self.time_base
        except (av.error.FFmpegError, ValueError) as e:
            raise CganError(f"cannot write a {self.codec} video to {self.path} ({first_line(e)})") from None
        self.stream.width, self.stream.height = even
        self.stream.pix_fmt = PIXEL_FORMATS[self.codec]
        _tag_colours(self.stream.codec_context, self.codec)
        if self.codec in ("h264", "hevc"):
            self.stream.options = {"crf": "18", "preset": "veryfast"}  # visually lossless, fast to encode
        if self.codec == "hevc":
            self.stream.options["x265-params"] = "log-level=error"  # x265 prints ~25 lines of its settings
            if suffix in (".mp4", ".m4v", ".mov"):
                self.stream.codec_tag = "hvc1"  # Apple's players take HEVC tagged hvc1, not FFmpeg's hev1
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
        picture.pts = self._pts(frame)
        picture.time_base = self.time_base
        self.container.mux(self.stream.encode(picture))
        self.written += 1

    def _pts(self, frame: Frame) -> int:
        """When ``frame`` is shown, in ``time_base`` units: its own time (a variable-rate clip keeps its duration,
        a camera's recording its wall-clock time), one frame period after the last where it has none (and in AVI,
        which holds a constant rate only); never at or before the frame written last."""
        if frame.time is None or not self.timed:
            pts = round(self.written / self.rate / self.time_base)
        else:
            pts = round(frame.time / self.time_base)
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        return pts

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
        if self.container is None:  # no frame came: nothing to write
            self.lock.release()
            return
        self.container.mux(self.stream.encode(None))  # what the encoder still holds
        if self.audio_from is not None:
            self._copy_audio()
        self.container.close()
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        os.chmod(self.tmp, FILE_MODE)  # mkstemp's owner-only mode; a finished video gets the usual one
        os.replace(self.tmp, self.path)
        self.lock.release()

    def _add_audio_streams(self) -> None:
        """Output streams for the source's audio streams; a codec the container cannot hold is noted."""
        av = _import_av()
        try:
            self.audio_source = av.open(str(self.audio_from), metadata_errors="ignore")
        except (av.error.FFmpegError, OSError):
            return
        held = AUDIO_CODECS.get(self.path.suffix.lower())
        for stream in self.audio_source.streams.audio:
            try:
                if held is None or stream.codec_context.name in held:
                    self.audio_streams[stream.index] = self.container.add_stream_from_template(stream)
                else:  # converted to the container's own (AAC into WebM becomes Opus)
                    self.audio_streams[stream.index] = self.container.add_stream(held[0], rate=48000)
                    self.converted[stream.index] = av.AudioResampler(format="s16", layout="stereo", rate=48000)
                    self.notes.append(f"audio converted from {stream.codec_context.name} to {held[0]}: "
                                      f"{self.path.suffix} files hold {' or '.join(held)}")
            except (av.error.FFmpegError, ValueError) as e:
                self.notes.append(f"audio not copied: {stream.codec_context.name} cannot go into "
                                  f"{self.path.suffix} files ({first_line(e)})")

    def _copy_audio(self) -> None:
        """The source's audio, packet for packet (no re-encoding), into the streams made for it; streams the
        container cannot hold as they are decoded, resampled and encoded in its own codec."""
        av = _import_av()
        if self.audio_source is None:
            return
        with self.audio_source:
            wanted = [s for s in self.audio_source.streams.audio if s.index in self.audio_streams]
            try:
                for packet in self.audio_source.demux(*wanted) if wanted else ():
                    out = self.audio_streams[packet.stream.index]
                    resampler = self.converted.get(packet.stream.index)
                    if resampler is not None:
                        for frame in packet.decode():  # (the end-of-stream packet decodes to what is left)
                            for piece in resampler.resample(frame):
                                self.container.mux(out.encode(piece))
                        continue
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = out
                    self.container.mux(packet)
                for index, resampler in self.converted.items():  # what the resampler and the encoder still hold
                    for piece in resampler.resample(None):
                        self.container.mux(self.audio_streams[index].encode(piece))
                    self.container.mux(self.audio_streams[index].encode(None))
            except av.error.FFmpegError as e:
                self.notes.append(f"audio copied in part: {first_line(e)}")

    def abort(self) -> None:
        if self.audio_source is not None:
            self.audio_source.close()
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # closing a stream that failed half-way may fail again; the file goes anyway
                pass
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
        self.lock.release()
