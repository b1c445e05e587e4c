"""The host's side of the video pipeline: what decoding, pixel work and encoding sustain on this machine's CPU
when the model is fast (a GPU's), with the writer's RGB to 4:2:0 conversion done by OpenCV (cgan's) and by
the encoder (FFmpeg's, the earlier way) side by side in one run.

    python -m benchmarks.host_pipeline --json benchmarks/results/host_pipeline.json

The model is replaced by a stand-in that takes uint8 frames as the GPU backends do: a copy (the host's
ceiling), and a wait as long as resnet9's compiled fp16 call on the GPU of results/all.json at that size,
with the GIL released as a GPU wait releases it. The clip is H.264, as most users' are: a camera panning
across a sample photo.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from cgan.bench.machine import describe_machine
from cgan.fileio import atomic_write_text
from cgan.images import pad_to_multiple
from cgan.runtime.options import FrameOptions
from cgan.runtime.pipeline import Pipeline
from cgan.runtime.frames import Frame
from cgan.runtime.video import VideoSink, VideoSource
from cgan.sampledata import write_panning_clip

HERE = Path(__file__).resolve().parent
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


class EncoderConvertsSink(VideoSink):
    """The earlier writer: RGB frames handed to the encoder, which converts them to 4:2:0 itself."""

    def _picture(self, image: np.ndarray):
        import av

        return av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")


class StandIn:
    """What the pipeline needs of a Translator, for a backend that takes and returns uint8 frames (as PyTorch
    on CUDA does): padding in the reader, the crop in the writer, and between them a copy or a wait."""

    batch = 1

    def __init__(self, wait_ms: float) -> None:
        self.wait_ms = wait_ms
        self.description = f"a wait of {wait_ms:.1f} ms" if wait_ms else "a copy"

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        return pad_to_multiple(image, 4)

    def infer(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self.wait_ms:
            time.sleep(self.wait_ms / 1000)  # a GPU call: the GIL is free meanwhile
        return [x.copy() for x in inputs]

    def postprocess(self, output: np.ndarray, original: np.ndarray) -> np.ndarray:
        return output[:original.shape[0], :original.shape[1]]


def gpu_model_ms(size: str) -> float | None:
    """resnet9's compiled fp16 call at ``size`` on the GPU of the stored GPU results, in ms (None if absent)."""
    stored = HERE / "results" / "all.json"
    rows = json.loads(stored.read_text()).get("gpu", {}).get("compiled_rows", []) if stored.is_file() else []
    found = [r["ms_per_image"] for r in rows if r["backend"] == "torch cuda compiled+graphs"
             and r["precision"] == "fp16" and r["size"].startswith(size)]
    return found[0] if found else None


def per_frame_ms(action, frames: int) -> float:
    started = time.perf_counter()
    action()
    return 1000 * (time.perf_counter() - started) / frames


def decode_all(clip: Path) -> None:
    source = VideoSource(clip)
    for _ in source:
        pass
    source.close()


def encode_all(sink_class, images: list[np.ndarray], out: Path) -> None:
    sink = sink_class(out, 30.0, overwrite=True)
    for i, image in enumerate(images):
        sink.write(Frame(image, i), image)
    sink.close()


def pipeline_fps(clip: Path, out: Path, sink_class, wait_ms: float) -> float:
    """Frames per second from opening the clip to the output's last frame written (the encoder's flush too)."""
    started = time.perf_counter()
    source = VideoSource(clip)
    try:
        summary = Pipeline(source, StandIn(wait_ms), [sink_class(out, source.fps, overwrite=True)],
                           FrameOptions(progress=False)).run()
    finally:
        source.close()
    return summary.frames / (time.perf_counter() - started)


def measure(size: str, frames: int, repeats: int) -> dict:
    width, height = SIZES[size]
    wait = gpu_model_ms(size)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        images = write_panning_clip(Path(tmp) / "mpeg4.mp4", width, height, frames, fps=30.0, step=4)
        encode_all(VideoSink, images, clip)
        out = Path(tmp) / "out.mp4"
        sinks = {"OpenCV": VideoSink, "encoder": EncoderConvertsSink}
        costs = {"decode to RGB": [], **{f"encode, converted by {k}": [] for k in sinks}}
        runs: dict[str, list[float]] = {f"{model}, converted by {k}": [] for model in ("copy", "wait") for k in sinks}
        for _ in range(repeats):  # alternating, so that both sides see the same machine
            costs["decode to RGB"].append(per_frame_ms(lambda: decode_all(clip), frames))
            for name, sink_class in sinks.items():
                costs[f"encode, converted by {name}"].append(
                    per_frame_ms(lambda: encode_all(sink_class, images, out), frames))
                runs[f"copy, converted by {name}"].append(pipeline_fps(clip, out, sink_class, 0.0))
                if wait:
                    runs[f"wait, converted by {name}"].append(pipeline_fps(clip, out, sink_class, wait))
    return {"size": size, "clip": f"{width}x{height} H.264, {frames} frames", "model_ms": wait,
            "stage_ms": {k: statistics.median(v) for k, v in costs.items()},
            "pipeline_fps": {k: statistics.median(v) for k, v in runs.items() if v}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="720p,1080p")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for size in args.sizes.split(","):
        row = measure(size, args.frames, args.repeats)
        print(json.dumps(row, indent=1), flush=True)
        rows.append(row)
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "rows": rows,
              "command": f"python -m benchmarks.host_pipeline --sizes {args.sizes} --frames {args.frames} "
                         f"--repeats {args.repeats}"}
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
