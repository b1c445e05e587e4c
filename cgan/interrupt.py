"""Stopping on request: Ctrl-C (SIGINT) and SIGTERM (what job schedulers and ``docker stop`` send).

Training finishes its step and saves; a live run keeps what it recorded. Off the main thread signals
cannot be caught: there nothing changes.
"""
from __future__ import annotations

import contextlib
import signal
from typing import Callable, Iterator

INTERRUPTED = "interrupted"  # how every stop reason that a signal caused begins
SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


@contextlib.contextmanager
def _handling(handler: Callable[[int, object], None]) -> Iterator[None]:
    previous = {}
    try:
        for signum in SIGNAL_NAMES:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def stop_on_interrupt(on_interrupt: Callable[[str], bool]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM call ``on_interrupt`` with the signal's name ("Ctrl-C", "SIGTERM")
    instead of ending the process; when it returns True, KeyboardInterrupt is raised after all (a second
    signal aborts)."""
    def handler(signum, frame) -> None:
        if on_interrupt(SIGNAL_NAMES[signum]):
            raise KeyboardInterrupt

    with _handling(handler):
        yield


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so that the same clean-up runs."""
    def handler(signum, frame) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
