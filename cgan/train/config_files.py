"""Where a run's options come from, in order: the defaults, the --fast profile, a resumed run's config.yaml, a
--config YAML file and the flags given; YAML read small and plain (no aliases, no tags, bounded in size)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from ..errors import CganError, first_line
from ..fileio import escape_control
from .config import CYCLEGAN_ONLY, RESUMABLE, RunConfig, TrainConfig
from .fast import fast_profile

def load_yaml(path: str | Path, config_class: type[RunConfig] = TrainConfig) -> dict:
    """Options of ``config_class`` from a YAML file; keys may use dashes or underscores."""
    path = Path(path)
    if not path.is_file():
        raise CganError(f"config file not found: {path}")
    return known_options(load_plain_yaml(path) or {}, path, config_class)


def known_options(data, path: Path, config_class: type[RunConfig] = TrainConfig) -> dict:
    """``data`` read from ``path`` as options of ``config_class``: a mapping of known names (dashes allowed)."""
    if not isinstance(data, dict):
        raise CganError(f"{path} must hold a mapping of option: value")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - known)
    if unknown:
        shown = ", ".join(escape_control(name)[:40] for name in unknown[:5])
        more = f" and {len(unknown) - 5} more ({len(unknown)} in all)" if len(unknown) > 5 else ""
        raise CganError(f"{path}: unknown options {shown}{more} (see: cgan {config_class.command} --help)")
    return data


MAX_CONFIG_BYTES = 1 << 20


class _PlainLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a config never needs them, and a few hundred bytes of nested aliases
    expand to gigabytes when the values are used (the "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a cgan config",
                                              event.start_mark)
        return super().compose_node(parent, index)


def load_plain_yaml(path: Path):
    """A small YAML (or JSON) file of plain values: bounded in size, without aliases or tags."""
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CganError(f"{path} is {path.stat().st_size} bytes: a config holds a few dozen options, not this")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_PlainLoader)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as e:
        raise CganError(f"{path} is not valid YAML ({first_line(e)})") from None


def resolve_config(flags: dict, config_file: str | None = None, resume_config: dict | None = None,
                   config_class: type[RunConfig] = TrainConfig) -> RunConfig:
    """Defaults < --fast profile < resumed run's config < YAML file < flags given (None means not given)."""
    given = {k: v for k, v in flags.items() if v is not None}
    values: dict = {}
    if resume_config is not None:
        values.update(resume_config)
        file_values = load_yaml(config_file, config_class) if config_file else {}
        changed = sorted(k for k, v in {**file_values, **given}.items()
                         if k not in RESUMABLE and resume_config.get(k) != v)
        if changed:
            raise CganError(f"cannot change {', '.join('--' + k.replace('_', '-') for k in changed)} when resuming: "
                            f"start a new run instead")
        values.update(file_values)
    elif config_file:
        values.update(load_yaml(config_file, config_class))
    values.update(given)
    if values.get("fast") and resume_config is None:
        values = {**fast_profile(values), **values}
    try:
        config = config_class(**values)
    except TypeError as e:
        raise CganError(f"bad {config_class.command} options: {e}") from None
    objective = getattr(config, "objective", "cyclegan")
    # Flags given, not a YAML file's values: a run's saved config.yaml lists every field, and may be reused.
    if objective != "cyclegan" and (unused := [k for k in CYCLEGAN_ONLY if k in given]):
        raise CganError(f"--{unused[0].replace('_', '-')} is an option of --objective cyclegan: {objective} has no "
                        f"cycle, no identity loss and no pool of past fakes")
    return config


def read_run_config(run_dir: str | Path, config_class: type[RunConfig] = TrainConfig) -> dict:
    """The resolved config a run directory was started with."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise CganError(f"{run_dir} has no config.yaml: --resume needs a run directory written by "
                        f"cgan {config_class.command}")
    return load_yaml(path, config_class)
