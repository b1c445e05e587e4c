"""LiteRT (TFLite): the runtime of Android phones and ARM boards, running the ``.tflite`` file that
``cgan export --format tflite`` writes (cgan's metadata inside it).

The file is checked before LiteRT reads it (tflite_file.py). It takes one frame of one size: the Translator fits
each frame into that size (``fixed_size``) and back. LiteRT's calls cannot be cancelled, so each runs on a worker
thread that the command stops waiting for at the deadline or a signal (bounded.py). A probe call runs before the
user's frames.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import CganError
from ..modelfile import read_exported_meta
from ..tflite_file import INSTALL_HINT, TfliteRunner
from .bounded import Budget, Worker, run_uncancellable
from .graph_check import check_output
from .options import RuntimeOptions


class LiteRTBackend:
    """A ``.tflite`` file on the CPU through LiteRT's interpreter (XNNPACK): fp32, fp16 weights (computed in fp16
    where the file allows it and the CPU has FP16 arithmetic) or int8 convolutions."""

    name = "litert"
    uint8_io = False
    requests = 1

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions) -> None:
        if not litert_available():
            raise CganError(f"LiteRT is not installed: {INSTALL_HINT}")
        from importlib.metadata import version

        self.version = version("ai-edge-litert")
        self.meta, record = read_exported_meta(model)  # (from the file's own metadata table, after its check)
        self.precision = record.get("export", {}).get("precision", "fp32")
        self.file_name = Path(model).name
        self.threads = os.cpu_count() or 1
        self.runner = TfliteRunner(model, threads=self.threads)
        self.fixed_size = self.runner.checked.size
        self.budget = Budget(self.file_name)
        self.worker = Worker()
        probe = np.random.default_rng(0).uniform(-1, 1, (1, 3, *self.fixed_size)).astype(np.float32)
        check_output(self.run(probe), probe.shape, self.file_name)

    @property
    def description(self) -> str:
        h, w = self.fixed_size
        precision = self.precision if self.precision != "fp16" else "fp16 weights" + (
            ", fp16 arithmetic where the CPU has it" if self.runner.checked.fp16_arithmetic else "")
        return f"LiteRT {self.version} on the CPU (XNNPACK, {self.threads} threads, {precision}, frames fitted " \
               f"into {h}x{w})"

    def run(self, batch: np.ndarray) -> np.ndarray:
        """An NCHW float32 batch in [-1, 1] at the file's size -> the translated batch, image by image."""
        if tuple(batch.shape[2:]) != self.fixed_size:
            raise CganError(f"{self.file_name} takes {self.fixed_size[0]}x{self.fixed_size[1]} frames, not "
                            f"{batch.shape[2]}x{batch.shape[3]}")

        def call() -> np.ndarray:
            return np.stack([self.runner.run(image) for image in batch])

        return run_uncancellable(call, self.budget, batch.size, self.worker)


def litert_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ai_edge_litert") is not None
