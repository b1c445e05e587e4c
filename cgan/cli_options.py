"""Options and value parsers that several commands share."""
from __future__ import annotations

import functools

import click

from .presets import A_TO_B, DIRECTIONS

DIRECTION = click.option("--direction", type=click.Choice(DIRECTIONS), default=A_TO_B, show_default=True,
                         help="Which generator of a run directory to use.")
# What the runtime commands take: a file holds one generator, so a direction given must be the one it holds.
RUN_DIRECTION = click.option("--direction", type=click.Choice(DIRECTIONS), default=None,
                             help="Which generator of a run directory to use [default: AtoB]; with a model or "
                                  "exported file, checked against the direction the file holds.")


def model_argument(command):
    """MODEL as the positional argument, or as --model, the name every runtime command takes it by (one of the
    two; saying it twice is an error)."""

    @functools.wraps(command)
    def with_model(*args, model: str | None = None, model_option: str | None = None, **kwargs):
        if model and model_option:
            raise click.UsageError("MODEL is given twice: as the argument and as --model; give it once")
        if not (model or model_option):
            raise click.UsageError("missing MODEL: give it as the argument or with --model")
        return command(*args, model=model or model_option, **kwargs)

    with_model = click.option("--model", "model_option", type=click.Path(), default=None,
                              help="MODEL by name, as translate, webcam and benchmark take it.")(with_model)
    return click.argument("model", required=False, type=click.Path())(with_model)


JSON_SUMMARY = click.option("--json", "as_json", is_flag=True,
                            help="Print a JSON summary of what was done on stdout (messages stay on stderr).")


def print_json(record: dict) -> None:
    """A command's result as JSON on stdout, where scripts read it."""
    import json

    click.echo(json.dumps(record, indent=2, default=str))


def batch_option(ctx, param, value: str) -> int | None:
    if value == "dynamic":
        return None
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"{value!r}: give a positive number or dynamic")
    return int(value)


def size_option(ctx, param, value: str) -> tuple[int, int] | None:
    from .shapes import parse_shape

    return None if value == "dynamic" else parse_shape(value, 2)
