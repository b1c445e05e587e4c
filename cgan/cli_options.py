"""Options that several commands share, and the click options made from the option dataclasses' fields."""
from __future__ import annotations

import dataclasses
import functools
import typing

import click

from .presets import A_TO_B, DIRECTIONS

DIRECTION = click.option("--direction", type=click.Choice(DIRECTIONS), default=A_TO_B, show_default=True,
                         help="Which generator of a run directory to use.")


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


def flags_from(config_class: type, *, only: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()):
    """A decorator adding one click option per field of ``config_class`` (the fields in ``only``, in that order,
    or all but ``exclude``), each as its ``option_field`` declares it: flag and aliases, type from the
    annotation, choices, the dataclass's default and help. A bool defaulting to True becomes a --x/--no-x pair.
    The command receives each value under the field's name, ready for the dataclass."""
    hints = typing.get_type_hints(config_class)
    by_name = {f.name: f for f in dataclasses.fields(config_class)}
    chosen = [by_name[name] for name in only] if only else [f for f in by_name.values() if f.name not in exclude]

    def decorate(command):
        for field in reversed(chosen):
            command = _click_option(field, hints[field.name])(command)
        return command

    return decorate


def _click_option(field, hint):
    meta = field.metadata
    names = [meta["flag"] or "--" + field.name.replace("_", "-"), *meta["aliases"]]
    text = meta["help"]
    if hint is bool:
        if field.default:  # on unless turned off
            names = [f"{name}/--no-{name[2:]}" for name in names]
        return click.option(*names, field.name, is_flag=True, default=field.default,
                            show_default=bool(field.default), help=text)
    shown = meta["shown"] if meta["shown"] is not None else field.default
    if shown is not None:
        text += f" [default: {shown}]"
    if meta["parse"]:  # the text parsed here; left out, the field's own default
        parse = meta["parse"]
        return click.option(*names, field.name, default=None, help=text,
                            callback=lambda ctx, param, value: field.default if value is None else parse(value))
    if meta["choices"]:
        kind = click.Choice(meta["choices"])
    else:
        kind = next(t for t in typing.get_args(hint) or (hint,) if t is not type(None))  # int | None -> int
    return click.option(*names, field.name, type=kind, default=field.default, help=text)

