"""Three ways to run a generator on an NCHW float32 batch in [-1, 1]: PyTorch, ONNX Runtime, TensorRT.

The backend follows from the model file: ``.safetensors`` or a run directory -> PyTorch,
``.onnx`` -> ONNX Runtime (or OpenVINO), ``.xml`` -> OpenVINO, ``.ncnn.param`` -> ncnn (ncnn_backend.py),
``.tflite`` -> LiteRT (litert_backend.py),
``.engine``/``.plan`` -> TensorRT. Each reports its device and
precision, so that the runtime can say what it actually runs on.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, ContextManager, Protocol, runtime_checkable

import numpy as np

from ..devices import cpu_has_fast_bf16, cuda_visible, pick_device
from ..errors import CganError, first_line
from ..formats import backends_for, exported_format
from ..modelfile import ModelMeta, load_model, read_exported_meta, resolve_model_path
from ..pixels import tensor_to_model_range, tensor_to_pixels
from ..precision import HALF, TORCH_PRECISIONS, check_precision, resolve_precision
from ..presets import A_TO_B
from ..shapes import round_up
from .bounded import COMPILE_SECONDS, Budget, Worker, run_interruptibly, run_onnxruntime
from .graph_check import check_onnx_file, not_finite, probe_run
from .options import ORT_PROVIDERS, RuntimeOptions


@runtime_checkable
class Backend(Protocol):
    """What the Translator needs of a backend: the model's metadata, what it runs on, and ``run``."""

    name: str
    meta: ModelMeta
    precision: str  # one of cgan.precision.PRECISIONS
    uint8_io: bool  # True: it also has run_images (below) and converts frames on its own device
    requests: int  # frames it runs in parallel (OpenVINO's throughput mode); the Translator batches at least that

    @property
    def description(self) -> str:
        """Library, device and precision in words, e.g. 'PyTorch 2.13.0 on cpu (bf16)'."""

    def run(self, batch: np.ndarray) -> np.ndarray:
        """An NCHW float32 batch in [-1, 1] -> the translated NCHW float32 batch."""

    # With ``uint8_io`` a backend also defines ``run_images(images)``: an NHWC uint8 RGB batch -> the translated
    # NHWC uint8 batch, converting on its own device; the Translator then hands it frames.


class TorchBackend:
    """PyTorch: fp32, or fp16 on CUDA / bf16 on CPUs with bf16 instructions (weights converted once:
    measured faster than autocast, which recasts them on every call, at the same 45 dB PSNR against fp32).
    On CUDA the network is replayed as a CUDA graph per input shape unless ``cuda_graphs`` is False."""

    name = "torch"
    requests = 1

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions) -> None:
        import torch  # PyTorch runs model files (cgan[train]); exported models run without it

        self.device = pick_device(options.device)
        precision = check_precision(resolve_precision(options.precision, self.device), TORCH_PRECISIONS,
                                    "the PyTorch backend")
        if precision == "fp16" and self.device.type != "cuda":
            raise CganError("fp16 runs on CUDA GPUs; on a CPU use --precision bf16 (or --half, which picks it)")
        if precision == "bf16" and self.device.type == "cpu" and not cpu_has_fast_bf16():
            raise CganError("this CPU has no bf16 instructions: use --precision fp32")
        self.precision = precision
        self.net = load_model(model, options.direction or A_TO_B, self.device)
        self.net_name = Path(model).name
        self.meta: ModelMeta = self.net.meta
        if self.device.type == "cuda":
            # NCHW, not channels_last: on an H200 at 720p fp16 a call takes 13.9 ms in NCHW and 19.2 ms in NHWC
            # (benchmarks/gpu_profile.py); instance norm and reflection padding take more time than the
            # convolutions. Frames of a stream share one shape, so timing cuDNN's algorithms once per shape pays.
            torch.backends.cudnn.benchmark = True
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)
        self.net.to(self.dtype)
        self.forward = self.net
        self.compiled = options.compile
        if options.compile:
            from .compiled import compiled_forward

            self.forward = compiled_forward(self.net)
        # On a GPU frames travel as uint8 (a quarter of float32's bytes) and are converted there; on a CPU
        # NumPy does the same work in the pipeline's reader and writer threads, beside the model.
        self.uint8_io = self.device.type == "cuda"
        self._staging = None  # pinned host buffer for uint8 frames on their way to the GPU
        self.device_type = self.device.type
        self.values_per_input = peak_values_per_input(self.meta.config)
        if options.cuda_graphs and self.device.type == "cuda":
            from .cuda_graphs import CudaGraphRunner

            self.forward = CudaGraphRunner(self.forward)

    @property
    def description(self) -> str:
        import torch

        from .cuda_graphs import CudaGraphRunner

        compiled = ", compiled" if self.compiled else ""
        graphs = ", CUDA graphs" if isinstance(self.forward, CudaGraphRunner) else ""
        return f"PyTorch {torch.__version__} on {self.device} ({self.precision}{compiled}{graphs})"

    def run(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, self.dtype, non_blocking=True)
            return self.forward(x).float().cpu().numpy()

    def run_images(self, images: np.ndarray) -> np.ndarray:
        """NHWC uint8 RGB -> translated NHWC uint8 RGB; scaling to [-1, 1], layout, clamping and rounding run
        on the model's device. On CUDA the frames are copied from a pinned buffer without blocking."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(images)
            if self.device.type == "cuda":
                if self._staging is None or self._staging.shape != x.shape:
                    self._staging = torch.empty(x.shape, dtype=torch.uint8, pin_memory=True)
                self._staging.copy_(x)
                x = self._staging
            x = x.to(self.device, non_blocking=True).permute(0, 3, 1, 2).to(self.dtype).contiguous()
            y = self.forward(tensor_to_model_range(x)).float()
            if not torch.isfinite(y).all():  # NaN turned to uint8 would pass as black
                raise not_finite(self.net_name)
            return tensor_to_pixels(y, inplace=True).permute(0, 2, 3, 1).cpu().numpy()


def peak_values_per_input(config) -> float:
    """The largest output of any layer of the generator ``config`` describes, per input value, found by running
    it on the meta device (shapes only: nothing allocated or computed) at a small size: what the Translator's
    memory check scales by."""
    import torch

    from ..nets import build_generator

    side = round_up(64, config.size_multiple)
    largest = [0]

    def record(module, inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            largest[0] = max(largest[0], output.numel())

    with torch.device("meta"):
        shadow = build_generator(config)
    for module in shadow.modules():
        module.register_forward_hook(record)
    with torch.inference_mode():
        shadow(torch.empty(1, 3, side, side, device="meta"))
    return largest[0] / (3 * side * side)


class OnnxBackend:
    """ONNX Runtime: the TensorRT EP, else the CUDA EP, else the CPU EP, whichever the installed package has."""

    name = "onnxruntime"
    uint8_io = False
    requests = 1

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions) -> None:
        import onnxruntime as ort

        self.meta, record = read_exported_meta(model)
        self.graph = check_onnx_file(model, self.meta)  # before ONNX Runtime compiles it
        self.precision = record.get("export", {}).get("precision", "fp32")  # the graph's, fixed at export
        chosen = _chosen_providers(options.provider, ort.get_available_providers())
        # The TensorRT EP may lower an fp32 graph to fp16 itself; --half means fp16 on a GPU.
        fp16 = self.precision == "fp16" or options.precision in ("fp16", HALF)
        cache = str(Path(model).with_suffix(".trt-cache"))
        settings = {"TensorrtExecutionProvider": {
            "trt_engine_cache_enable": True, "trt_engine_cache_path": cache, "trt_timing_cache_enable": True,
            "trt_timing_cache_path": cache, "trt_fp16_enable": fp16}}
        providers = [(p, settings[p]) if p in settings else p for p in chosen]
        # ONNX Runtime's own coloured log lines (errors included) would come before cgan's one error line, which
        # says the same; a provider that fails to load is reported below.
        ort.set_default_logger_severity(4)
        session_options = ort.SessionOptions()
        session_options.log_severity_level = 4
        try:
            self.session = run_interruptibly(
                lambda: ort.InferenceSession(str(model), session_options, providers=providers),
                COMPILE_SECONDS["cpu" if chosen[0] == "CPUExecutionProvider" else "accelerator"],
                f"ONNX Runtime's loading of {Path(model).name}")
        except Exception as e:  # onnxruntime raises its own types for damaged graphs and missing external data
            raise CganError(f"ONNX Runtime cannot load {Path(model).name} ({first_line(e)}): the file is damaged or its "
                            f"external data is missing; export it again with cgan export") from None
        active = self.session.get_providers()
        # onnxruntime-gpu silently falls back to the CPU when CUDA libraries or the driver are missing.
        if options.provider and active[0] != chosen[0]:
            raise CganError(f"ONNX Runtime could not start {chosen[0]} (CUDA or TensorRT libraries or the GPU driver "
                            f"are missing); it would run on {active[0]}: fix the GPU set-up or use --provider cpu")
        self.provider = active[0]
        self.input_name = self.session.get_inputs()[0].name
        self.fallback = chosen[0] != active[0]
        self.values_per_input = self.graph.elements_per_input  # for the Translator's memory check
        self.device_type = "cpu" if self.provider == "CPUExecutionProvider" else "cuda"
        # On a GPU the first call of each shape may build a TensorRT engine for minutes: no deadline there, and
        # no probe (it would build one for the probe's shape); Ctrl-C and SIGTERM still stop it.
        self.budget = Budget(Path(model).name, timed=self.device_type == "cpu")
        self.worker = Worker()  # the thread every call runs on
        if self.device_type == "cpu":
            probe_run(self.run, self.graph.probe, Path(model).name)

    @property
    def description(self) -> str:
        import onnxruntime as ort

        note = " (GPU providers failed to load: running on the CPU)" if self.fallback else ""
        return f"ONNX Runtime {ort.__version__}, {self.provider} ({self.precision} graph){note}"

    def run(self, batch: np.ndarray) -> np.ndarray:
        outputs = run_onnxruntime(self.session, {self.input_name: batch}, self.budget, batch.size, self.worker)
        return outputs[0].astype(np.float32, copy=False)


def _chosen_providers(provider: str | None, available: list[str]) -> list[str]:
    """The execution providers to ask for: the one named (with the CPU behind it), else the best installed."""
    if not provider:
        return [p for p in ORT_PROVIDERS.values() if p in available]
    wanted = ORT_PROVIDERS[provider]
    if wanted not in available:
        raise CganError(f"ONNX Runtime here has no {wanted} (it has {', '.join(available)}): install "
                        f"onnxruntime-gpu for cuda/tensorrt, or choose --provider cpu")
    return [wanted] + (["CPUExecutionProvider"] if wanted != "CPUExecutionProvider" else [])


class TensorRTBackend:
    """A TensorRT engine built by ``cgan export --trt``, described by its ``.json`` sidecar."""

    name = "tensorrt"
    uint8_io = False
    requests = 1

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions) -> None:
        from ..tensorrt_engine import TensorRTEngine, require_cuda

        self.meta, record = read_exported_meta(model)
        self.precision = record.get("tensorrt", {}).get("precision", "fp32")  # the engine's, fixed at build
        require_cuda()
        self.engine = TensorRTEngine(Path(model), pick_device(options.device).index or 0)

    @property
    def description(self) -> str:
        import torch

        return f"TensorRT {self.engine.trt.__version__} on {torch.cuda.get_device_name(self.engine.device)} ({self.precision})"

    def run(self, batch: np.ndarray) -> np.ndarray:
        import torch

        return self.engine.run(torch.from_numpy(batch)).float().cpu().numpy()


def choose_backend(model: str | os.PathLike, options: RuntimeOptions) -> str:
    """The backend that runs ``model``: the one named, if it can run that file, else the file's own.

    For an ``.onnx`` file, ``auto`` takes OpenVINO where it is installed and the model runs on the CPU
    (measured faster than ONNX Runtime's CPU provider for the students and resnets: benchmarks/RESULTS.md, "Every
    format side by side"), else ONNX Runtime. The filter is the exception on CPUs without bf16: its few, thin
    layers ran faster in ONNX Runtime there (1.3 to 1.8x at 256x256 and 640x480, and end to end), so ``auto``
    takes ONNX Runtime for it.
    """
    exported = exported_format(model)
    runs = backends_for(model)
    if exported is not None and not runs:
        raise CganError(f"{Path(model).name} is a Core ML package, which runs only on Apple systems: cgan does not "
                        f"run it here; export the model with --format onnx, openvino, ncnn or tflite for this machine")
    if options.backend != "auto":
        if options.backend not in runs:
            kind = f"a {exported.suffixes[0]} file" if exported else "a model file"
            raise CganError(f"--backend {options.backend} cannot run {kind}: choose one of {', '.join(runs)}"
                            + ("" if exported else " (or export it: cgan export)"))
        return options.backend
    if exported is None or exported.name != "onnx":
        return runs[0]
    from .openvino_backend import openvino_available

    on_cpu = options.provider in (None, "cpu") and not options.device.startswith("cuda") and not (
        options.device == "auto" and cuda_visible())
    if not (on_cpu and openvino_available()):
        return "onnxruntime"
    return "onnxruntime" if _is_filter(model) and not cpu_has_fast_bf16() else "openvino"


def _is_filter(model: str | os.PathLike) -> bool:
    """Whether ``model`` (an .onnx file) holds the filter generator, by its metadata; False where it has none
    (the backend then gives the file's one error line)."""
    try:
        return read_exported_meta(model)[0].config.arch == "filter"
    except CganError:
        return False


# Turns a model file into a temporary .onnx for the engines that run only exported graphs (OpenVINO): called with
# the model file and the direction, it yields the .onnx path, which is removed when the context ends.
ToOnnx = Callable[[Path, str], ContextManager[Path]]


def open_backend(model: str | os.PathLike, options: RuntimeOptions | None = None,
                 to_onnx: ToOnnx | None = None) -> Backend:
    """The backend for ``model`` (see ``choose_backend``): ``.onnx`` -> OpenVINO or ONNX Runtime,
    ``.engine``/``.plan`` -> TensorRT, a ``.safetensors`` file or run directory -> PyTorch, or OpenVINO when asked
    for and ``to_onnx`` can export it (cgan.apps hands in the exporter; the runtime does not import it)."""
    options = options or RuntimeOptions()
    backend = choose_backend(model, options)
    direction = options.direction or A_TO_B  # (a run directory's default generator)
    if backend == "onnxruntime":
        return OnnxBackend(model, options)
    if backend == "tensorrt":
        return TensorRTBackend(model, options)
    if backend == "ncnn":
        from .ncnn_backend import NcnnBackend

        return NcnnBackend(model, options)
    if backend == "litert":
        from .litert_backend import LiteRTBackend

        return LiteRTBackend(model, options)
    if backend == "openvino":
        from .openvino_backend import OpenVinoBackend

        if exported_format(model) is not None:  # .onnx, or OpenVINO's own .xml
            return OpenVinoBackend(model, options)
        if to_onnx is None:
            raise CganError(f"OpenVINO runs exported graphs: export {Path(model).name} first (cgan export MODEL), "
                            f"or run it with cgan translate, which exports it on the fly")
        model_path = resolve_model_path(model, direction)
        with to_onnx(model_path, direction) as onnx_path:  # read once by the backend, then removed
            return OpenVinoBackend(onnx_path, options, name=model_path.name)
    return TorchBackend(resolve_model_path(model, direction), options)
