"""Option dataclass fields that carry their command-line flag: help, choices, flag names and a text parser.

The option dataclasses (``RuntimeOptions``, ``FrameOptions``, ``ExportOptions``, ``EngineOptions``,
``BenchmarkOptions``) declare each field once with ``option_field``; ``cli_options.flags_from`` turns them into
click options. Defaults, choices and help therefore have one home, and the library and the commands cannot
disagree. Neither click nor PyTorch is imported here: the dataclasses stay light.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable


def option_field(default: Any, help: str, *, choices: tuple[str, ...] | None = None, flag: str | None = None,
                 aliases: tuple[str, ...] = (), parse: Callable[[str], Any] | None = None,
                 shown: str | None = None) -> Any:
    """A dataclass field with ``default`` whose flag is ``flag`` (default: ``--`` and the field's name with dashes)
    and, for older names, ``aliases``. ``parse`` turns the flag's text into the field's value (shapes, lists);
    ``shown`` is the default as the help shows it where the value itself would not read well."""
    metadata = {"help": help, "choices": choices, "flag": flag, "aliases": aliases, "parse": parse, "shown": shown}
    return dataclasses.field(default=default, metadata=metadata)


def fields_by_name(config_class: type, given: dict) -> dict:
    """The entries of ``given`` that are fields of ``config_class``, taken out of ``given``."""
    names = {f.name for f in dataclasses.fields(config_class)}
    return {name: given.pop(name) for name in list(given) if name in names}
