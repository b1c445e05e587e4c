"""OpenVINO: the CPU's fastest engine for exported models (and Intel GPUs and NPUs where present).

Reads the ``.onnx`` file ``cgan export`` writes (or exports a model file to a temporary ONNX first),
compiles it once per device with a precision hint (fp32, or bf16 on CPUs with bf16 instructions)
and a performance hint, and caches the compiled model so that a second start is fast. An int8
(QDQ) ONNX runs as int8.

Latency mode runs a batch as one request. Throughput mode splits a batch into single images run
as parallel requests, one per stream OpenVINO chose: more images per second for batches of
files, at the latency of the slowest.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import CganError
from ..modelfile import ModelMeta, read_exported_meta
from ..precision import HALF, check_precision
from .options import RuntimeOptions

INSTALL_HINT = 'pip install "cgan[openvino]"'
# OpenVINO's names for the precision hint and the performance hint.
_HINTS = {"fp32": "f32", "bf16": "bf16"}
_MODES = {"latency": "LATENCY", "throughput": "THROUGHPUT"}


def import_openvino():
    """The ``openvino`` module, or a CganError that says how to get it."""
    try:
        import openvino
    except ImportError as e:
        raise CganError(f"OpenVINO is not installed ({e}): {INSTALL_HINT}") from None
    return openvino


def openvino_available() -> bool:
    """Whether OpenVINO is installed, without importing it (importing starts its threads, see train/data.py)."""
    return importlib.util.find_spec("openvino") is not None


def cache_dir() -> Path:
    """Where compiled models are kept between runs (``$CGAN_CACHE`` or ``~/.cache/cgan``, then ``openvino/``)."""
    root = os.environ.get("CGAN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "cgan")
    return Path(root).expanduser() / "openvino"


def openvino_device(device: str) -> str:
    """OpenVINO's device for a ``--device`` value: ``openvino:GPU`` names one; anything else runs on the CPU."""
    return device.split(":", 1)[1] if device.startswith("openvino:") else "CPU"


class OpenVinoBackend:
    """An exported generator compiled by OpenVINO."""

    name = "openvino"

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions) -> None:
        ov = import_openvino()
        self.version = ov.__version__.split("-")[0]
        path = Path(model)
        self._tmp = None
        if path.suffix.lower() != ".onnx":  # a model file: export it to ONNX first (a few seconds)
            path = self._export(path, options.direction)
        self.meta: ModelMeta
        self.meta, record = read_exported_meta(path)
        core = ov.Core()
        self.device = openvino_device(options.device)
        if self.device not in core.available_devices:
            raise CganError(f"OpenVINO has no {self.device} device here (it has {', '.join(core.available_devices)}): "
                            f"choose --device cpu")
        graph_precision = record.get("export", {}).get("precision", "fp32")
        self.precision = graph_precision if graph_precision == "int8" else self._precision(core, options.precision)
        config = {"PERFORMANCE_HINT": _MODES[options.performance], "CACHE_DIR": str(cache_dir())}
        if graph_precision != "int8":
            config["INFERENCE_PRECISION_HINT"] = _HINTS[self.precision]
        try:
            self.compiled = core.compile_model(str(path), self.device, config)
        except RuntimeError as e:
            raise CganError(f"OpenVINO could not compile {path.name} ({str(e).strip().splitlines()[0]}): export it "
                            f"again with cgan export") from None
        self.performance = options.performance
        self.request = self.compiled.create_infer_request()
        streams = self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        self.queue = ov.AsyncInferQueue(self.compiled, streams) if options.performance == "throughput" else None

    def _precision(self, core, requested: str | None) -> str:
        """fp32 unless asked otherwise; ``half`` is bf16 where the device computes it natively, else fp32."""
        native_bf16 = "BF16" in core.get_property(self.device, "OPTIMIZATION_CAPABILITIES")
        if requested in (None, "fp32"):
            return "fp32"
        if requested == HALF:
            return "bf16" if native_bf16 else "fp32"
        check_precision(requested, ("fp32", "bf16"), "OpenVINO on a float graph")
        if not native_bf16:
            raise CganError(f"OpenVINO's {self.device} has no bf16 instructions: use --precision fp32")
        return requested

    def _export(self, model_path: Path, direction: str) -> Path:
        from ..export import ExportOptions, export_onnx

        self._tmp = tempfile.TemporaryDirectory(prefix="cgan-openvino-")
        onnx_path, _ = export_onnx(model_path, Path(self._tmp.name) / "model.onnx",
                                   ExportOptions(direction=direction, verify=False))
        return onnx_path

    @property
    def description(self) -> str:
        return f"OpenVINO {self.version} on {self.device} ({self.precision}, {self.performance})"

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.queue is None or len(batch) == 1:
            return np.asarray(self.request.infer({0: batch})[0], dtype=np.float32)
        outputs: list[np.ndarray | None] = [None] * len(batch)

        def done(request, index: int) -> None:
            outputs[index] = np.array(request.get_output_tensor(0).data, dtype=np.float32)

        self.queue.set_callback(done)
        for index in range(len(batch)):
            self.queue.start_async({0: batch[index:index + 1]}, index)
        self.queue.wait_all()
        return np.concatenate(outputs)
