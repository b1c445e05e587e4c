"""The ``cgan`` command: a thin layer that parses flags, calls the library and prints.

User errors (``CganError``, bad flags, missing files) print one ``error: ...`` line and exit 2;
``--debug`` anywhere on the command line shows the traceback instead.
"""
from __future__ import annotations

import json
import sys
import traceback

import click

from . import __version__
from .errors import EXIT_INTERRUPTED, EXIT_USER_ERROR, CganError
from .precision import EXPORT_PRECISIONS, TORCH_PRECISIONS, precision_from_flags
from .runtime.options import BACKEND_NAMES, PERFORMANCE_MODES


class CganGroup(click.Group):
    """A click group that turns user errors into one line and exit code 2."""

    def main(self, args=None, prog_name=None, **extra):  # noqa: D401 - click's signature
        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        args = [a for a in args if a != "--debug"]  # accepted before or after the command name
        try:
            result = super().main(args=args, prog_name=prog_name or "cgan", standalone_mode=False, **extra)
        except (CganError, click.ClickException, OSError) as e:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {_one_line(e)}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except (click.Abort, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(result if isinstance(result, int) else 0)


def _one_line(error: BaseException) -> str:
    if isinstance(error, click.UsageError):
        command = error.ctx.command_path if error.ctx else "cgan"
        return f"{error.format_message()} (see: {command} --help)"
    if isinstance(error, click.ClickException):
        return error.format_message()
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error)


@click.group(cls=CganGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="cgan")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error (works anywhere on the line).")
def cli(debug: bool) -> None:
    """cgan: unpaired image-to-image translation (CycleGAN), from training to real-time inference.

    \b
    Examples:
      cgan demo                                          # everything, on sample photos
      cgan train --a tom/ --b jerry/ --max-time 2h
      cgan export runs/tom2jerry -o tom2jerry.onnx
      cgan translate --model tom2jerry.onnx --source clip.mp4 --out clip_jerry.mp4
      cgan webcam --model tom2jerry.onnx
      cgan convert latest_net_G_A.pth --preset resnet9 -o horse2zebra.safetensors
    """


DIRECTION = click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
                         help="Which generator of a run directory to use.")


@cli.command()
@click.argument("model", type=click.Path())
@DIRECTION
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(model: str, direction: str, as_json: bool) -> None:
    """Describe MODEL: architecture, parameters, MACs, domains, input contract.

    MODEL is a .safetensors model file, a run directory, an .onnx file, or a TensorRT .engine/.plan
    (read through the .json sidecar beside it; warns when it was built for another TensorRT or GPU).

    \b
    Examples:
      cgan info runs/tom2jerry --direction BtoA
      cgan info tom2jerry.onnx
    """
    from .info import describe_model, format_description

    description = describe_model(model, direction)
    click.echo(json.dumps(description, indent=2) if as_json else format_description(description))
    for warning in description.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.option("--preset", required=True, help="Generator preset it was trained with (resnet9, resnet6, unet256, unet128).")
@click.option("--ngf", type=int, default=None, help="Filters of its first layer (default: the preset's).")
@click.option("--name-a", default="A", show_default=True, help="Name of domain A (stored in the model file).")
@click.option("--name-b", default="B", show_default=True, help="Name of domain B (stored in the model file).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
              help="Default: BtoA for a G_B file, else AtoB.")
@click.option("-o", "--out", "out", required=True, type=click.Path(), help="Output .safetensors file.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def convert(checkpoint: str, preset: str, ngf: int | None, name_a: str, name_b: str, direction: str | None,
            out: str, overwrite: bool) -> None:
    """Turn a reference PyTorch CycleGAN generator checkpoint into a cgan model file.

    The checkpoint is read with torch.load(weights_only=True): nothing in it is executed.

    \b
    Example:
      cgan convert latest_net_G_A.pth --preset resnet9 --name-a horse --name-b zebra -o horse2zebra.safetensors
    """
    from .convert import convert_checkpoint
    from .fileio import refuse_overwrite
    from .modelfile import save_model

    if not out.endswith(".safetensors"):
        raise CganError(f"output {out} must end in .safetensors")
    refuse_overwrite(out, overwrite)
    net, meta = convert_checkpoint(checkpoint, preset, ngf, name_a, name_b, direction)
    save_model(net, out, meta)
    click.echo(f"wrote {out} ({meta.preset}, {meta.source_domain} -> {meta.target_domain})")


@cli.command()
@click.option("--out", default="demo-out", show_default=True, type=click.Path(), help="Folder for everything the demo writes.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("--train-time", default="60s", show_default=True, help="How long to train, e.g. 60s or 5m.")
def demo(out: str, overwrite: bool, train_time: str) -> None:
    """Run the product end to end on sample photos that ship with installed packages.

    \b
    Example:
      cgan demo --out demo-out
    """
    from .demo import run_demo

    run_demo(out, overwrite, train_time)


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("-o", "--out", type=click.Path(), default=None, help="HTML file to write [default: RUN_DIR/report.html].")
@click.option("--overwrite", is_flag=True, help="Replace the HTML file if it exists.")
def report(run_dir: str, out: str | None, overwrite: bool) -> None:
    """An offline HTML page of a run: sample grids, curves, validation table, models and settings.

    \b
    Example:
      cgan report runs/tom2jerry -o tom2jerry.html
    """
    from .html_report import build_report

    click.echo(f"wrote {build_report(run_dir, out, overwrite)}")


def _batch_option(ctx, param, value: str) -> int | None:
    if value == "dynamic":
        return None
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"{value!r}: give a positive number or dynamic")
    return int(value)


def _size_option(ctx, param, value: str) -> tuple[int, int] | None:
    from .export.onnx import parse_shape

    return None if value == "dynamic" else parse_shape(value, 2)


@cli.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--out", type=click.Path(), help="Output .onnx (or .engine with --trt). Default: beside MODEL.")
@DIRECTION
@click.option("--opset", type=int, default=18, show_default=True, help="ONNX opset (18 or higher).")
@click.option("--precision", type=click.Choice(EXPORT_PRECISIONS), default=None,
              help="Weights and arithmetic; fp16 keeps instance norm in fp32 [default: fp32].")
@click.option("--fp16", is_flag=True, help="Short for --precision fp16.")
@click.option("--batch", default="dynamic", show_default=True, callback=_batch_option, help="Batch size N, or dynamic.")
@click.option("--size", default="dynamic", show_default=True, callback=_size_option, help="HxW, or dynamic.")
@click.option("--simplify/--no-simplify", default=True, show_default=True, help="Fold constants with onnxslim.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Compare with PyTorch at several shapes; fail and write nothing above tolerance.")
@click.option("--trt", is_flag=True, help="Also build a TensorRT engine (needs an NVIDIA GPU and cgan[gpu]).")
@click.option("--min", "min_shape", default=None, help="TensorRT profile minimum NxCxHxW [default: 1x3x64x64].")
@click.option("--opt", "opt_shape", default=None, help="TensorRT profile optimum [default: 1x3x512x512].")
@click.option("--max", "max_shape", default=None, help="TensorRT profile maximum [default: 4x3x1088x1920].")
@click.option("--workspace", "workspace_gb", type=float, default=4.0, show_default=True,
              help="TensorRT workspace in GB.")
@click.option("--timing-cache", type=click.Path(), default=None, help="TensorRT timing cache file, read and updated.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def export(model: str, out: str | None, precision: str | None, fp16: bool, trt: bool, min_shape: str | None,
           opt_shape: str | None, max_shape: str | None, workspace_gb: float, timing_cache: str | None,
           **fields) -> None:
    """Export MODEL to ONNX (dynamic batch, height and width), or with --trt to a TensorRT engine.

    MODEL is a .safetensors model file or a run directory. The result is checked with onnx.checker and
    run in ONNX Runtime (and TensorRT) at several shapes against PyTorch; the errors are printed.

    \b
    Examples:
      cgan export runs/tom2jerry --direction AtoB -o tom2jerry.onnx
      cgan export tom2jerry.safetensors --fp16
      cgan export tom2jerry.safetensors --trt --fp16 --max 4x3x1088x1920
    """
    from .export import EngineOptions, ExportOptions, build_engine, export_onnx

    options = ExportOptions(precision=precision_from_flags(precision, fp16=fp16) or "fp32", **fields)
    show = lambda check: click.echo(check.text())  # noqa: E731 - each verified shape as it completes
    if trt:
        engine = EngineOptions(min_shape, opt_shape, max_shape, workspace_gb, timing_cache)
        path, report = build_engine(model, out, options, engine, on_check=show)
        click.echo(f"wrote {path}, {path.with_suffix('.json').name} and {path.with_suffix('.onnx').name} "
                   f"({options.precision}, {report.seconds:.0f} s)")
        return
    path, report = export_onnx(model, out, options, on_check=show)
    verdict = f"verified within {report.tolerance:.0e}" if report.checks else "not verified (--no-verify)"
    click.echo(f"wrote {path} ({options.precision}, opset {options.opset}, {verdict}, {report.seconds:.0f} s)")


HALF_OPTION = click.option("--half", is_flag=True,
                           help="Short for --precision half: fp16 on CUDA, bf16 on CPUs with bf16 instructions.")
BACKEND_OPTION = click.option("--backend", type=click.Choice(BACKEND_NAMES), default="auto", show_default=True,
                              help="What runs the model; auto: from the file (OpenVINO for .onnx on CPUs where "
                                   "installed, else ONNX Runtime).")


@cli.command()
@click.option("--model", required=True, type=click.Path(), help="Run directory, .safetensors, .onnx or .engine.")
@click.option("--source", required=True, help="Image, folder (recursive), glob, video, camera index or rtsp/http URL.")
@click.option("--out", type=click.Path(), default=None,
              help="Output folder for images (default: translated/), or video file (default: <name>_<domain>.mp4).")
@DIRECTION
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True, help="Frames per model call.")
@HALF_OPTION
@click.option("--precision", type=click.Choice(TORCH_PRECISIONS), default=None,
              help="PyTorch's, and OpenVINO's on float graphs (ONNX Runtime and engines keep the exported one).")
@BACKEND_OPTION
@click.option("--device", default="auto", show_default=True,
              help="auto, cpu, cuda or cuda:N (openvino:GPU or openvino:NPU with --backend openvino).")
@click.option("--provider", type=click.Choice(["tensorrt", "cuda", "cpu"]), default=None,
              help="ONNX Runtime execution provider [default: the best installed].")
@click.option("--performance", type=click.Choice(PERFORMANCE_MODES), default="latency", show_default=True,
              help="OpenVINO: one request per batch, or a batch's images as parallel requests.")
@click.option("--imgsz", type=click.IntRange(1), default=None, help="Scale the long side to N before translating.")
@click.option("--keep-imgsz", is_flag=True, help="With --imgsz, keep the output at that size (no scaling back).")
@click.option("--temporal", is_flag=True, help="Reduce frame-to-frame flicker in video (optical-flow blending).")
@click.option("--side-by-side", is_flag=True, help="Write input | output next to each other.")
@click.option("--show", is_flag=True, help="Show the result in a window with the frame rate (q or Esc quits).")
@click.option("--max-frames", type=click.IntRange(1), default=None, help="Stop after N frames.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def translate(model: str, source: str, out: str | None, half: bool, precision: str | None, temporal: bool,
              side_by_side: bool, show: bool, max_frames: int | None, overwrite: bool, **fields) -> None:
    """Apply a model to images, folders, videos, cameras or streams.

    Images keep their names and sizes under --out; a video becomes a video with the source's fps, size and
    frame count (audio copied when ffmpeg is installed). Any image size works.

    \b
    Examples:
      cgan translate --model tom2jerry.onnx --source clip.mp4 --out clip_jerry.mp4
      cgan translate --model runs/tom2jerry --source photos/ --out jerry_photos/ --batch 4 --half
      cgan translate --model tom2jerry.engine --source rtsp://camera.local/stream --show
    """
    from .runtime.apps import translate as run_translate
    from .runtime.options import RuntimeOptions

    options = RuntimeOptions(precision=precision_from_flags(precision, half=half), **fields)
    run_translate(model, source, out, options=options, side_by_side=side_by_side, temporal=temporal,
                  max_frames=max_frames, show=show, overwrite=overwrite)


@cli.command()
@click.option("--model", required=True, type=click.Path(), help="Run directory, .safetensors, .onnx or .engine.")
@click.option("--camera", default="0", show_default=True, help="Camera index, stream URL, or a video file played live.")
@click.option("--size", default=None, callback=lambda c, p, v: _size_option(c, p, v or "dynamic"),
              help="Capture size WxH, e.g. 640x480 [default: the camera's].")
@HALF_OPTION
@click.option("--record", type=click.Path(), default=None, help="Also save what is shown to this video file.")
@click.option("--side-by-side", is_flag=True, help="Show input | output.")
@DIRECTION
@BACKEND_OPTION
@click.option("--device", default="auto", show_default=True,
              help="auto, cpu, cuda or cuda:N (openvino:GPU or openvino:NPU with --backend openvino).")
@click.option("--max-frames", type=click.IntRange(1), default=None, help="Stop after N frames.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --record file.")
def webcam(model: str, camera: str, size: tuple[int, int] | None, half: bool, record: str | None,
           side_by_side: bool, max_frames: int | None, overwrite: bool, **fields) -> None:
    """Translate a camera live in a window with the fps shown; q or Esc quits.

    The newest frame always wins: frames the model cannot keep up with are dropped and counted. The summary
    (frames, fps, dropped) is printed at the end. Without a display, --record still works.

    \b
    Examples:
      cgan webcam --model tom2jerry.engine
      cgan webcam --model tom2jerry.onnx --camera 1 --size 640x480 --record session.mp4 --side-by-side
    """
    from .runtime.apps import webcam as run_webcam
    from .runtime.options import RuntimeOptions

    options = RuntimeOptions(precision=precision_from_flags(None, half=half), **fields)
    run_webcam(model, camera, size=size, record=record, options=options, side_by_side=side_by_side,
               max_frames=max_frames, overwrite=overwrite)


@cli.command()
@click.option("--model", required=True, type=click.Path(), help="A run directory or .safetensors model file.")
@click.option("--backends", default="torch,onnxruntime,openvino,tensorrt", show_default=True,
              help="Backends to measure; those not available here are listed as skipped.")
@click.option("--sizes", default="256,512,720p,1080p", show_default=True, help="256, 512, 720p, 1080p or HxW.")
@click.option("--batch", "batches", default="1,4", show_default=True, help="Batch sizes.")
@click.option("--half/--no-half", default=True, show_default=True, help="Also measure reduced precision.")
@click.option("--pipeline/--no-pipeline", default=True, show_default=True,
              help="Also measure the end-to-end video pipeline (640x360 clip).")
@click.option("--max-seconds", type=float, default=30.0, show_default=True, help="Time cap per row.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where to measure; the baseline is PyTorch fp32 eager on the same device.")
@click.option("--json", "json_path", type=click.Path(), default=None, help="Also write the results as JSON.")
def benchmark(model: str, backends: str, sizes: str, batches: str, half: bool, pipeline: bool,
              max_seconds: float, device: str, json_path: str | None) -> None:
    """Measure inference speed of every available backend against PyTorch fp32 eager on the same device.

    A table of ms per image (median and 10th-90th percentile), images/s, peak memory, speed-up,
    fraction of the machine's measured matmul peak, and PSNR of reduced precision against fp32.

    \b
    Examples:
      cgan benchmark --model runs/tom2jerry --sizes 256,720p --batch 1
      cgan benchmark --model tom2jerry.safetensors --json bench.json
    """
    from .bench.inference import benchmark as run_benchmark, format_table
    from .fileio import atomic_write_text

    try:
        batch_sizes = [int(b) for b in batches.split(",")]
    except ValueError:
        raise CganError(f"cannot read --batch {batches!r}: give numbers like 1,4") from None

    def show(row) -> None:
        click.echo(f"  {row.backend:>18} {row.precision:>5} {row.size:>20} batch {row.batch}: "
                   f"{row.ms_per_image:8.1f} ms/image, {row.speedup:.2f}x", err=True)

    result = run_benchmark(model, backends=[b.strip() for b in backends.split(",")], sizes=sizes,
                           batches=batch_sizes, half=half, pipeline=pipeline, max_seconds=max_seconds, device=device,
                           on_row=show)
    machine = result["machine"]
    click.echo(f"machine: {machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu'] or 'none'}; "
               + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()))
    click.echo("ceilings: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in result["ceilings_gflops"].items()))
    click.echo(format_table(result["rows"]))
    for name, reason in result["skipped"].items():
        click.echo(f"skipped {name}: {reason}")
    if "pipeline" in result:
        p = result["pipeline"]
        click.echo(f"video pipeline ({p['clip']}, {p['backend']}): {p['pipeline_fps']:.2f} fps end to end, "
                   f"{p['raw_model_fps']:.2f} fps model alone ({p['ratio']:.2f})")
    if json_path:
        atomic_write_text(json_path, json.dumps(result, indent=2))


from .cli_train import train  # noqa: E402 - registered last, so that `cgan --help` lists it in place

cli.add_command(train)


def main() -> None:
    cli()
