"""Video pipeline speed: end-to-end fps of ``cgan translate`` on a video file against the backend's raw
model fps at the same size and batch, measured in the same run; and the flicker figure of ``--temporal``.

    python -m benchmarks.pipeline_speed --model demo-out/run/best/G_AtoB.safetensors
    python -m benchmarks.pipeline_speed --model m.onnx --size 640x360 --frames 48 --batch 1,4

The clip is synthesised: a camera panning across a real photo (sample photos ship with scikit-image).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import cv2
import numpy as np

from cgan.bench.inference import time_runs
from cgan.precision import HALF
from cgan.apps.translate import translate
from cgan.runtime.temporal import flicker, warped_flicker
from cgan.runtime.translator import Translator, to_model_input
from cgan.sampledata import write_panning_clip


def read_rgb_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (item := capture.read())[0]:
        frames.append(cv2.cvtColor(item[1], cv2.COLOR_BGR2RGB))
    return frames


def raw_model_fps(translator: Translator, frames: list[np.ndarray], batch: int) -> float:
    """Frames per second of the backend alone on prepared batches (no decoding, padding or encoding)."""
    prepared = to_model_input([translator.prepare(f) for f in frames[:batch]])
    times = time_runs(lambda: translator.backend.run(prepared), min_repeats=max(3, len(frames) // batch))
    return batch / statistics.median(times)


def measure_flicker(model: str, width: int = 640, height: int = 360, frames: int = 48, half: bool = False) -> dict:
    """Consecutive-frame differences of the input clip and of its translations with and without --temporal."""
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = Path(tmp) / "clip.mp4"
        write_panning_clip(clip_path, width, height, frames)
        decoded = read_rgb_frames(clip_path)
        figures = {"input": {"consecutive_mad": flicker(decoded),
                             "motion_compensated_mad": warped_flicker(decoded, decoded)}}
        for temporal, name in ((False, "plain"), (True, "temporal")):
            out = Path(tmp) / f"{name}.mp4"
            translate(model, str(clip_path), str(out), temporal=temporal, precision=HALF if half else None,
                      progress=False)
            outputs = read_rgb_frames(out)
            figures[name] = {"consecutive_mad": flicker(outputs), "motion_compensated_mad": warped_flicker(decoded, outputs)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--size", default="640x360", help="clip WxH")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--batch", default="1,4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--half", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    results = {"model": args.model, "clip": f"{width}x{height}, {args.frames} frames", "speed": [], "flicker": {}}
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = Path(tmp) / "clip.mp4"
        frames = write_panning_clip(clip_path, width, height, args.frames)
        for batch in map(int, args.batch.split(",")):
            precision = HALF if args.half else None
            translator = Translator(args.model, batch=batch, precision=precision)
            raw, end_to_end, steady = [], [], []
            for r in range(args.repeats):  # alternate the two measurements
                raw.append(raw_model_fps(translator, frames, batch))
                summary = translate(args.model, str(clip_path), str(Path(tmp) / f"out{batch}_{r}.mp4"), batch=batch,
                                    precision=precision, progress=False)
                end_to_end.append(summary.fps)
                steady.append(summary.steady_fps)
            row = {"batch": batch, "backend": translator.description, "raw_model_fps": statistics.median(raw),
                   "pipeline_fps": statistics.median(end_to_end), "steady_fps": statistics.median(steady)}
            row["ratio"] = row["steady_fps"] / row["raw_model_fps"]  # after the first frame, as cgan benchmark
            results["speed"].append(row)
            print(f"batch {batch}: raw model {row['raw_model_fps']:.2f} fps, pipeline {row['pipeline_fps']:.2f} fps "
                  f"({row['steady_fps']:.2f} after the first frame), ratio {row['ratio']:.2f} ({row['backend']})",
                  flush=True)
    results["flicker"] = measure_flicker(args.model, width, height, args.frames, args.half)
    for name, row in results["flicker"].items():
        print(f"flicker {name:>8}: consecutive MAD {row['consecutive_mad']:.2f}, "
              f"motion-compensated MAD {row['motion_compensated_mad']:.2f} (0-255 scale)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
