"""A frame's last step on the backends that return floats (ONNX Runtime, LiteRT, ncnn, PyTorch on the CPU): the
model's 3xHxW output turned into an HxWx3 uint8 image by NumPy (``to_pixels`` and a transpose, the earlier way)
and by OpenCV (``to_image_pixels``, cgan's), the conversion alone and ``cgan translate`` of a 640x480 clip end to
end, side by side in one run.

    python -m benchmarks.float_output --json benchmarks/results/float_output.json

Both give the same pixels (tests/test_pixels.py). The translations alternate between the two, repeat after
repeat; the model keeps its initial weights (speed does not depend on them; int8 is calibrated on sample photos).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from cgan.pixels import to_image_pixels, to_pixels

from .bench_models import student_generator

SIZES = ((480, 640), (1080, 1920))


def numpy_image_pixels(values: np.ndarray) -> np.ndarray:
    """The earlier conversion: NumPy's steps, then the transpose (made contiguous, as the frame is written)."""
    return np.ascontiguousarray(to_pixels(values).transpose(1, 2, 0))


CONVERSIONS = {"numpy": numpy_image_pixels, "opencv": to_image_pixels}


def conversion_ms(size: tuple[int, int], rounds: int) -> dict[str, float]:
    """Median milliseconds of each conversion of a tanh-shaped output of ``size``, in alternating rounds."""
    values = np.tanh(np.random.default_rng(0).normal(size=(3, *size))).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in CONVERSIONS}
    for _ in range(rounds):
        for name, convert in CONVERSIONS.items():
            start = time.perf_counter()
            convert(values)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def models(folder: Path) -> list[tuple[str, str, Path, str]]:
    """(model, path, file, backend): the filter in ONNX Runtime, and student-tiny as LiteRT int8 where
    litert-torch and LiteRT Quantizer are installed."""
    from cgan.bench.formats import litert_convertible
    from cgan.export import export_onnx
    from cgan.sampledata import build_unpaired_dataset

    found = [("filter", "ONNX Runtime fp32", export_onnx(student_generator(folder, "filter"),
                                                         folder / "filter.onnx")[0], "onnxruntime")]
    if litert_convertible(quantiser=True):
        from cgan.export.tflite import export_tflite

        build_unpaired_dataset(folder / "data", n_train=32, n_test=2, size=256)
        tflite = export_tflite(student_generator(folder, "student-tiny"), folder / "student-tiny.int8.tflite",
                               size=(480, 640), precision="int8", calib=str(folder / "data" / "trainA"))[0]
        found.append(("student-tiny", "LiteRT int8 (XNNPACK)", tflite, "litert"))
    return found


def translations(folder: Path, frames: int, repeats: int) -> list[dict]:
    """``cgan translate`` of the clip through each model with each conversion, alternating."""
    import cgan.runtime.translator as translator
    from cgan.apps.translate import translate
    from cgan.runtime.options import RuntimeOptions
    from cgan.sampledata import write_panning_clip

    clip = folder / "clip.mp4"
    write_panning_clip(clip, 640, 480, frames)
    rows = []
    for model, path, file, backend in models(folder):
        runs: dict[str, list[float]] = {name: [] for name in CONVERSIONS}
        for _ in range(repeats):
            for name, convert in CONVERSIONS.items():
                translator.to_image_pixels = convert  # what Translator.postprocess calls
                runs[name].append(translate(str(file), str(clip), str(folder / "out.mp4"), overwrite=True,
                                            options=RuntimeOptions(backend=backend, device="cpu"),
                                            progress=False).fps)
        translator.to_image_pixels = to_image_pixels
        rows.append({"model": model, "path": path, **{f"{name}_fps": statistics.median(r) for name, r in runs.items()},
                     "runs": {name: [round(f, 2) for f in r] for name, r in runs.items()}})
        print(f"{model:>13} {path}: " + ", ".join(f"{name} {rows[-1][f'{name}_fps']:.1f}" for name in CONVERSIONS)
              + " frames/s end to end", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="conversions timed at each size")
    parser.add_argument("--repeats", type=int, default=3, help="translations of the clip with each conversion")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/float_output.json"))
    args = parser.parse_args()
    from cgan.bench.machine import describe_machine
    from cgan.fileio import atomic_write_text

    conversion = []
    for size in SIZES:
        ms = conversion_ms(size, args.rounds)
        conversion.append({"size": f"{size[1]}x{size[0]}", **{f"{name}_ms": v for name, v in ms.items()}})
        print(f"{size[1]}x{size[0]}: " + ", ".join(f"{name} {v:.2f} ms" for name, v in ms.items()), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = translations(Path(tmp), args.frames, args.repeats)
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "conversion": conversion,
              "translate": rows, "clip": f"640x480, {args.frames} frames",
              "command": f"python -m benchmarks.float_output --rounds {args.rounds} --repeats {args.repeats} "
                         f"--frames {args.frames}"}
    atomic_write_text(args.json, json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
