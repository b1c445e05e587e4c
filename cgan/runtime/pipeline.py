"""Decode, translate and encode at the same time: reader thread (decode, pad, normalise) -> bounded
queue -> batched inference -> bounded queue -> writer thread (denormalise, crop, encode), so file
and camera I/O and the pixel work hide behind the model.

Files: every frame, in order (the reader blocks when the queue is full). Live sources drop
frames themselves (newest wins) and the count is reported.
"""
from __future__ import annotations

import dataclasses
import queue
import sys
import threading
import time

import numpy as np

from ..fileio import plural
from ..log import progress_bars_shown
from .options import FrameOptions
from .frames import Sink, Source, SourceLost
from .temporal import TemporalSmoother
from .translator import Translator

_END = object()


@dataclasses.dataclass
class Summary:
    frames: int = 0
    dropped: int = 0
    lost: int = 0  # frames of a video file that could not be decoded
    skipped: int = 0
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM (what was written before is kept)
    seconds: float = 0.0
    # Until the first frame was written: opening the source, and a backend's one-time work on the first frame
    # (compiling, capturing CUDA graphs, choosing convolution algorithms), which a long clip amortises.
    first_frame_seconds: float = 0.0
    model_seconds: float = 0.0  # time inside the model alone
    backend: str = ""  # what ran the model, in words (the backend's description)
    outputs: list[str] = dataclasses.field(default_factory=list)  # the files and folders written (filled by apps)

    def to_dict(self) -> dict:
        """Everything above and the rates, for ``--json``."""
        return {**dataclasses.asdict(self), "fps": self.fps, "steady_fps": self.steady_fps,
                "model_fps": self.model_fps}

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def steady_fps(self) -> float:
        """The rate after the first frame: what a long clip runs at."""
        rest = self.seconds - self.first_frame_seconds
        return (self.frames - 1) / rest if self.frames > 1 and rest > 0 else self.fps

    @property
    def model_fps(self) -> float:
        return self.frames / self.model_seconds if self.model_seconds else 0.0

    def text(self) -> str:
        steady = (f" ({self.steady_fps:.1f} after the first frame, which took {self.first_frame_seconds:.1f} s)"
                  if self.frames > 1 else "")
        parts = [f"{self.frames} {plural(self.frames, 'frame')} in {self.seconds:.1f} s: {self.fps:.1f} fps end to "
                 f"end{steady}, {self.model_fps:.1f} fps in the model"]
        if self.dropped:
            parts.append(f"{self.dropped} dropped (live source: the newest frame wins)")
        if self.lost:
            parts.append(f"{self.lost} lost (could not be decoded: the video is damaged)")
        if self.skipped:
            parts.append(f"{self.skipped} unreadable files skipped")
        if self.interrupted:
            parts.append("stopped by Ctrl-C or SIGTERM")
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


class Pipeline:
    """One run over a source: a reader thread decodes and preprocesses, the calling thread runs the model
    ``translator.batch`` frames at a time, a writer thread postprocesses and hands frames to the sinks.

    A sink with ``stop_requested`` set (a window where q was pressed) ends the run. Errors in either
    thread stop all three; the sinks are then aborted and the error raised. Ctrl-C (and SIGTERM, see
    ``interrupt.terminate_as_interrupt``) finishes what was translated so far and keeps it: for a live source it
    is the way to stop (the summary says so); for a file it raises KeyboardInterrupt saying where the partial
    output is.
    """

    def __init__(self, source: Source, translator: Translator, sinks: list[Sink], options: FrameOptions) -> None:
        from tqdm import tqdm

        self.source, self.translator, self.sinks, self.options = source, translator, sinks, options
        self.stop = threading.Event()
        self.frames_in: queue.Queue = queue.Queue(maxsize=2 * translator.batch + 2)
        self.frames_out: queue.Queue = queue.Queue(maxsize=2 * translator.batch + 2)
        self.errors: list[BaseException] = []
        self.summary = Summary(backend=translator.description)
        self.started = 0.0  # when run() began
        total = len(source) or None
        if options.max_frames:
            total = min(total or options.max_frames, options.max_frames)
        self.bar = tqdm(total=total, unit="frame", disable=not (options.progress and progress_bars_shown()),
                        dynamic_ncols=True,
                        mininterval=0.1 if sys.stderr.isatty() else 10.0)  # a log file gets a line every 10 s
        self.reader = threading.Thread(target=self._read, name="cgan-read", daemon=True)
        self.writer = threading.Thread(target=self._write, name="cgan-write", daemon=True)

    def run(self) -> Summary:
        """Translate every frame into every sink; return the summary, or raise what stopped the run."""
        self.started = time.perf_counter()
        self.reader.start()
        self.writer.start()
        failure: BaseException | None = None
        try:
            self._translate_batches()
        except KeyboardInterrupt as e:
            self.summary.interrupted = True
            failure = None if self.source.live else e
            self.stop.set()
        except BaseException as e:  # clean up, then raise it
            failure = e
            self.stop.set()
        finally:
            self._shut_down()
        self.summary.seconds = time.perf_counter() - self.started
        self.summary.dropped = self.source.dropped
        self.summary.lost = self.source.lost
        self.summary.skipped = len(self.source.skipped)
        self._finish_sinks(failure or (self.errors[0] if self.errors else None))
        return self.summary

    def _read(self) -> None:
        """Reader thread: frames and their model inputs, in order, then the end marker."""
        try:
            for count, frame in enumerate(self.source):
                if self.options.max_frames is not None and count >= self.options.max_frames:
                    break
                if not _put(self.frames_in, (frame, self.translator.preprocess(frame.image)), self.stop):
                    return
        except BaseException as e:  # handed to the main thread, which raises it
            self.errors.append(e)
        _put(self.frames_in, _END, self.stop)

    def _translate_batches(self) -> None:
        """Calling thread: batches of model inputs through the model, until the source ends or a stop."""
        ended = False
        while not ended and not self.stop.is_set():
            chunk, ended = _collect(self.frames_in, self.translator.batch, self.source.live, self.stop)
            if not chunk:
                return
            started = time.perf_counter()
            outputs = self.translator.infer([x for _, x in chunk])
            self.summary.model_seconds += time.perf_counter() - started
            if not _put(self.frames_out, [(frame, out) for (frame, _), out in zip(chunk, outputs)], self.stop):
                return

    def _write(self) -> None:
        """Writer thread: each translated frame postprocessed, smoothed if asked, into every sink."""
        smoother = TemporalSmoother() if self.options.temporal else None
        try:
            while (item := self.frames_out.get()) is not _END:
                for frame, output in item:
                    output = self.translator.postprocess(output, frame.image)
                    if smoother is not None:
                        output = smoother(frame.image, output)
                    shown = side_by_side(frame.image, output) if self.options.side_by_side else output
                    for sink in self.sinks:
                        sink.write(frame, shown)
                    if not self.summary.frames:
                        self.summary.first_frame_seconds = time.perf_counter() - self.started
                    self.summary.frames += 1
                    self.bar.update(1)
                    if any(sink.stop_requested for sink in self.sinks):
                        self.stop.set()
        except BaseException as e:
            self.errors.append(e)
            self.stop.set()

    def _shut_down(self) -> None:
        """Let the writer finish what is queued, then end both threads."""
        while self.writer.is_alive():
            try:
                self.frames_out.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue
        self.writer.join()
        self.stop.set()
        self.reader.join(timeout=5)
        self.bar.close()

    def _finish_sinks(self, failure: BaseException | None) -> None:
        """Complete every output, or after a failure remove what is incomplete and raise the failure. A live
        source lost for good is no fault of what was recorded before: that is completed, and the loss raised."""
        if isinstance(failure, SourceLost):
            frames, kept = self._keep_outputs()
            raise SourceLost(f"{failure}; the {frames} before are kept in {kept}" if kept else str(failure)) from None
        if isinstance(failure, KeyboardInterrupt):  # a file stopped half-way: keep what was done, playable
            frames, kept = self._keep_outputs()
            raise KeyboardInterrupt(f"the {frames} translated before are kept in {kept}" if kept else "")
        if failure is not None:
            for sink in self.sinks:
                sink.abort()
            raise failure
        for sink in self.sinks:
            sink.close()


    def _keep_outputs(self) -> tuple[str, str]:
        """Complete every output after a stop that is no fault of what was written: how many frames, in words,
        and the outputs that exist ("" if none)."""
        for sink in self.sinks:
            sink.close()
        kept = [str(sink.output) for sink in self.sinks if sink.output is not None and sink.output.exists()]
        return f"{self.summary.frames} {plural(self.summary.frames, 'frame')}", ", ".join(kept)


def run_pipeline(source: Source, translator: Translator, sinks: list[Sink],
                 options: FrameOptions | None = None) -> Summary:
    """Translate every frame ``source`` yields into every sink (see ``Pipeline``); returns the summary."""
    return Pipeline(source, translator, sinks, options or FrameOptions()).run()


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
