"""The ``cgan`` command: a thin layer that parses flags, calls the library and prints.

User errors (``CganError``, bad flags, missing files) print one ``error: ...`` line and exit 2;
``--debug`` anywhere on the command line shows the traceback instead.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback

import click

from . import __version__
from .errors import EXIT_INTERRUPTED, EXIT_USER_ERROR, CganError
from .extras import missing_extra
from .fileio import escape_control
from .log import show_messages
from .cli_options import DIRECTION, JSON_SUMMARY, flags_from, model_argument, print_json
from .export.options import EngineOptions, ExportOptions
from .formats import EXPORT_FORMATS
from .option_fields import fields_by_name
from .precision import precision_from_flags
from .presets import DIRECTIONS

log = logging.getLogger("cgan.cli")


class CganGroup(click.Group):
    """A click group that turns user errors into one line and exit code 2."""

    def main(self, args=None, prog_name=None, **extra):  # noqa: D401 - click's signature
        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        level = message_level(args)
        args = [a for a in args if a not in ("--debug", *VERBOSITY)]  # accepted before or after the command name
        if not args:  # a bare ``cgan`` asks what there is: the help, as for --help
            args = ["--help"]
        try:
            with show_messages(level):
                result = super().main(args=args, prog_name=prog_name or "cgan", standalone_mode=False, **extra)
        except (CganError, click.ClickException, OSError) as e:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {_one_line(e)}", err=True)
            _exit(EXIT_USER_ERROR)
        except ModuleNotFoundError as e:
            fix = missing_extra(e.name)
            if fix is None:
                raise
            if debug:
                traceback.print_exc()
            click.echo(f"error: {fix}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except (click.Abort, KeyboardInterrupt) as e:
            # (click turns a KeyboardInterrupt into Abort: what it says, where the work so far went, is its cause's)
            cause = e if isinstance(e, KeyboardInterrupt) else e.__cause__
            kept = str(cause) if isinstance(cause, KeyboardInterrupt) else ""
            click.echo(f"interrupted: {kept}" if kept else "interrupted", err=True)
            _exit(EXIT_INTERRUPTED)
        _exit(result if isinstance(result, int) else 0)  # a command that returns (130 after Ctrl-C) may leave one too


VERBOSITY = {"--quiet": logging.WARNING, "--verbose": logging.DEBUG}


def message_level(args: list[str]) -> int:
    """The level of messages shown: --quiet shows warnings and errors only (and no progress bars: log.py), --verbose
    adds the details; the last one given wins."""
    level = logging.INFO
    for arg in args:
        level = VERBOSITY.get(arg, level)
    return level


def _exit(code: int) -> None:
    """Exit with ``code``; at once (``os._exit``) if an engine call abandoned at a deadline or a signal still
    runs, since finalising the interpreter under it can crash."""
    running = sys.modules.get("cgan.runtime.bounded")
    if running is not None and running.engines_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _one_line(error: BaseException) -> str:
    if isinstance(error, click.UsageError):
        command = error.ctx.command_path if error.ctx else "cgan"
        found = re.search(r"unexpected extra arguments? \((.*)\)", error.format_message())
        if found:  # most often a pattern the shell expanded: photos/*.jpg became every file it matches
            extra = found.group(1).split()
            shown = " ".join(extra[:3]) + (f" ... ({len(extra)} in all)" if len(extra) > 3 else "")
            return (f"unexpected extra arguments: {escape_control(shown)}; if the shell expanded a pattern, quote it "
                    f"(--source 'photos/*.jpg') (see: {command} --help)")
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
@click.option("--quiet", is_flag=True,
              help="Only warnings, errors and results: no progress (works anywhere on the line).")
@click.option("--verbose", is_flag=True, help="Also the details of what is done (works anywhere on the line).")
def cli(debug: bool, quiet: bool, verbose: bool) -> None:
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


@cli.command()
@model_argument
@DIRECTION
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(model: str, direction: str, as_json: bool) -> None:
    """Describe MODEL: architecture, parameters, MACs, domains, input contract.

    MODEL is a .safetensors model file, a run directory, an .onnx file, an OpenVINO .xml, a LiteRT .tflite, an ncnn
    .ncnn.param (read with its .ncnn.json sidecar), or a TensorRT .engine/.plan (read through the .json sidecar beside it; warns when
    it was built for another TensorRT or GPU).

    \b
    Examples:
      cgan info runs/tom2jerry --direction BtoA
      cgan info tom2jerry.onnx
    """
    from .apps.info import describe_model, format_description

    description = describe_model(model, direction)
    click.echo(json.dumps(description.to_dict(), indent=2) if as_json else format_description(description))
    for warning in description.warnings:
        log.warning(f"warning: {warning}")


@cli.command()
@click.argument("checkpoint", type=click.Path())
@click.option("--preset", required=True, help="Generator preset it was trained with (resnet9, resnet6, unet256, unet128).")
@click.option("--ngf", type=int, default=None, help="Filters of its first layer (default: the preset's).")
@click.option("--name-a", default="A", show_default=True, help="Name of domain A (stored in the model file).")
@click.option("--name-b", default="B", show_default=True, help="Name of domain B (stored in the model file).")
@click.option("--direction", type=click.Choice(DIRECTIONS), default=None,
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
@click.option("--train-steps", type=click.IntRange(1), default=None,
              help="Training steps [default: 900, where the filter's gain has levelled off].")
@click.option("--train-time", default=None, help="Train for a time instead of steps, e.g. 90s or 5m.")
@click.option("--distill-time", default=None, hidden=True,
              help="Kept for old scripts: the demo no longer distils (its filter is smaller than any student).")
def demo(out: str, overwrite: bool, train_steps: int | None, train_time: str | None, distill_time: str | None) -> None:
    """Run the product end to end on sample photos that ship with installed packages: a photo filter trained by
    steps (the same result on a slow or busy machine, only later), its measured gain, export, a video.

    \b
    Examples:
      cgan demo --out demo-out
      cgan demo --out demo-out --train-steps 300
    """
    from .apps.demo import DEMO_STEPS
    from .threads import share_cpu_with_other_programs

    if train_steps and train_time:
        raise CganError("--train-steps and --train-time both bound the training: give one")
    if distill_time:
        log.warning("note: --distill-time is ignored: the demo no longer distils a student (its filter is already "
                    "smaller than any student); run cgan distill on a full generator")
    share_cpu_with_other_programs()  # before PyTorch loads
    from .apps.demo import run_demo

    run_demo(out, overwrite, train_steps=train_steps or DEMO_STEPS, train_time=train_time)


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
    from .apps.report import build_report

    click.echo(f"wrote {build_report(run_dir, out, overwrite)}")


@cli.command()
@model_argument
@click.option("-o", "--out", type=click.Path(),
              help="Output .onnx, .xml, .ncnn.param, .tflite, .mlpackage or .engine (as --format). Default: beside "
                   "MODEL.")
@flags_from(ExportOptions, exclude=("verify_shapes",))
@click.option("--fp16", "--half", "fp16", is_flag=True,
              help="Short for --precision fp16 (--half: the reduced precision, as translate says it).")
@click.option("--format", "format_name", type=click.Choice(EXPORT_FORMATS), default="onnx", show_default=True,
              help="onnx (ONNX Runtime, OpenVINO, TensorRT), openvino (IR .xml + .bin; int8 by NNCF), ncnn "
                   "(.ncnn.param + .ncnn.bin + .ncnn.json; phones and ARM boards), tflite (LiteRT for Android and ARM boards, "
                   "one --size HxW), coreml (.mlpackage for iPhones and "
                   "Macs: its spec is checked, Core ML runs it on Apple systems only), engine (TensorRT, with its "
                   ".onnx), or web (a folder: a page that translates the visitor's camera in their browser with "
                   "onnxruntime-web; cgan serve FOLDER shows it).")
@click.option("--trt", is_flag=True, help="Same as --format engine: also build a TensorRT engine (needs an NVIDIA GPU "
                                          "and cgan[gpu]).")
@flags_from(EngineOptions)
@click.option("--ort-web", type=click.Path(), default=None,
              help="--format web: a local copy of onnxruntime-web (the unpacked npm package or its dist/) instead "
                   "of the registry's, which is downloaded once, checked against its published hash and cached.")
@JSON_SUMMARY
def export(model: str, out: str | None, fp16: bool, format_name: str, trt: bool, ort_web: str | None, as_json: bool,
           **fields) -> None:
    """Export MODEL to ONNX (dynamic batch, height and width), OpenVINO's IR, ncnn, LiteRT, Core ML or a TensorRT
    engine.

    MODEL is a .safetensors model file or a run directory. The result is run by its own runtime (ONNX Runtime,
    OpenVINO, ncnn, LiteRT, TensorRT) at several shapes against PyTorch, and refused (nothing written) beyond the
    precision's tolerance; the errors are printed. A Core ML package cannot run off Apple systems: its spec is
    checked and it is said to be not run.

    \b
    Examples:
      cgan export runs/tom2jerry --direction AtoB -o tom2jerry.onnx
      cgan export tom2jerry.safetensors --fp16
      cgan export runs/tom2jerry-student --precision int8 --calib photos/
      cgan export runs/tom2jerry-student --format openvino --precision int8 --calib photos/
      cgan export runs/tom2jerry-student --format ncnn --half
      cgan export runs/tom2jerry-student --format tflite --size 480x640
      cgan export tom2jerry.safetensors --format engine --fp16 --max 4x3x1088x1920
      cgan export runs/tom2jerry-student --format web -o tom2jerry-web/
    """
    from .export import build_engine, export_onnx

    # --fp16 stands for --precision fp16, and contradicts another --precision given
    given = click.get_current_context().get_parameter_source("precision") != click.core.ParameterSource.DEFAULT
    fields["precision"] = precision_from_flags(fields["precision"] if given else None, fp16=fp16) or "fp32"
    options = ExportOptions(**fields_by_name(ExportOptions, fields))
    engine = EngineOptions(**fields_by_name(EngineOptions, fields))
    show = lambda check: log.info(check.text())  # noqa: E731 - each verified shape as it completes
    started = time.perf_counter()

    def stage(name: str, number: int, count: int) -> None:  # each stage as it starts, with the time so far
        log.info(f"[{number}/{count}] {name} ({time.perf_counter() - started:.0f} s so far)")

    if trt and format_name not in ("onnx", "engine"):
        raise CganError(f"--trt builds a TensorRT engine, which --format {format_name} is not: give one of them")
    if format_name == "web":
        from .export.web import export_web

        folder, report = export_web(model, out, options, ort_web=ort_web, on_check=show, on_stage=stage)
        if as_json:
            return print_json(report.to_dict())
        click.echo(f"wrote {folder}/ ({options.precision}, {report.verdict()}, {report.seconds:.0f} s): serve it with "
                   f"cgan serve {folder}")
        return
    if ort_web:
        raise CganError("--ort-web gives onnxruntime-web's files to --format web: leave it out here")
    if format_name in ("openvino", "ncnn", "tflite", "coreml"):
        from .export.coreml import export_coreml
        from .export.ncnn import export_ncnn
        from .export.openvino_ir import export_openvino
        from .export.tflite import export_tflite

        write = {"openvino": export_openvino, "ncnn": export_ncnn, "tflite": export_tflite,
                 "coreml": export_coreml}[format_name]
        path, report = write(model, out, options, on_check=show, on_stage=stage)
        if as_json:
            return print_json(report.to_dict())
        beside = {"openvino": [path.with_suffix(".bin").name], "coreml": [], "tflite": [],
                  "ncnn": [path.with_suffix(".bin").name, path.with_suffix(".json").name]}[format_name]
        click.echo(f"wrote {' and '.join([str(path), *beside])} ({options.precision}, {report.verdict()}, "
                   f"{report.seconds:.0f} s)")
        return
    if trt or format_name == "engine":
        path, report = build_engine(model, out, options, engine, on_check=show, on_stage=stage)
        if as_json:
            return print_json({**report.to_dict(), "engine": str(path), "sidecar": str(path.with_suffix(".json"))})
        click.echo(f"wrote {path}, {path.with_suffix('.json').name} and {path.with_suffix('.onnx').name} "
                   f"({options.precision}, {report.seconds:.0f} s)")
        return
    path, report = export_onnx(model, out, options, on_check=show, on_stage=stage)
    if as_json:
        return print_json(report.to_dict())
    click.echo(f"wrote {path} ({options.precision}, opset {options.opset}, {report.verdict()}, {report.seconds:.0f} s)")


@cli.command()
@click.argument("folder", type=click.Path())
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default answers this machine only.")
def serve(folder: str, port: int, host: str) -> None:
    """Serve a page FOLDER on this machine with the headers that cross-origin isolation needs, so that its
    WebAssembly runs on several threads; prints the URL to open. Ctrl-C stops it.

    \b
    Examples:
      cgan serve tom2jerry-web/
      cgan serve tom2jerry-web/ --port 0
    """
    from .apps.serve import serve as serve_folder

    serve_folder(folder, host=host, port=port, on_ready=lambda url: click.echo(f"serving {folder} at {url}"))


# Registered last, so that `cgan --help` lists them in place.
from .cli_runtime import benchmark, translate, webcam  # noqa: E402
from .cli_train import distill, train  # noqa: E402

for command in (translate, webcam, benchmark, train, distill):
    cli.add_command(command)


def main() -> None:
    cli()
