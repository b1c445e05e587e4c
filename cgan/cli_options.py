"""Options and value parsers that several commands share."""
from __future__ import annotations

import click

DIRECTION = click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
                         help="Which generator of a run directory to use.")
# What the runtime commands take: a file holds one generator, so a direction given must be the one it holds.
RUN_DIRECTION = click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
                             help="Which generator of a run directory to use [default: AtoB]; with a model or "
                                  "exported file, checked against the direction the file holds.")


def batch_option(ctx, param, value: str) -> int | None:
    if value == "dynamic":
        return None
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"{value!r}: give a positive number or dynamic")
    return int(value)


def size_option(ctx, param, value: str) -> tuple[int, int] | None:
    from .shapes import parse_shape

    return None if value == "dynamic" else parse_shape(value, 2)
