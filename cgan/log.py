"""cgan's messages go through ``logging`` (loggers under "cgan"), so that library callers can quiet, raise or
redirect them; the command line shows them as plain lines on stdout, above any progress bar."""
from __future__ import annotations

import logging
import sys


class _AboveProgressBars(logging.Handler):
    """Writes each message as a line through tqdm, which keeps a running progress bar below it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stdout)
        except Exception:  # a closed stdout must not turn a message into a crash
            self.handleError(record)


def show_messages(level: int = logging.INFO) -> None:
    """What the command line does: cgan's messages at ``level`` and above, as plain lines (idempotent)."""
    root = logging.getLogger("cgan")
    if not any(isinstance(h, _AboveProgressBars) for h in root.handlers):
        handler = _AboveProgressBars()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
