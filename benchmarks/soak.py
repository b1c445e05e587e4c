"""Soak: a long synthesised stream through the video pipeline, watching memory and throughput.

    python -m benchmarks.soak --frames 10000 --json benchmarks/results/soak.json

A camera panning across a sample photo, generated frame by frame (nothing is held in memory),
goes through the same pipeline as ``cgan translate`` (reader thread, model, writer thread) into
a video file. Every ``--window`` frames the process's resident memory and the window's frame
rate are recorded: after the warm-up window, memory should stay flat (growth under 5%) and the
rate steady.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from .bench_models import student_generator

from cgan.bench.machine import describe_machine, resident_mb
from cgan.fileio import atomic_write_text
from cgan.runtime.options import FrameOptions
from cgan.runtime.pipeline import Pipeline
from cgan.runtime.video import VideoSink
from cgan.runtime.frames import Frame
from cgan.runtime.translator import Translator
from cgan.sampledata import load_photos


class PanningStream:
    """A file-like source of ``frames`` frames panning across a photo, generated as they are read."""

    live, fps, dropped, lost, skipped = False, 30.0, 0, 0, []

    def __init__(self, frames: int, width: int, height: int, on_frame) -> None:
        self.frames, self.width, self.height, self.on_frame = frames, width, height, on_frame
        photo = load_photos(("skimage:astronaut.png",))[0]
        self.photo = np.ascontiguousarray(np.concatenate([photo, photo[:, ::-1]], axis=1))

    def __len__(self) -> int:
        return self.frames

    def __iter__(self) -> Iterator[Frame]:
        span = self.photo.shape[1] - self.width
        for index in range(self.frames):
            x = int(abs((index * 3) % (2 * span) - span))
            self.on_frame(index)
            yield Frame(np.ascontiguousarray(self.photo[: self.height, x:x + self.width]), index)

    def close(self) -> None:
        pass


def soak(frames: int, window: int, width: int, height: int, backend: str) -> dict:
    windows: list[dict] = []
    started = [time.perf_counter()]

    def on_frame(index: int) -> None:
        if index and index % window == 0:
            now = time.perf_counter()
            windows.append({"frames": index, "rss_mb": round(resident_mb(), 1), "fps": window / (now - started[0])})
            started[0] = now

    with tempfile.TemporaryDirectory() as tmp:
        model = student_generator(Path(tmp), "student-tiny")
        translator = Translator(model, backend=backend, device="cpu")
        source = PanningStream(frames, width, height, on_frame)
        sink = VideoSink(Path(tmp) / "soak.mp4", 30.0, overwrite=True)
        summary = Pipeline(source, translator, [sink], FrameOptions(progress=False)).run()
    settled = windows[1:]  # the first window includes warm-up
    growth = (settled[-1]["rss_mb"] - settled[0]["rss_mb"]) / settled[0]["rss_mb"]
    rates = [w["fps"] for w in settled]
    return {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "frames": summary.frames,
            "size": f"{width}x{height}", "backend": translator.description, "windows": windows,
            "rss_growth_after_warmup": growth, "fps_median": statistics.median(rates),
            "fps_min": min(rates), "fps_max": max(rates),
            "command": f"python -m benchmarks.soak --frames {frames} --window {window} --size {width}x{height} "
                       f"--backend {backend}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    result = soak(args.frames, args.window, width, height, args.backend)
    for w in result["windows"]:
        print(f"{w['frames']:6d} frames: {w['rss_mb']:7.1f} MB resident, {w['fps']:6.1f} frames/s")
    print(f"resident memory after warm-up grew {100 * result['rss_growth_after_warmup']:+.1f}%; frame rate median "
          f"{result['fps_median']:.1f} (min {result['fps_min']:.1f}, max {result['fps_max']:.1f})")
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
