"""``translate`` and ``webcam``: the functions behind ``cgan translate`` and ``cgan webcam``."""
from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import CganError
from ..images import IMAGE_SUFFIXES
from .pipeline import Summary, run_pipeline
from .sinks import ImageFolderSink, VideoSink, WindowSink, display_available
from .sources import ImageSource, LiveSource, VideoSource, open_source
from .translator import Translator


def _image_sink(source: ImageSource, out: str | None, overwrite: bool) -> ImageFolderSink:
    single = len(source.files) == 1 and out is not None and Path(out).suffix.lower() in IMAGE_SUFFIXES
    sink = ImageFolderSink(Path(out or "translated"), overwrite, Path(out) if single else None)
    if not overwrite:  # refuse before any work, not half-way through a folder
        taken = [t for t in (sink.target(f.relative_to(source.root).as_posix()) for f in source.files) if t.exists()]
        if taken:
            raise CganError(f"{len(taken)} outputs already exist (first: {taken[0]}): choose another --out or "
                            f"pass --overwrite")
    return sink


def _video_path(source_path: Path | None, out: str | None, target: str) -> Path:
    if out is None:
        stem = source_path.stem if source_path else "camera"
        return Path(f"{stem}_{target}.mp4")
    path = Path(out)
    if path.is_dir() or not path.suffix:
        return path / f"{source_path.stem if source_path else 'camera'}_{target}.mp4"
    return path


def translate(model: str | os.PathLike, source: str, out: str | None = None, direction: str = "AtoB",
              batch: int = 1, half: bool = False, precision: str | None = None, device: str = "auto",
              provider: str | None = None, imgsz: int | None = None, keep_imgsz: bool = False,
              temporal: bool = False, side_by_side: bool = False, show: bool = False, overwrite: bool = False,
              max_frames: int | None = None, progress: bool = True) -> Summary:
    """Translate an image, folder, glob, video, camera or stream; outputs keep names, sizes and frame rates."""
    src = open_source(source)
    try:
        translator = Translator(model, device, half, batch, direction, precision, provider, imgsz, keep_imgsz)
        sinks: list = []
        if isinstance(src, ImageSource):
            sinks.append(_image_sink(src, out, overwrite))
        elif isinstance(src, VideoSource):
            sinks.append(VideoSink(_video_path(src.path, out, translator.meta.target_domain), src.fps, overwrite,
                                   audio_from=src.path))
        elif out is not None:
            sinks.append(VideoSink(_video_path(None, out, translator.meta.target_domain), src.fps, overwrite))
        if show:
            sinks.append(WindowSink(f"cgan: {translator.meta.source_domain} -> {translator.meta.target_domain}"))
        if not sinks:
            raise CganError("a live source needs --out FILE.mp4 (to record) or --show (to watch)")
        if progress:
            click.echo(f"{translator.meta.source_domain} -> {translator.meta.target_domain} with "
                       f"{translator.description}", err=True)
        summary = run_pipeline(src, translator, sinks, batch, side_by_side, temporal, max_frames, progress)
    finally:
        src.close()
    if summary.frames == 0 and summary.skipped:
        raise CganError(f"none of the {summary.skipped} images could be read: they are damaged or not images")
    if progress:
        click.echo(summary.text(), err=True)
        for sink in sinks:
            for note in getattr(sink, "notes", []):
                click.echo(f"note: {note}", err=True)
            if isinstance(sink, (VideoSink, ImageFolderSink)):
                where = getattr(sink, "path", None) or sink.single_file or sink.root
                click.echo(f"wrote {where}", err=True)
    return summary


def webcam(model: str | os.PathLike, camera: str = "0", size: tuple[int, int] | None = None, half: bool = False,
           record: str | None = None, side_by_side: bool = False, direction: str = "AtoB", device: str = "auto",
           precision: str | None = None, max_frames: int | None = None, show: bool | None = None,
           overwrite: bool = False) -> Summary:
    """Translate a camera live in a window (``q`` or Esc quits), optionally recording what is shown.

    ``camera`` is an index, a stream URL, or a video file played in real time as if it were a camera.
    Without a display the window is left out (``show=None`` decides by itself).
    """
    source = LiveSource(int(camera) if str(camera).isdigit() else str(camera), size)
    try:
        translator = Translator(model, device, half, 1, direction, precision)
        show = display_available() if show is None else show
        sinks: list = [WindowSink(f"cgan webcam: {translator.meta.target_domain}")] if show else []
        if record:
            sinks.append(VideoSink(Path(record), source.fps, overwrite))
        if not sinks:
            raise CganError("no display for the window and no --record file: nothing to show or save")
        click.echo(f"{source.label} -> {translator.meta.target_domain} with {translator.description}"
                   f"{'' if show else ' (no display: recording only)'}; q or Esc quits", err=True)
        summary = run_pipeline(source, translator, sinks, 1, side_by_side, False, max_frames, progress=False)
    finally:
        source.close()
    click.echo(f"webcam: {summary.text()}", err=True)
    return summary
