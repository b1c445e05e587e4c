"""OpenVINO: the CPU's fastest engine for exported models (and Intel GPUs and NPUs where present).

Reads the ``.onnx`` file ``cgan export`` writes, or its OpenVINO IR (``--format openvino``: ``.xml`` + ``.bin``,
fp32, fp16-compressed or NNCF's int8) (a model file reaches it exported to a temporary ONNX by a
layer above, which ``open_backend``'s ``to_onnx`` hands in: the runtime does not import the exporter),
compiles it once per device with a precision hint (fp32, or bf16 on CPUs with bf16 instructions)
and a performance hint, and caches the compiled model so that a second start is fast. An int8
(QDQ) ONNX or IR runs as int8.

The runtime hands it uint8 frames (``run_images``): conversion to [-1, 1], the layout change, and
clamping and rounding back to uint8 are compiled into the graph (OpenVINO's PrePostProcessor), so
they run fused on OpenVINO's threads instead of in NumPy beside them. ``run`` takes the float batch
of the other backends (what ``cgan benchmark`` times); its graph is compiled on first use.

Latency mode runs a batch as one request. Throughput mode splits a batch into single images run
as parallel requests, one per stream OpenVINO chose: more images per second for batches of
files, at the latency of the slowest. A user's ``.onnx`` is checked before it is compiled
(graph_check.py), and every request is bounded in time (bounded.py).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from ..cache import cache_root, usable_cache
from ..errors import CganError, first_line
from ..modelfile import ModelMeta, read_exported_meta
from ..pixels import HALF_RANGE
from ..precision import HALF, check_precision
from .bounded import COMPILE_SECONDS, Budget, run_interruptibly, wait_openvino
from .graph_check import check_onnx_file, check_openvino_graph, check_output, not_finite
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
        # Ctrl-C or SIGTERM while OpenVINO's C extension initialises comes out of the import as a failed
        # initialisation caused by the KeyboardInterrupt: an interruption, not a missing package.
        if _caused_by_interrupt(e):
            raise KeyboardInterrupt from None
        raise CganError(f"OpenVINO is not installed ({e}): {INSTALL_HINT}") from None
    return openvino


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt stands anywhere in ``error``'s chain of causes."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def openvino_available() -> bool:
    """Whether OpenVINO is installed, without importing it (importing starts its threads, see train/data.py)."""
    return importlib.util.find_spec("openvino") is not None


def cache_dir() -> Path:
    """Where compiled models are kept between runs."""
    return cache_root() / "openvino"


def openvino_device(device: str) -> str:
    """OpenVINO's device for a ``--device`` value: ``openvino:GPU`` names one; anything else runs on the CPU."""
    return device.split(":", 1)[1] if device.startswith("openvino:") else "CPU"


class OpenVinoBackend:
    """An exported generator compiled by OpenVINO."""

    name = "openvino"
    uint8_io = True  # frames go in and come out as uint8 (see uint8_frames)

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions, name: str | None = None) -> None:
        """``model``: an exported ``.onnx`` or ``.xml`` file (``open_backend`` turns a model file into an ``.onnx``
        first); ``name``: what messages call it (default: the file's name). The file is read once, here: a
        temporary export can be removed as soon as this returns."""
        ov = import_openvino()
        self.version = ov.__version__.split("-")[0]
        path = Path(model)
        self.file_name = name or path.name
        self.meta: ModelMeta
        self.meta, record = read_exported_meta(path)  # (an IR's text is checked here: ir_file.py)
        is_ir = path.suffix.lower() == ".xml"
        if not is_ir:
            self.graph = check_onnx_file(path, self.meta)  # before OpenVINO compiles it: hostile graphs crash it
        core = ov.Core()
        self.device = openvino_device(options.device)
        self.device_type = "cpu" if self.device == "CPU" else "accelerator"
        self.budget = Budget(self.file_name, timed=self.device_type == "cpu")  # (GPU builds can take minutes)
        if self.device not in core.available_devices:
            raise CganError(f"OpenVINO has no {self.device} device here (it has {', '.join(core.available_devices)}): "
                            f"choose --device cpu")
        graph_precision = record.get("export", {}).get("precision", "fp32")
        self.precision = graph_precision if graph_precision == "int8" else self._precision(core, options.precision)
        self.performance = "throughput" if options.performance == "throughput" else "latency"
        self.config = {"PERFORMANCE_HINT": _MODES[self.performance], "CACHE_DIR": str(usable_cache(cache_dir()))}
        if graph_precision != "int8":
            self.config["INFERENCE_PRECISION_HINT"] = _HINTS[self.precision]
        self._core = core
        self._graph = self._read(path)
        if is_ir:
            self.graph = check_openvino_graph(ov, self._graph, self.file_name, self.meta.size_multiple)
        self.requests = 1  # frames run in parallel: OpenVINO's streams in throughput mode
        self._images = self._compile(uint8_io=True)
        self._floats: list | None = None  # compiled on the first ``run``
        self.values_per_input = self.graph.elements_per_input  # for the Translator's memory check
        n, _, h, w = self.graph.probe  # a first call before the user's frames: its shape, finiteness and time
        probe = np.random.default_rng(0).integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        check_output(self.run_images(probe), probe.shape, self.file_name)

    def _compile(self, uint8_io: bool) -> list:
        """The graph compiled (with uint8 frames in and out, or as exported), with one request for latency
        mode or one per parallel stream for throughput."""
        ov = import_openvino()
        try:
            graph = self._graph.clone()  # the pre- and post-processing steps change the graph they are given
            graph = uint8_frames(ov, graph) if uint8_io else graph
            compiled = run_interruptibly(lambda: self._core.compile_model(graph, self.device, self.config),
                                         COMPILE_SECONDS[self.device_type],
                                         f"OpenVINO's compilation of {self.file_name}")
        except RuntimeError as e:
            raise CganError(f"OpenVINO could not compile {self.file_name} ({first_line(e)}): "
                            f"export it again with cgan export") from None
        if self.performance == "throughput":
            self.requests = compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        return [compiled.create_infer_request() for _ in range(self.requests)]

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

    def _read(self, path: Path):
        try:
            return self._core.read_model(str(path))
        except RuntimeError as e:
            raise CganError(f"OpenVINO could not read {self.file_name} ({first_line(e)}): export it again with cgan "
                            f"export") from None

    @property
    def description(self) -> str:
        requests = f", {self.requests} parallel requests" if self.requests > 1 else ""
        return f"OpenVINO {self.version} on {self.device} ({self.precision}, {self.performance}{requests})"

    def run(self, batch: np.ndarray) -> np.ndarray:
        """An NCHW float32 batch in [-1, 1] -> the translated NCHW float32 batch."""
        if self._floats is None:
            self._floats = self._compile(uint8_io=False)
        return self._infer(self._floats, batch).astype(np.float32, copy=False)

    def run_images(self, images: np.ndarray) -> np.ndarray:
        """An NHWC uint8 RGB batch -> the translated NHWC uint8 RGB batch."""
        return self._infer(self._images, images)

    def _infer(self, requests: list, batch: np.ndarray) -> np.ndarray:
        """One request for the batch, or (throughput mode) one image per request, as many in flight as there
        are requests, in order. Each wait is bounded (bounded.py)."""
        if len(requests) == 1 or len(batch) == 1:
            requests[0].start_async({0: batch})
            return self._result(requests[0], batch.size)
        outputs: list[np.ndarray | None] = [None] * len(batch)
        in_flight: dict[int, int] = {}  # request -> the image it runs
        for index in range(len(batch)):
            slot = index % len(requests)
            if slot in in_flight:
                outputs[in_flight.pop(slot)] = self._result(requests[slot], batch[index].size)
            requests[slot].start_async({0: batch[index:index + 1]})
            in_flight[slot] = index
        for slot, index in in_flight.items():
            outputs[index] = self._result(requests[slot], batch[index].size)
        return np.concatenate(outputs)

    def _result(self, request, values: int) -> np.ndarray:
        """The output of a started request once it is done; a uint8 graph's finiteness flag is checked."""
        wait_openvino(request, self.budget, values)
        if len(request.model_outputs) > 1 and not request.get_output_tensor(1).data.all():
            raise not_finite(self.budget.model_name)
        return np.array(request.get_output_tensor(0).data)


def uint8_frames(ov, graph):
    """``graph`` taking and giving NHWC uint8 RGB: x/127.5 - 1 and the NCHW transpose before it, and the
    inverse after it with clamping and round-half-to-even (NumPy's rounding, so both paths agree). A second
    output says whether every value the model gave was finite: NaN turned to uint8 would pass as black."""
    from openvino import opset13 as ops
    from openvino.preprocess import PrePostProcessor

    steps = PrePostProcessor(graph)
    steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    steps.input().model().set_layout(ov.Layout("NCHW"))
    steps.input().preprocess().convert_element_type(ov.Type.f32).mean(HALF_RANGE).scale(HALF_RANGE)
    steps.output().model().set_layout(ov.Layout("NCHW"))
    steps.output().tensor().set_layout(ov.Layout("NHWC")).set_element_type(ov.Type.u8)
    half_range = np.float32(HALF_RANGE)
    model_output = []

    def to_uint8_range(node):
        model_output.append(node)
        return ops.round(ops.add(ops.multiply(ops.clamp(node, -1.0, 1.0), half_range), half_range),
                         "half_to_even").output(0)

    steps.output().postprocess().custom(to_uint8_range)
    built = steps.build()
    # NaN and infinity survive a sum (an infinity may become NaN), so one sum of the model's output tells (the
    # clamp would hide them). A cgan model's outputs end in tanh, far from float32's range: finite outputs never
    # sum to infinity. Its cost, measured in benchmarks/safety_cost.py, is that of reading the output once more.
    axes = ops.constant(np.arange(4, dtype=np.int64))
    finite = ops.is_finite(ops.reduce_sum(model_output[0], axes, keep_dims=False))
    return ov.Model([*built.get_results(), ops.result(finite)], built.get_parameters(), built.get_friendly_name())
