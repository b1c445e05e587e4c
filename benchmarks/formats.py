"""Every export format and precision that runs here, side by side in one run, for the teacher, the students and the
filter: images per second at 256x256 and 640x480 (batch 1, the backend alone), PSNR against PyTorch fp32 on a
photo, and the size of what a device downloads (LiteRT where litert-torch is installed: cgan[tflite]); then ``cgan translate`` of a 640x480 clip through the fastest
path of each small model, end to end beside the model alone.

    python -m benchmarks.formats --json benchmarks/results/formats.json

Speed does not depend on the weights' values, but precision errors do: the models' weights are moved off their
identity start (students, filter) by small random changes, so that an output is not its input and a format that
loses precision shows it. int8 is calibrated on sample photos (the generators without instance normalisation).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from .bench_models import CPU_MODELS

from cgan.apps.translate import translate
from cgan.bench.formats import compare_formats, litert_convertible
from cgan.bench.inference import time_runs
from cgan.bench.machine import describe_machine
from cgan.export import export_onnx
from cgan.export.openvino_ir import export_openvino
from cgan.fileio import atomic_write_text
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config
from cgan.runtime.options import RuntimeOptions
from cgan.runtime.translator import Translator
from cgan.sampledata import TEST_PHOTOS, build_unpaired_dataset, load_photos, write_panning_clip

SIZES = [(256, 256), (480, 640)]
MODELS = ("resnet9", *CPU_MODELS)


def model_file(folder: Path, preset: str) -> Path:
    torch.manual_seed(0)
    config = preset_config(preset)
    net = build_generator(config)
    with torch.no_grad():  # off the identity start: an output that differs from its input
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return save_model(net, folder / f"{preset}.safetensors", new_meta(config, preset, "photo", "graded"))


def sample_photo() -> np.ndarray:
    """A held-out sample photo (not among the calibration images' sources)."""
    return load_photos(TEST_PHOTOS[:1])[0]


def measure_model(preset: str, folder: Path, calib: Path, seconds: float) -> list[dict]:
    def show(row) -> None:
        print(f"{preset:>13} {row.format:>24} {row.precision:>13}: "
              + ", ".join(f"{rate:.1f}/s at {size}" for size, rate in row.images_per_s.items())
              + f", {row.file_mb:.2f} MB, PSNR {row.psnr_vs_fp32['480x640']}", flush=True)

    rows = compare_formats(model_file(folder, preset), sample_photo(), sizes=SIZES, calib=str(calib),
                           max_seconds=seconds, on_row=show)
    return [{"model": preset, **row.to_dict()} for row in rows]


def fastest(rows: list[dict], preset: str) -> dict:
    """The fastest path at 640x480 that keeps at least 30 dB against PyTorch fp32."""
    good = [r for r in rows if r["model"] == preset and (r["psnr_vs_fp32"]["480x640"] or 0) >= 30]
    return max(good, key=lambda r: r["images_per_s"]["480x640"])


def end_to_end(rows: list[dict], folder: Path, calib: Path, frames: int) -> list[dict]:
    """``cgan translate`` of a 640x480 clip through each small model's fastest path, and through its fp32 IR,
    beside the same translator's model alone (prepared frames), medians of alternating repeats."""
    clip = folder / "clip.mp4"
    write_panning_clip(clip, 640, 480, frames)
    photo = cv2.resize(sample_photo(), (640, 480), interpolation=cv2.INTER_AREA)
    results = []
    for preset in dict.fromkeys(r["model"] for r in rows if r["model"] in CPU_MODELS):
        best = fastest(rows, preset)
        for fmt, precision in dict.fromkeys([(best["format"], best["precision"]), ("OpenVINO IR", "fp32")]):
            path = export_path(folder, preset, fmt, precision, calib)
            engine = "openvino" if "OpenVINO" in fmt else "litert" if "LiteRT" in fmt else "onnxruntime"
            options = RuntimeOptions(backend=engine, device="cpu")
            translator = Translator(path, options)
            prepared = [translator.preprocess(photo)]
            alone, whole = [], []
            for _ in range(3):
                alone.append(1 / statistics.median(time_runs(lambda: translator.infer(prepared), max_seconds=4)))
                whole.append(translate(path, str(clip), str(folder / "out.mp4"), options=options, overwrite=True,
                                       progress=False).fps)
            results.append({"model": preset, "format": fmt, "precision": precision, "backend": translator.description,
                            "fps": statistics.median(whole), "model_alone_fps": statistics.median(alone)})
            print(f"{preset:>13} {fmt} {precision}: {results[-1]['fps']:.1f} frames/s end to end, model alone "
                  f"{results[-1]['model_alone_fps']:.1f}", flush=True)
    return results


def export_path(folder: Path, preset: str, fmt: str, precision: str, calib: Path) -> Path:
    """The file a row of ``compare_formats`` ran, written again (its files were temporary)."""
    model = folder / f"{preset}.safetensors"
    kind = precision.split()[0]  # "int8 (NNCF)" -> int8, "fp16 weights" -> fp16
    extra = {"calib": str(calib)} if kind == "int8" else {}
    if fmt.startswith("LiteRT"):
        from cgan.export.tflite import export_tflite

        return export_tflite(model, folder / f"{preset}.{kind}.480x640.tflite", size=(480, 640), precision=kind,
                             overwrite=True, **extra)[0]
    if fmt == "OpenVINO IR":
        return export_openvino(model, folder / f"{preset}.{kind}.xml", precision=kind, overwrite=True, **extra)[0]
    return export_onnx(model, folder / f"{preset}.{kind}.onnx", precision=kind, overwrite=True, **extra)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="Timing per row and size.")
    parser.add_argument("--frames", type=int, default=150, help="Frames of the 640x480 clip.")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/formats.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_unpaired_dataset(folder / "data", n_train=32, n_test=2, size=256)
        rows = []
        for preset in args.models.split(","):
            rows += measure_model(preset, folder, folder / "data" / "trainA", args.seconds)
        pipeline = end_to_end(rows, folder, folder / "data" / "trainA", args.frames)
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "rows": rows,
              "pipeline": pipeline, "clip": f"640x480, {args.frames} frames",
              "command": f"python -m benchmarks.formats --seconds {args.seconds:g} --frames {args.frames}"
                         + (f" --models {args.models}" if args.models != ",".join(MODELS) else "")
                         + (" (with cgan[tflite] installed, for the LiteRT rows)" if litert_convertible() else "")}
    atomic_write_text(args.json, json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
