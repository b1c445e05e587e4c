"""Engine calls that a deadline, Ctrl-C and SIGTERM can end.

ONNX Runtime's and OpenVINO's C++ do not return to Python while they run, and Python runs signal handlers
only between bytecodes of the main thread: a call blocked in the engine ignores Ctrl-C and SIGTERM until it
returns. So the engine runs on a worker thread (ONNX Runtime) or asynchronously (OpenVINO), while the
calling thread waits in short, interruptible steps; at a deadline or a signal the engine is told to stop
(ONNX Runtime's ``RunOptions.terminate``, OpenVINO's ``InferRequest.cancel``), which it does at its next
node.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable

from ..errors import CganError, first_line

# How a call's deadline is set: a fixed allowance plus a multiple of what the same amount of work took on
# the probe (a call at 4x the probe's pixels may take 4x as long, then this many times more).
ALLOWANCE_SECONDS = 20.0
SLOWDOWN_ALLOWED = 50.0
POLL_SECONDS = 0.05  # how often the calling thread wakes: a signal is handled within this
# An engine's compilation of a cgan model takes a few seconds on a CPU; building for a GPU (TensorRT, OpenVINO's
# GPU plug-in) can take minutes.
COMPILE_SECONDS = {"cpu": 30.0, "accelerator": 900.0}


class Budget:
    """Seconds a call may take: ``ALLOWANCE_SECONDS`` plus ``SLOWDOWN_ALLOWED`` times the probe's rate (the first
    call, which is the probe); without limit where not ``timed``."""

    def __init__(self, model_name: str, timed: bool = True) -> None:
        self.model_name, self.timed = model_name, timed
        self.seconds_per_value: float | None = None  # measured on the probe

    def deadline(self, values: int) -> float:
        if not self.timed:
            return float("inf")
        per_value = self.seconds_per_value or 0.0
        return ALLOWANCE_SECONDS + SLOWDOWN_ALLOWED * per_value * values

    def learn(self, seconds: float, values: int) -> None:
        self.seconds_per_value = seconds / max(values, 1)

    def exceeded(self, limit: float) -> CganError:
        return CganError(f"{self.model_name} ran for more than {limit:.0f} s on one call and was stopped: the "
                         f"graph does far more work than a cgan model of its size (a damaged or hostile file); "
                         f"export it again with cgan export")


def run_onnxruntime(session, feeds: dict, budget: Budget, values: int, worker: Worker | None = None) -> list:
    """``session.run`` on a worker thread (``worker``'s, else a new one), ended by ``RunOptions.terminate`` at the
    deadline or a signal."""
    import onnxruntime as ort

    run_options = ort.RunOptions()
    call = _Call(lambda: session.run(None, feeds, run_options), worker)

    def stop() -> None:
        run_options.terminate = True

    return _wait(call.result, stop, budget, values, engine_error=_onnxruntime_error(budget.model_name))


def run_uncancellable(function: Callable[[], object], budget: Budget, values: int, worker: Worker | None = None):
    """``function()``, an engine call that cannot be told to stop (ncnn's), on a worker thread: at the deadline
    or a signal the command stops waiting, and the call is left to end with the process (``engines_running``)."""
    return _wait(_Call(function, worker).result, lambda: None, budget, values, engine_error=lambda e: None)


class Worker:
    """One daemon thread that runs calls one after another: a backend keeps one, so that its engine always runs on
    the same thread (a new thread a call measured 10% slower for ONNX Runtime on the student at 640x480)."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, call: _Call) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._serve, name="cgan-engine", daemon=True)
            self._thread.start()
        self._calls.put(call)

    def _serve(self) -> None:
        while True:
            self._calls.get()._run()


def run_interruptibly(function: Callable[[], object], seconds: float, what: str):
    """``function()`` (an engine's compilation, say) on a worker thread, so that Ctrl-C and SIGTERM are handled
    while it runs; past ``seconds`` a CganError. The engine cannot be told to stop: its thread is left to end
    with the process (``engines_running``)."""
    call = _Call(function)
    started = time.monotonic()
    while True:
        try:
            return call.result(POLL_SECONDS)
        except TimeoutError:
            if time.monotonic() - started > seconds:
                raise CganError(f"{what} took more than {seconds:.0f} s and was abandoned: the graph is far larger "
                                f"than a cgan model's (a damaged or hostile file); export it again with cgan "
                                f"export") from None


_RUNNING: set[_Call] = set()


def engines_running() -> bool:
    """Whether an engine call abandoned at a deadline or a signal is still running on its thread. The process
    should then end with ``os._exit``: finalising the interpreter under running C++ can crash it."""
    return bool(_RUNNING)


class _Call:
    """A function running on a daemon thread (one that never holds up the process's exit, should an engine
    not stop), its own or a ``Worker``'s, and its result or exception."""

    def __init__(self, function: Callable[[], object], worker: Worker | None = None) -> None:
        self.function, self.done = function, threading.Event()
        self.value: object = None
        self.error: BaseException | None = None
        _RUNNING.add(self)
        if worker is None:
            threading.Thread(target=self._run, name="cgan-engine", daemon=True).start()
        else:
            worker.submit(self)

    def _run(self) -> None:
        try:
            self.value = self.function()
        except BaseException as e:  # handed to the waiting thread
            self.error = e
        _RUNNING.discard(self)
        self.done.set()

    def result(self, timeout: float):
        if not self.done.wait(timeout):
            raise TimeoutError
        if self.error is not None:
            raise self.error
        return self.value


def _onnxruntime_error(model_name: str) -> Callable[[BaseException], BaseException | None]:
    def translate(e: BaseException) -> BaseException | None:
        # onnxruntime raises its own exception types (Fail, InvalidArgument, RuntimeException) for a graph that
        # fails while it runs: the file, not the user's input, is at fault.
        if type(e).__module__.startswith("onnxruntime"):
            return CganError(f"ONNX Runtime failed running {model_name} ({first_line(e)}): the file is damaged or "
                             f"not a cgan model; export it again with cgan export")
        return None

    return translate


def wait_openvino(request, budget: Budget, values: int):
    """Wait for a started ``request``, cancelling it at the deadline or a signal; returns the request."""
    def wait(timeout: float):
        if not request.wait_for(max(1, int(timeout * 1000))):
            raise TimeoutError
        return request

    return _wait(wait, request.cancel, budget, values, engine_error=_openvino_error(budget.model_name))


def _openvino_error(model_name: str) -> Callable[[BaseException], BaseException | None]:
    def translate(e: BaseException) -> BaseException | None:
        if isinstance(e, RuntimeError):  # OpenVINO reports a request that failed as a RuntimeError
            return CganError(f"OpenVINO failed running {model_name} ({first_line(e)}): the file is damaged or not "
                             f"a cgan model; export it again with cgan export")
        return None

    return translate


def _wait(poll: Callable[[float], object], stop: Callable[[], None], budget: Budget, values: int, *,
          engine_error: Callable[[BaseException], BaseException | None]):
    """Poll until the call is done; on the deadline or an interrupt, stop the engine and raise."""
    limit = budget.deadline(values)
    started = time.monotonic()
    try:
        while True:
            try:
                result = poll(POLL_SECONDS)
                break
            except TimeoutError:
                if time.monotonic() - started > limit:
                    stop()
                    raise budget.exceeded(limit) from None
    except BaseException as e:
        if not isinstance(e, CganError):
            stop()  # Ctrl-C or SIGTERM: the engine stops at its next node
            translated = engine_error(e)
            if translated is not None:
                raise translated from None
        raise
    if budget.seconds_per_value is None:
        budget.learn(time.monotonic() - started, values)
    return result
