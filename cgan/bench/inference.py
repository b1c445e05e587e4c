"""``cgan benchmark``: every available backend at several sizes and batch sizes, against PyTorch fp32 eager
measured in the same run.

Each row: warm-up, then repeats until both a minimum count and a minimum time are reached
(capped), reporting the median and the 10th-90th percentile spread. This machine is shared and
noisy, so speed-ups are ratios within one run, never comparisons of absolute times across runs.

An exported file (.onnx) is measured without PyTorch where it is not installed: its multiply-adds come from the
graph's inferred shapes and the machine's ceiling from numpy's matrix multiply.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..devices import device_kind
from ..errors import CganError
from ..formats import exported_format
from ..shapes import parse_shape, round_up
from .candidates import Plan, exported_candidates, model_candidates
from .options import BenchmarkOptions, benchmark_options
from .machine import PeakMemory, ceilings, describe_machine

SIZES = {"256": (256, 256), "512": (512, 512), "720p": (720, 1280), "1080p": (1080, 1920)}


@dataclasses.dataclass
class Row:
    backend: str
    precision: str
    size: str
    batch: int
    ms_per_image: float
    spread_ms: tuple[float, float]
    images_per_s: float
    peak_mb: float | None
    speedup: float | None = None
    fraction_of_peak: float | None = None
    psnr_vs_fp32: float | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PipelineResult:
    """End-to-end ``translate`` of a clip against the backend alone, same run."""
    clip: str
    backend: str
    raw_model_fps: float
    pipeline_fps: float
    steady_fps: float
    first_frame_s: float
    ratio: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BenchmarkResult:
    """One ``cgan benchmark`` run: where it ran, the machine's ceilings, a row per backend, size and batch, the
    backends that could not run and why, and the video pipeline's rate."""
    model: str
    device: str
    machine: dict
    ceilings_gflops: dict[str, float]
    ceilings_measured_with: str
    baseline: str = ""
    rows: list[Row] = dataclasses.field(default_factory=list)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    pipeline: PipelineResult | None = None
    interrupted: bool = False

    def to_dict(self) -> dict:
        """Plain values for JSON (the keys the result files have always had)."""
        values = dataclasses.asdict(self)
        if self.pipeline is None:
            del values["pipeline"]
        if not self.interrupted:
            del values["interrupted"]
        return values


def parse_sizes(text: str, multiple: int) -> list[tuple[str, int, int]]:
    """``--sizes`` text (named sizes, HxW as every shape in cgan, or one side) -> (label, height, width), each side
    rounded up to the model's size multiple."""
    sizes = []
    for label in text.split(","):
        label = label.strip()
        if label in SIZES:
            h, w = SIZES[label]
        elif "x" in label:
            h, w = parse_shape(label, 2)
        elif label.isdigit():
            h = w = int(label)
        else:
            raise CganError(f"cannot read size {label!r}: use 256, 512, 720p, 1080p or HxW")
        sizes.append((label, round_up(h, multiple), round_up(w, multiple)))
    return sizes


def time_runs(run: Callable[[], np.ndarray], min_repeats: int = 5, min_seconds: float = 2.0,
              max_seconds: float = 30.0) -> list[float]:
    """Seconds per call after two warm-up calls."""
    run()
    run()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - started < min_seconds:
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
        if time.perf_counter() - started > max_seconds and len(times) >= 3:
            break
    return times


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two model outputs in [-1, 1] (a peak-to-peak of 2)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)) / 4  # [-1, 1] -> peak 1
    if not math.isfinite(mse):  # the backends' own checks refuse such outputs first; never report one as inf dB
        raise CganError("a backend produced NaN or infinite values: the model is broken; use an earlier checkpoint")
    return 10 * math.log10(1 / mse) if mse > 0 else float("inf")


def as_model_output(output: np.ndarray) -> np.ndarray:
    """Uint8 NHWC frames back to the model's float NCHW range, to compare with the fp32 reference."""
    from ..runtime.translator import to_model_input

    return to_model_input(list(output)) if output.dtype == np.uint8 else output


def _model_meta(model: str):
    from ..modelfile import read_meta

    return read_meta(model)


def _measure(backend, x: np.ndarray, max_seconds: float, device: str) -> tuple[float, tuple, float | None, np.ndarray]:
    """``backend`` on the batch ``x``: seconds per image (median), the 10th-90th percentile in ms per image,
    peak memory in MB, and its output for ``x``."""
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    with PeakMemory() as memory:
        times = time_runs(lambda: backend.run(x), max_seconds=max_seconds)
    per_image = statistics.median(times) / len(x)
    spread = np.percentile(times, [10, 90]) / len(x)
    peak_mb = memory.peak_mb if device == "cpu" else torch.cuda.max_memory_allocated() / 2**20
    return per_image, (round(1000 * spread[0], 2), round(1000 * spread[1], 2)), peak_mb, as_model_output(backend.run(x))


def benchmark(model: str, options: BenchmarkOptions | None = None, *, on_row: Callable[[Row], None] | None = None,
              **fields) -> BenchmarkResult:
    """Measure every backend available on ``options.device`` (auto: the GPU if PyTorch sees one, else the CPU)
    against PyTorch fp32 eager on the same device; returns machine, ceilings, rows, skipped backends and pipeline
    fps. ``options`` is a ``BenchmarkOptions``, or its fields by name (``batches=[1]``): ``calib`` (images) adds
    int8 rows for models without instance normalisation (students); ``also_compiled`` adds PyTorch compiled by
    torch.compile (and the pipeline runs compiled)."""
    from ..extras import torch_installed
    from ..modelfile import read_exported_meta, resolve_model_path

    options = benchmark_options(options, **fields)
    half, compiled = options.also_half, options.also_compiled
    device = device_kind(options.device)
    exported = exported_format(model) is not None
    model = str(model if exported else resolve_model_path(model))
    meta = read_exported_meta(model)[0] if exported else _model_meta(model)
    macs = macs_counter(model, meta)
    peaks = ceilings()
    result = BenchmarkResult(model=model, device=device, machine=describe_machine(), ceilings_gflops=peaks,
                             ceilings_measured_with="PyTorch" if torch_installed() else "numpy (no PyTorch)")
    with tempfile.TemporaryDirectory() as tmp:
        plan = Plan(model, device, half, Path(tmp), options.calib, compiled)
        find = exported_candidates if exported else model_candidates
        candidates, result.skipped = find(plan, list(options.backends))
        if not candidates:
            raise CganError(f"nothing here can run {Path(model).name} on {device}: "
                            + "; ".join(f"{k}: {v}" for k, v in result.skipped.items()))
        result.baseline = f"{candidates[0][0]} {candidates[0][1]}"
        try:
            _measure_rows(result, candidates, parse_sizes(options.sizes, meta.size_multiple), list(options.batches),
                          macs, peaks, device, options.max_seconds, on_row)
            if options.pipeline:
                result.pipeline = pipeline_fps(model, half=half, device=device, compiled=compiled)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the rows measured so far are the result
            result.interrupted = True
    return result


def macs_counter(model: str, meta) -> Callable[[int, int], int | None]:
    """Multiply-adds of one image of a given height and width: from an .onnx graph's shapes (no PyTorch needed),
    else from the network built on PyTorch's meta device (None for an engine where PyTorch is not installed)."""
    from ..apps.format_details import onnx_macs
    from ..extras import torch_installed

    if Path(model).suffix.lower() == ".onnx":
        import onnx

        graph = onnx.load(model, load_external_data=False)
        return lambda h, w: onnx_macs(Path(model), graph, meta.size_multiple, h, w)
    if not torch_installed():
        return lambda h, w: None
    import torch

    from ..nets import build_generator, count_macs

    with torch.device("meta"):  # shapes only: nothing is allocated or initialised
        net = build_generator(meta.config)
    return lambda h, w: count_macs(net, h, w)


def _measure_rows(result: BenchmarkResult, candidates: list, sizes: list, batches: list[int], count_macs, peaks: dict,
                  device: str, max_seconds: float, on_row: Callable[[Row], None] | None) -> None:
    """Every candidate at every size and batch, each row appended to ``result.rows`` as it is measured."""
    for label, h, w in sizes:
        macs = count_macs(h, w)
        for batch in batches:
            x = (np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32) * 2 - 1)
            reference, baseline = None, None
            for name, precision, factory in candidates:
                per_image, spread, peak_mb, output = _measure(factory(), x, max_seconds, device)
                row = Row(name, precision, f"{label} ({h}x{w})", batch, 1000 * per_image, spread, 1 / per_image,
                          peak_mb)
                if reference is None:
                    reference, baseline = output, per_image
                else:
                    row.psnr_vs_fp32 = round(psnr_db(output, reference), 1)
                row.speedup = baseline / per_image
                ceiling = peaks.get(f"{device} {precision}")
                if ceiling and macs:
                    row.fraction_of_peak = 2 * macs / per_image / 1e9 / ceiling
                result.rows.append(row)
                if on_row:
                    on_row(row)


def pipeline_fps(model: str, *, half: bool, width: int = 640, height: int = 360, frames: int = 48,
                 device: str = "auto", compiled: bool = False) -> PipelineResult:
    """End-to-end ``translate`` of a synthesised clip against the backend alone, same run, batch 1."""
    from ..precision import HALF
    from ..apps.translate import translate
    from ..runtime.options import RuntimeOptions
    from ..apps.translator import Translator
    from ..runtime.translator import to_model_input
    from ..sampledata import sample_photos_installed, write_panning_clip

    photo = "skimage:astronaut.png" if sample_photos_installed() else "synthetic"  # the light install has no photos
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        images = write_panning_clip(clip, width, height, frames, photo=photo)
        options = RuntimeOptions(device=device, precision=HALF if half else None, compile=compiled)
        translator = Translator(model, options)
        prepared = to_model_input([translator.prepare(images[0])])
        raw = 1 / statistics.median(time_runs(lambda: translator.backend.run(prepared), max_seconds=20))
        summary = translate(model, str(clip), str(Path(tmp) / "out.mp4"), options=options, progress=False)
    # The ratio is the steady rate's: a clip's first frame also waits for the backend's one-time work (compiling,
    # capturing CUDA graphs), which a short benchmark clip would otherwise charge to every frame.
    return PipelineResult(clip=f"{width}x{height}, {frames} frames of {photo.split(':')[-1]}",
                          backend=translator.description, raw_model_fps=raw, pipeline_fps=summary.fps,
                          steady_fps=summary.steady_fps, first_frame_s=summary.first_frame_seconds,
                          ratio=summary.steady_fps / raw)


def format_table(rows: list[Row] | list[dict]) -> str:
    """Rows as a Markdown table: measured here, or read back from a result file's JSON."""
    rows = [r.to_dict() if isinstance(r, Row) else r for r in rows]
    header = ("backend", "precision", "size", "batch", "ms/image", "p10-p90 ms", "images/s", "peak MB",
              "speed-up", "% of peak", "PSNR vs fp32")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = (r["backend"], r["precision"], r["size"], r["batch"], f"{r['ms_per_image']:.1f}",
                 f"{r['spread_ms'][0]:.1f}-{r['spread_ms'][1]:.1f}", f"{r['images_per_s']:.2f}",
                 "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}", f"{r['speedup']:.2f}x",
                 "-" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.0f}%",
                 "-" if r["psnr_vs_fp32"] is None else f"{r['psnr_vs_fp32']:.1f} dB")
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)
