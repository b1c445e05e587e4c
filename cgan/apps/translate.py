"""``translate`` and ``webcam``: the functions behind ``cgan translate`` and ``cgan webcam``. They speak through
``logging`` (the command line shows it on stderr), so that a program calling them chooses what it sees."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import CganError
from ..fileio import escape_control, plural, safe_component
from ..images import IMAGE_SUFFIXES
from ..interrupt import terminate_as_interrupt
from ..presets import A_TO_B
from ..runtime.frames import Sink, Source
from ..runtime.options import FrameOptions, RuntimeOptions, auto_performance, runtime_options
from ..runtime.pipeline import Summary, run_pipeline
from ..runtime.sinks import (GUI_HINT, ImageFolderSink, WindowSink, display_available, opencv_has_windows,
                             require_writable_folder)
from ..runtime.sources import ImageSource, LiveSource, open_source
from ..runtime.video import VideoSink, VideoSource
from .translator import Translator

log = logging.getLogger(__name__)


def _image_sink(source: ImageSource, out: str | None, overwrite: bool) -> ImageFolderSink:
    single = len(source.files) == 1 and out is not None and Path(out).suffix.lower() in IMAGE_SUFFIXES
    root = Path(out or "translated")
    if not single:
        if root.is_file():
            raise CganError(f"--out {root} is a file: give a folder for the translated images")
        # A folder source is read recursively, so outputs under it would be inputs next time. (A file's or a
        # glob's root is only where names are taken relative to.)
        inputs = source.root.resolve()
        if source.scanned and (root.resolve() == inputs or inputs in root.resolve().parents):
            raise CganError(f"--out {root} is inside --source {source.root}: the translations would replace the "
                            f"originals or be read as inputs next time; choose a folder outside it")
    elif Path(out).resolve() == source.files[0].resolve():
        raise CganError(f"--out {out} is the source image itself: choose another file name")
    require_writable_folder(root if not single else Path(out).parent)
    sink = ImageFolderSink(root, overwrite, Path(out) if single else None)
    if not overwrite:  # refuse before any work, not half-way through a folder
        taken = [t for t in (sink.target(f.relative_to(source.root).as_posix()) for f in source.files) if t.exists()]
        if taken:
            sink.abort()
            raise CganError(f"{len(taken)} {plural(len(taken), 'output')} already exist (first: {taken[0]}): choose "
                            f"another --out or pass --overwrite")
    return sink


def _video_path(source_path: Path | None, out: str | None, target: str) -> Path:
    if out is None:
        stem = source_path.stem if source_path else "camera"
        return Path(f"{stem}_{target}.mp4")
    path = Path(out)
    if path.is_dir() or not path.suffix:
        return path / f"{source_path.stem if source_path else 'camera'}_{target}.mp4"
    return path


def _open_sinks(src: Source, translator: Translator, out: str | None, show: bool, overwrite: bool,
                codec: str | None) -> list[Sink]:
    """Where ``translate`` writes: image files for images, a video for a video, and a window with ``show``."""
    sinks: list[Sink] = []
    try:
        return _add_sinks(sinks, src, translator, out, show, overwrite, codec)
    except BaseException:
        for sink in sinks:  # release what the sinks opened so far (their output locks)
            sink.abort()
        raise


def _add_sinks(sinks: list[Sink], src: Source, translator: Translator, out: str | None, show: bool,
               overwrite: bool, codec: str | None) -> list[Sink]:
    target = safe_component(translator.meta.target_domain, "translated")  # it names the default output
    if isinstance(src, ImageSource):
        sinks.append(_image_sink(src, out, overwrite))
    elif isinstance(src, VideoSource):
        sinks.append(VideoSink(_video_path(Path(str(src.path)), out, target), src.rate, overwrite,
                               audio_from=src.path if src.has_audio else None, codec=codec, source=src.path,
                               time_base=src.stream.time_base))
    elif out is not None:
        sinks.append(VideoSink(_video_path(None, out, target), src.fps, overwrite, codec=codec))
    if show:
        meta = translator.meta
        sinks.append(WindowSink(escape_control(f"cgan: {meta.source_domain} -> {meta.target_domain}")))
    if not sinks:
        raise CganError("a live source needs --out FILE.mp4 (to record) or --show (to watch)")
    return sinks


def translate(model: str | os.PathLike, source: str, out: str | None = None, *,
              options: RuntimeOptions | None = None, side_by_side: bool = False, temporal: bool = False,
              max_frames: int | None = None, show: bool = False, overwrite: bool = False, progress: bool = True,
              live: bool | None = None, codec: str | None = None, **fields) -> Summary:
    """Translate an image, folder, glob, video, camera or stream; outputs keep names, sizes and frame rates.

    ``options`` says how the model runs (a ``RuntimeOptions``, or its fields by name: ``batch=4``). ``live``
    forces a URL to be read as a live stream (True) or as a file (False); by default an http(s) address of a
    video file is a file. Frames of a damaged video that could not be decoded are counted in ``Summary.lost``.
    ``codec`` encodes output videos (h264, hevc, vp9, mjpeg; default: H.264, VP9 for .webm).
    """
    frames = FrameOptions(side_by_side=side_by_side, temporal=temporal, max_frames=max_frames, progress=progress)
    src = open_source(source, live=live)
    with terminate_as_interrupt():  # SIGTERM stops loading the model too (its probe run)
        try:
            options = runtime_options(options, **fields)
            if options.performance == "auto":
                options = runtime_options(options, performance=auto_performance(live=src.live, device=options.device))
            translator = Translator(model, options)
            sinks = _open_sinks(src, translator, out, show, overwrite, codec)
            if frames.progress:
                log.info(f"{escape_control(translator.meta.source_domain)} -> "
                         f"{escape_control(translator.meta.target_domain)} with {translator.description}"
                         f"{_which_generator(model, options.direction)}")
            summary = run_pipeline(src, translator, sinks, frames)
        finally:
            src.close()
    if summary.frames == 0 and isinstance(src, VideoSource):
        raise CganError(f"{src.path} held no frame that could be decoded: nothing was written; the file is damaged "
                        f"or empty")
    if summary.frames == 0 and summary.skipped:
        first = next(iter(src.reasons.values()))
        if summary.skipped == 1:
            raise CganError(first)
        raise CganError(f"none of the {summary.skipped} images could be read (first: {first})")
    if frames.progress:
        log.info(summary.text())
        for path in src.skipped:
            log.warning(f"skipped {src.reasons[path]}")
        for sink in sinks:
            for note in sink.notes:
                log.warning(f"note: {note}")
    return _announce_outputs(summary, sinks, say=frames.progress)


def _which_generator(model: str | os.PathLike, direction: str | None) -> str:
    """For a run directory, which of its generators runs: the latest, and where the best is kept."""
    run = Path(model)
    if not run.is_dir():
        return ""
    name = f"G_{direction or A_TO_B}.safetensors"
    best = run / "best" / name
    return f"; {run / name}, the latest" + (f" (the best validated is {best})" if best.is_file() else "")


def _announce_outputs(summary: Summary, sinks: list[Sink], say: bool) -> Summary:
    """``summary`` with the files and folders the sinks left, each announced (``say``) as written."""
    summary.outputs = [str(sink.output) for sink in sinks if wrote(sink)]
    for output in summary.outputs if say else ():
        log.info(f"wrote {output}")
    return summary


def wrote(sink: Sink) -> bool:
    """Whether ``sink`` left an output to announce: a file that exists, or a folder it wrote images into."""
    output = sink.output
    return output is not None and output.exists() and getattr(sink, "written", 1) > 0


def webcam(model: str | os.PathLike, source: str = "0", *, size: tuple[int, int] | None = None,
           record: str | None = None, options: RuntimeOptions | None = None, side_by_side: bool = False,
           max_frames: int | None = None, show: bool | None = None, overwrite: bool = False, codec: str | None = None,
           **fields) -> Summary:
    """Translate a camera live in a window (``q`` or Esc quits), optionally recording what is shown.

    ``source`` is a camera index, a stream URL, or a video file played in real time as if it were a camera;
    ``size`` the capture size (height, width), as every size in cgan. A live view translates one frame per call,
    so ``options.batch`` is 1. Without a display the window is left out (``show=None`` decides by itself).
    """
    options = runtime_options(options, **{**fields, "batch": 1})
    if options.performance == "auto":
        options = runtime_options(options, performance=auto_performance(live=True, device=options.device))
    frames = FrameOptions(side_by_side=side_by_side, max_frames=max_frames, progress=False)
    if size and size[0] > size[1]:  # --size was width x height before: say how a landscape size is written
        log.warning(f"note: --size is height x width, so {size[0]}x{size[1]} asks for a portrait capture; "
                    f"{size[1]}x{size[0]} is {size[0]} wide")
    live = LiveSource(int(source) if str(source).isdigit() else str(source), size)
    if size and live.is_file:  # a file plays at its own size: a size asked for would be silently ignored
        live.close()
        raise CganError(f"--size sets a camera's capture size; {source} is a video file, which plays at its own "
                        f"size: leave --size out (or translate it with cgan translate --imgsz)")
    with terminate_as_interrupt():  # SIGTERM stops loading the model too (its probe run)
        try:
            translator = Translator(model, options)
            show = display_available() if show is None else show
            title = escape_control(f"cgan webcam: {translator.meta.target_domain}")
            sinks: list[Sink] = [WindowSink(title)] if show else []
            if record:
                sinks.append(VideoSink(Path(record), live.fps, overwrite, codec=codec))
            if not sinks:
                reason = "no display for the window" if opencv_has_windows() else GUI_HINT
                raise CganError(f"{reason}, and no --record file: nothing to show or save")
            without = "no display" if opencv_has_windows() else "this OpenCV has no windows"
            stop = "q or Esc quits" if show else f"{without}: recording only; Ctrl-C stops and keeps the recording"
            log.info(f"{live.label} -> {escape_control(translator.meta.target_domain)} with "
                     f"{translator.description}{_which_generator(model, options.direction)}; {stop}")
            summary = run_pipeline(live, translator, sinks, frames)
        finally:
            live.close()
    log.info(f"webcam: {summary.text()}")
    return _announce_outputs(summary, sinks, say=True)
