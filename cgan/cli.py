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
from .errors import CganError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


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
      cgan convert latest_net_G_A.pth --preset resnet9 -o horse2zebra.safetensors
      cgan info horse2zebra.safetensors
    """


DIRECTION = click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
                         help="Which generator of a run directory to use.")


@cli.command()
@click.argument("model", type=click.Path())
@DIRECTION
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(model: str, direction: str, as_json: bool) -> None:
    """Describe MODEL: architecture, parameters, MACs, domains, input contract.

    MODEL is a .safetensors model file or a run directory.

    \b
    Example:
      cgan info runs/tom2jerry --direction BtoA
    """
    from .info import describe_model, format_description

    description = describe_model(model, direction)
    click.echo(json.dumps(description, indent=2) if as_json else format_description(description))


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
def demo(out: str, overwrite: bool) -> None:
    """Run the product end to end on sample photos that ship with installed packages.

    \b
    Example:
      cgan demo --out demo-out
    """
    from .demo import run_demo

    run_demo(out, overwrite)


def main() -> None:
    cli()
