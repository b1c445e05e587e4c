"""Decode, translate and encode at the same time: reader thread (decode, pad, normalise) -> bounded
queue -> batched inference -> bounded queue -> writer thread (denormalise, crop, encode), so file
and camera I/O and the pixel work hide behind the model.

Files: every frame, in order (the reader blocks when the queue is full). Live sources drop
frames themselves (newest wins) and the count is reported.
"""
from __future__ import annotations

import dataclasses
import queue
import threading
import sys
import time

import numpy as np

from .temporal import TemporalSmoother
from .translator import Translator

_END = object()


@dataclasses.dataclass
class Summary:
    frames: int = 0
    dropped: int = 0
    skipped: int = 0
    seconds: float = 0.0
    model_seconds: float = 0.0  # time inside the model alone

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def model_fps(self) -> float:
        return self.frames / self.model_seconds if self.model_seconds else 0.0

    def text(self) -> str:
        parts = [f"{self.frames} frames in {self.seconds:.1f} s: {self.fps:.1f} fps end to end, "
                 f"{self.model_fps:.1f} fps in the model"]
        if self.dropped:
            parts.append(f"{self.dropped} dropped (live source: the newest frame wins)")
        if self.skipped:
            parts.append(f"{self.skipped} unreadable files skipped")
        return "; ".join(parts)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.concatenate([left, right], axis=1)


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put unless the pipeline is stopping; False if it is."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def run_pipeline(source, translator: Translator, sinks: list, batch: int = 1, compare: bool = False,
                 temporal: bool = False, max_frames: int | None = None, progress: bool = True) -> Summary:
    """Translate every frame ``source`` yields into every sink; returns the summary.

    ``compare`` writes input | output side by side; ``temporal`` smooths flicker between frames.
    A sink with ``stop_requested`` set (a window where q was pressed) ends the run.
    """
    from tqdm import tqdm

    stop = threading.Event()
    frames_in: queue.Queue = queue.Queue(maxsize=2 * batch + 2)
    frames_out: queue.Queue = queue.Queue(maxsize=2 * batch + 2)
    errors: list[BaseException] = []
    summary = Summary()
    total = len(source) or None
    if max_frames:
        total = min(total or max_frames, max_frames)
    bar = tqdm(total=total, unit="frame", disable=not progress, dynamic_ncols=True,
               mininterval=0.1 if sys.stderr.isatty() else 10.0)  # a log file gets a line every 10 s

    def read() -> None:
        try:
            for count, frame in enumerate(source):
                if max_frames is not None and count >= max_frames:
                    break
                if not _put(frames_in, (frame, translator.preprocess(frame.image)), stop):
                    return
        except BaseException as e:  # handed to the main thread, which raises it
            errors.append(e)
        _put(frames_in, _END, stop)

    def write() -> None:
        smoother = TemporalSmoother() if temporal else None
        try:
            while True:
                item = frames_out.get()
                if item is _END:
                    return
                for frame, output in item:
                    output = translator.postprocess(output, frame.image)
                    if smoother is not None:
                        output = smoother(frame.image, output)
                    shown = side_by_side(frame.image, output) if compare else output
                    for sink in sinks:
                        sink.write(frame, shown)
                    summary.frames += 1
                    bar.update(1)
                    if any(getattr(sink, "stop_requested", False) for sink in sinks):
                        stop.set()
        except BaseException as e:
            errors.append(e)
            stop.set()

    reader = threading.Thread(target=read, name="cgan-read", daemon=True)
    writer = threading.Thread(target=write, name="cgan-write", daemon=True)
    started = time.perf_counter()
    reader.start()
    writer.start()
    failure: BaseException | None = None
    try:
        ended = False
        while not ended and not stop.is_set():
            chunk, ended = _collect(frames_in, batch, source.live, stop)
            if not chunk:
                break
            t = time.perf_counter()
            outputs = translator.infer([x for _, x in chunk])
            summary.model_seconds += time.perf_counter() - t
            if not _put(frames_out, [(frame, out) for (frame, _), out in zip(chunk, outputs)], stop):
                break
    except BaseException as e:  # KeyboardInterrupt included: clean up, then raise it
        failure = e
        stop.set()
    finally:
        while writer.is_alive():  # let the writer finish what is queued, then end
            try:
                frames_out.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue
        writer.join()
        stop.set()
        reader.join(timeout=5)
        bar.close()
    summary.seconds = time.perf_counter() - started
    summary.dropped = getattr(source, "dropped", 0)
    summary.skipped = len(getattr(source, "skipped", []))
    failure = failure or (errors[0] if errors else None)
    if failure is not None:
        for sink in sinks:
            sink.abort()
        raise failure
    for sink in sinks:
        sink.close()
    return summary


def _collect(frames_in: queue.Queue, batch: int, live: bool, stop: threading.Event) -> tuple[list, bool]:
    """Up to ``batch`` frames and whether the source has ended. A live source's batch takes only what
    is ready (waiting would add latency); a file's waits until full."""
    chunk: list = []
    while len(chunk) < batch:
        block = not chunk or not live
        try:
            item = frames_in.get(timeout=0.1) if block else frames_in.get_nowait()
        except queue.Empty:
            if block and not stop.is_set():
                continue
            return chunk, stop.is_set()
        if item is _END:
            return chunk, True
        chunk.append(item)
    return chunk, False
