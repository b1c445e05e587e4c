"""cgan's messages go through ``logging`` (loggers under "cgan"), so that library callers can quiet, raise or
redirect them; the command line shows them as plain lines on stderr, above any progress bar (stdout is left to
results: cgan info's description, the benchmark's table, --json), at the level --quiet or --verbose sets."""
from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator


class _AboveProgressBars(logging.Handler):
    """Writes each message as a line through tqdm, which keeps a running progress bar below it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a closed stream must not turn a message into a crash
            self.handleError(record)


_bars_hidden = False  # set while the command line runs with --quiet


def progress_bars_shown() -> bool:
    """Whether progress bars are drawn: always, unless the command line was given --quiet."""
    return not _bars_hidden


@contextlib.contextmanager
def show_messages(level: int = logging.INFO) -> Iterator[None]:
    """What the command line does while a command runs: cgan's messages at ``level`` and above as plain lines;
    afterwards the logger is as it was (a program that also calls cgan's functions keeps its own settings)."""
    root = logging.getLogger("cgan")
    handler = _AboveProgressBars()
    handler.setFormatter(logging.Formatter("%(message)s"))
    global _bars_hidden
    before = root.level, root.propagate, _bars_hidden
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    _bars_hidden = level > logging.INFO
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
        root.propagate = before[1]
        _bars_hidden = before[2]
