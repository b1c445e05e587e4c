"""``cgan translate``, ``cgan webcam`` and ``cgan benchmark``: the commands that run a model."""
from __future__ import annotations

import json
import logging
import os

import click

from .cli_options import JSON_SUMMARY, flags_from, print_json
from .errors import EXIT_INTERRUPTED, CganError
from .option_fields import fields_by_name
from .precision import precision_from_flags
from .runtime.codecs import CODECS
from .bench.options import BenchmarkOptions
from .runtime.options import FrameOptions, RuntimeOptions
from .shapes import parse_dynamic_size

log = logging.getLogger("cgan.cli")

HALF_OPTION = click.option("--half", is_flag=True, help="Short for --precision half.")
MODEL_OPTION = click.option("--model", required=True, type=click.Path(),
                            help="Run directory, .safetensors, or an exported .onnx, .xml (OpenVINO), .ncnn.param, "
                                 ".tflite (LiteRT) or .engine.")


@click.command()
@MODEL_OPTION
@click.option("--source", required=True, help="Image, folder (recursive), glob, video, camera index or rtsp/http URL.")
@click.option("--out", type=click.Path(), default=None,
              help="Output folder for images (default: translated/), or video file (default: <name>_<domain>.mp4).")
@flags_from(RuntimeOptions)
@HALF_OPTION
@flags_from(FrameOptions, only=("temporal", "side_by_side", "max_frames"))
@click.option("--show", is_flag=True, help="Show the result in a window with the frame rate (q or Esc quits).")
@click.option("--codec", type=click.Choice(list(CODECS)), default=None,
              help="Video encoder [default: h264; vp9 for .webm]. Browsers play h264 and vp9.")
@click.option("--live", is_flag=True,
              help="Read a URL as a live stream (newest frame wins, reconnects); an http(s) address of a video "
                   "file is otherwise read as a file, every frame.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@JSON_SUMMARY
def translate(model: str, source: str, out: str | None, half: bool, show: bool, codec: str | None, live: bool,
              overwrite: bool, as_json: bool, **fields) -> int | None:
    """Apply a model to images, folders, videos, cameras or streams.

    Images keep their names and sizes under --out; a video becomes a video with the source's fps, size and
    frame count, encoded H.264 (plays in browsers; --codec to choose) with the source's audio copied. Any
    image size works.

    \b
    Examples:
      cgan translate --model tom2jerry.onnx --source clip.mp4 --out clip_jerry.mp4
      cgan translate --model runs/tom2jerry --source photos/ --out jerry_photos/ --batch 4 --half
      cgan translate --model tom2jerry.engine --source rtsp://camera.local/stream --show
    """
    from .apps.translate import translate as run_translate

    fields["precision"] = precision_from_flags(fields["precision"], half=half)
    options = RuntimeOptions(**fields_by_name(RuntimeOptions, fields))
    summary = run_translate(model, source, out, options=options, show=show, overwrite=overwrite,
                            live=True if live else None, codec=codec, **fields)
    if as_json:
        print_json(summary.to_dict())
    if summary.interrupted:  # a live source stopped by Ctrl-C or SIGTERM: its recording is kept
        return EXIT_INTERRUPTED
    if summary.lost:
        raise CganError(f"{summary.lost} of {summary.frames + summary.lost} frames of {source} could not be decoded "
                        f"(the video is damaged): the output has the other {summary.frames}; repair or re-encode "
                        f"the source to keep every frame")


@click.command()
@MODEL_OPTION
@click.option("--source", "--camera", "source", default="0", show_default=True,
              help="Camera index, stream URL, or a video file played live (--camera is the old name).")
@click.option("--size", default=None, callback=lambda ctx, param, value: value and parse_dynamic_size(value),
              help="Capture size height x width, as every size in cgan, e.g. 480x640 [default: the camera's].")
@click.option("--record", type=click.Path(), default=None, help="Also save what is shown to this video file.")
# A live view translates one frame per call (the newest wins), so the runtime's --batch is left out.
@flags_from(RuntimeOptions, exclude=("batch",))
@HALF_OPTION
@flags_from(FrameOptions, only=("side_by_side", "max_frames"))
@click.option("--codec", type=click.Choice(list(CODECS)), default=None,
              help="Encoder of the --record video [default: h264; vp9 for .webm].")
@click.option("--overwrite", is_flag=True, help="Replace an existing --record file.")
def webcam(model: str, source: str, size: tuple[int, int] | None, half: bool, record: str | None,
           codec: str | None, overwrite: bool, **fields) -> int:
    """Translate a camera live in a window with the fps shown; q or Esc quits.

    The newest frame always wins: frames the model cannot keep up with are dropped and counted. The summary
    (frames, fps, dropped) is printed at the end. Without a display, --record still works.

    \b
    Examples:
      cgan webcam --model tom2jerry.engine
      cgan webcam --model tom2jerry.onnx --source 1 --size 480x640 --record session.mp4 --side-by-side
    """
    from .apps.translate import webcam as run_webcam

    fields["precision"] = precision_from_flags(fields["precision"], half=half)
    options = RuntimeOptions(**fields_by_name(RuntimeOptions, fields))
    summary = run_webcam(model, source, size=size, record=record, options=options, overwrite=overwrite, codec=codec,
                         **fields)
    # Stopped by Ctrl-C or SIGTERM: the recording is kept (printed above); the exit code says how it ended, as
    # train's and translate's do.
    return EXIT_INTERRUPTED if summary.interrupted else 0


@click.command()
@click.option("--model", required=True, type=click.Path(),
              help="A run directory or .safetensors model file; or an exported .onnx, .xml, .ncnn.param, .tflite or "
                   ".engine file, measured on the backends that run it against the first of them.")
@flags_from(BenchmarkOptions)
@click.option("--formats", "across_formats", is_flag=True,
              help="Instead: the model in every export format and precision that runs here (ONNX, OpenVINO IR, "
                   "ncnn, LiteRT where litert-torch is installed; int8 with --calib), side by side on the CPU at --sizes, batch 1: images/s, PSNR against "
                   "PyTorch fp32 on a photo, and file size.")
@click.option("--json", "json_path", type=click.Path(), default=None, help="Also write the results as JSON.")
@click.option("--overwrite", is_flag=True, help="Replace the --json file if it exists.")
def benchmark(model: str, across_formats: bool, json_path: str | None, overwrite: bool, **fields) -> int:
    """Measure inference speed of every available backend against PyTorch fp32 eager on the same device (for an
    exported file: against the first backend that runs it).

    A table of ms per image (median and 10th-90th percentile), images/s, peak memory, speed-up,
    fraction of the machine's measured matmul peak, and PSNR of reduced precision against fp32.

    \b
    Examples:
      cgan benchmark --model runs/tom2jerry --sizes 256,720p --batch 1
      cgan benchmark --model tom2jerry.safetensors --json bench.json
      cgan benchmark --model tom2jerry.onnx --sizes 256,720p --batch 1
    """
    from .bench.inference import benchmark as run_benchmark, format_table
    from .fileio import atomic_write_text, refuse_overwrite

    if json_path:  # before minutes of measuring, not after
        refuse_overwrite(json_path, overwrite)
    options = BenchmarkOptions(**fields)
    if across_formats:
        return _benchmark_formats(model, options, json_path)

    def show(row) -> None:
        log.info(f"  {row.backend:>18} {row.precision:>5} {row.size:>20} batch {row.batch}: "
                 f"{row.ms_per_image:8.1f} ms/image, {row.speedup:.2f}x")

    from .interrupt import terminate_as_interrupt

    with terminate_as_interrupt():  # SIGTERM, like Ctrl-C, ends the measuring and keeps the rows so far
        result = run_benchmark(model, options, on_row=show)
    machine = result.machine
    click.echo(f"machine: {machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu'] or 'none'}; "
               + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()))
    click.echo("ceilings: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in result.ceilings_gflops.items()))
    click.echo(f"baseline (speed-up 1.00x, PSNR reference): {result.baseline}")
    click.echo(format_table(result.rows))
    for name, reason in result.skipped.items():
        click.echo(f"skipped {name}: {reason}")
    if result.pipeline:
        p = result.pipeline
        click.echo(f"video pipeline ({p.clip}, {p.backend}): {p.pipeline_fps:.2f} fps end to end, "
                   f"{p.steady_fps:.2f} after the first frame ({p.first_frame_s:.1f} s), "
                   f"{p.raw_model_fps:.2f} fps model alone (ratio {p.ratio:.2f}, after the first frame)")
    if json_path:
        atomic_write_text(json_path, json.dumps(result.to_dict(), indent=2))
    if result.interrupted:
        log.warning(f"interrupted: the {len(result.rows)} rows above were measured before")
        return EXIT_INTERRUPTED
    return 0


def _benchmark_formats(model: str, options: BenchmarkOptions, json_path: str | None) -> int:
    """``cgan benchmark --formats``: every format and precision of a model file side by side (bench/formats.py)."""
    from .bench.formats import compare_formats, format_rows_table
    from .bench.inference import parse_sizes
    from .bench.machine import describe_machine
    from .fileio import atomic_write_text
    from .formats import exported_format
    from .modelfile import read_meta, resolve_model_path
    from .sampledata import TEST_PHOTOS, load_photos, sample_photos_installed, synthetic_photo

    if exported_format(model):
        raise CganError(f"--formats exports the model in each format: give the .safetensors model file (or run "
                        f"directory) that {os.path.basename(model)} came from")
    path = resolve_model_path(model)
    chosen = [(h, w) for _, h, w in parse_sizes(options.sizes, read_meta(path).size_multiple)]
    photo = load_photos(TEST_PHOTOS[:1])[0] if sample_photos_installed() else synthetic_photo()

    def show(row) -> None:
        log.info(f"  {row.format:>24} {row.precision:>13}: "
                 + ", ".join(f"{rate:.1f} images/s at {size}" for size, rate in row.images_per_s.items()))

    rows = compare_formats(path, photo, sizes=chosen, calib=options.calib, max_seconds=options.max_seconds, on_row=show)
    machine = describe_machine()
    click.echo(f"machine: {machine['cpu']}, {machine['cores']} cores ({', '.join(machine['cpu_flags']) or 'no AVX'}); "
               f"batch 1 on the CPU")
    click.echo(format_rows_table(rows))
    if json_path:
        atomic_write_text(json_path, json.dumps({"machine": machine, "model": str(path),
                                                 "rows": [r.to_dict() for r in rows]}, indent=2))
    return 0
