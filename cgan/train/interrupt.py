"""Ctrl-C during training: the first one asks the loop to stop after its step (which then saves)."""
from __future__ import annotations

import contextlib
import signal
from typing import Callable, Iterator

INTERRUPTED = "interrupted (Ctrl-C)"


@contextlib.contextmanager
def stop_on_interrupt(on_interrupt: Callable[[], bool]) -> Iterator[None]:
    """While inside, SIGINT calls ``on_interrupt`` instead of raising; when it returns True, KeyboardInterrupt
    is raised after all (a second Ctrl-C aborts). Off the main thread signals cannot be caught: nothing changes."""
    def handler(signum, frame) -> None:
        if on_interrupt():
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
