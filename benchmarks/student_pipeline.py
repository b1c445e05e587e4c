"""The students and the filter in ``cgan translate`` of a 640x480 clip end to end, beside the model alone, in one
run.

    python -m benchmarks.student_pipeline --json benchmarks/results/distill/pipeline.json

Paths: PyTorch fp32; OpenVINO in latency mode, batch 1 (what ``cgan webcam`` runs: one frame at a
time); OpenVINO in throughput mode, batch 2 (two frames in parallel requests, for files). Each
path alternates the model alone (prepared frames, no decoding or encoding) with the whole command,
``--repeats`` times, and reports the medians. Speed does not depend on the weights, so the models
are built with their initial weights. The clip is a camera panning across a sample photo.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from .bench_models import CPU_MODELS, student_generator

from cgan.bench.inference import time_runs
from cgan.bench.machine import describe_machine
from cgan.devices import cpu_has_fast_bf16
from cgan.export import export_onnx
from cgan.fileio import atomic_write_text
from cgan.apps.translate import translate
from cgan.runtime.options import RuntimeOptions
from cgan.runtime.video import VideoSource
from cgan.runtime.translator import Translator
from cgan.sampledata import write_panning_clip


def paths(precision: str | None) -> list[tuple[str, str, RuntimeOptions]]:
    """(label, which file, options) for each path measured; ``precision`` is OpenVINO's (bf16 where the CPU has it)."""
    name = precision or "fp32"
    return [("PyTorch fp32", "model", RuntimeOptions(device="cpu")),
            (f"OpenVINO {name}, latency, batch 1", "onnx",
             RuntimeOptions(backend="openvino", device="cpu", precision=precision)),
            (f"OpenVINO {name}, throughput, batch 2", "onnx",
             RuntimeOptions(backend="openvino", device="cpu", precision=precision, performance="throughput", batch=2))]


def model_alone_fps(translator: Translator, frames: list) -> float:
    """Frames per second of the translator's model on prepared frames, ``batch`` at a time."""
    batch = [translator.preprocess(frame.image) for frame in frames[:translator.batch]]
    times = time_runs(lambda: translator.infer(batch), max_seconds=5)
    return translator.batch / statistics.median(times)


def measure(presets: list[str], repeats: int, frames: int) -> dict:
    precision = "bf16" if cpu_has_fast_bf16() else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        clip = out / "clip.mp4"
        write_panning_clip(clip, 640, 480, frames)
        decoded = list(VideoSource(clip))
        for preset in presets:
            files = {"model": student_generator(out, preset)}
            files["onnx"], _ = export_onnx(files["model"], out / f"{preset}.onnx")
            for label, which, options in paths(precision):
                translator = Translator(files[which], options)
                alone, whole = [], []
                for repeat in range(repeats):
                    alone.append(model_alone_fps(translator, decoded))
                    summary = translate(files[which], str(clip), str(out / "out.mp4"), options=options,
                                        overwrite=True, progress=False)
                    whole.append(summary.fps)
                row = {"model": preset, "path": label, "backend": translator.description,
                       "model_alone_fps": statistics.median(alone), "fps": statistics.median(whole),
                       "fps_runs": [round(f, 2) for f in whole]}
                rows.append(row)
                print(f"{preset:>13} {label}: {row['fps']:.1f} frames/s end to end (runs "
                      f"{', '.join(f'{f:.1f}' for f in whole)}), model alone {row['model_alone_fps']:.1f}", flush=True)
    return {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "clip": f"640x480, {frames} frames",
            "rows": rows, "command": f"python -m benchmarks.student_pipeline --repeats {repeats} --frames {frames}"
                                     + (f" --students {','.join(presets)}" if presets != CPU_MODELS else "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default=",".join(CPU_MODELS), help="presets to measure")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.students.split(","), args.repeats, args.frames)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
