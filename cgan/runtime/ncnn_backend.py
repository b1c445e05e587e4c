"""ncnn: the inference library of Android phones and ARM boards, running the pair ``cgan export --format ncnn``
writes (``NAME.ncnn.param`` + ``.ncnn.bin``, with cgan's ``NAME.ncnn.json`` sidecar).

The param file's text is checked before ncnn reads it (ncnn_file.py). ncnn takes one image per call, so a batch
runs image by image; its calls cannot be cancelled, so each runs on a worker thread that the command stops
waiting for at the deadline or a signal (bounded.py). A probe call runs before the user's frames.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import CganError
from ..modelfile import read_exported_meta
from ..ncnn_file import load_ncnn, ncnn_files, run_ncnn
from ..shapes import round_up
from .bounded import Budget, Worker, run_uncancellable
from .graph_check import check_output
from .options import RuntimeOptions

INSTALL_HINT = 'pip install "cgan[ncnn]"'
# Without a graph to infer sizes from, the memory check takes the widest layer of any cgan generator (resnet9 at
# ngf 64: 64 channels per input pixel, 21 values per input value) with room to spare.
VALUES_PER_INPUT = 32.0


class NcnnBackend:
    """An ncnn pair on the CPU, fp32 compute (fp16 weights where exported so)."""

    name = "ncnn"
    uint8_io = False
    requests = 1

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions) -> None:
        try:
            import ncnn
        except ImportError as e:
            raise CganError(f"ncnn is not installed ({e}): {INSTALL_HINT}") from None
        self.version = ncnn.__version__
        param, weights, _ = ncnn_files(model)
        self.meta, record = read_exported_meta(param)  # (from the sidecar)
        if not weights.is_file():
            raise CganError(f"{param.name} has no {weights.name} beside it (an ncnn model is the pair): copy both")
        self.precision = record.get("export", {}).get("precision", "fp32")
        self.file_name = param.name
        self.threads = os.cpu_count() or 1
        self.net, self.names = load_ncnn(param, weights, threads=self.threads)
        self.values_per_input = VALUES_PER_INPUT
        self.budget = Budget(self.file_name)
        self.worker = Worker()
        side = round_up(64, self.meta.size_multiple)
        probe = np.random.default_rng(0).uniform(-1, 1, (1, 3, side, side)).astype(np.float32)
        check_output(self.run(probe), probe.shape, self.file_name)

    @property
    def description(self) -> str:
        return f"ncnn {self.version} on the CPU ({self.threads} threads, {self.precision} weights)"

    def run(self, batch: np.ndarray) -> np.ndarray:
        """An NCHW float32 batch in [-1, 1] -> the translated NCHW float32 batch, image by image."""
        def call() -> np.ndarray:
            return np.stack([run_ncnn(self.net, self.names, image) for image in batch])

        return run_uncancellable(call, self.budget, batch.size, self.worker)


def ncnn_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ncnn") is not None
