"""What ``cgan benchmark`` measures: for a model file, every backend variant available on the device (PyTorch fp32
eager first, the baseline; its exports to ONNX made once, unverified, since every output is compared with the
baseline's); for an exported file, every backend that runs it as it is."""
from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Callable

import numpy as np

from ..devices import cpu_has_fast_bf16
from ..errors import CganError
from ..formats import backends_for
from ..pixels import to_pixels


@dataclasses.dataclass(frozen=True)
class Plan:
    """What to measure: the model file, on which device, with reduced precisions, int8 calibration images."""

    model: str
    device: str
    half: bool
    workdir: Path
    calib: str | None = None
    compiled: bool = False  # also PyTorch compiled by torch.compile


def model_candidates(plan: Plan, backends: list[str]) -> tuple[list, dict]:
    """(label, precision, factory) for every backend variant available on ``device``, and why others were
    skipped. The first is the baseline: PyTorch fp32 eager on that device."""
    found: list = []
    skipped: dict = {}
    for name, add in (("torch", _torch_variants), ("onnxruntime", _onnxruntime_variants),
                      ("openvino", _openvino_variants), ("tensorrt", _tensorrt_variants)):
        if name in backends:
            add(plan, found, skipped)
    return found, skipped


def _opener(backend_class, path, device: str, **fields) -> Callable:
    """A factory: backends are opened one at a time, when measured."""
    from ..runtime.options import RuntimeOptions

    return lambda: backend_class(path, RuntimeOptions(device=device, **fields))


def _onnx_file(plan: Plan, precision: str = "fp32") -> Path:
    """The model exported once (unverified: the benchmark compares every output with PyTorch fp32 itself)."""
    from ..export import export_onnx

    path = plan.workdir / f"m_{precision}.onnx"
    if not path.exists():
        export_onnx(plan.model, path, precision=precision, verify=False,
                    calib=plan.calib if precision == "int8" else None)
    return path


def _int8_file(plan: Plan, skipped: dict, name: str) -> Path | None:
    """The int8 export where ``--calib`` is given and the model qualifies; else why not, under ``name``."""
    if plan.calib is None:
        skipped[f"{name} int8"] = "give --calib DIR (images for int8 calibration) to measure int8"
        return None
    try:
        return _onnx_file(plan, "int8")
    except CganError as e:
        skipped[f"{name} int8"] = str(e)
        return None


class Uint8Frames:
    """A backend timed as the runtime calls it on CUDA: uint8 NHWC frames in and out, converted on the GPU,
    instead of float32 NCHW batches (a quarter of the bytes cross the bus)."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.frames: tuple[np.ndarray, np.ndarray] | None = None  # (a float batch, it as uint8 frames)

    def run(self, x: np.ndarray) -> np.ndarray:
        if self.frames is None or self.frames[0] is not x:  # converted once, in a warm-up call
            frames = to_pixels(x).transpose(0, 2, 3, 1)
            self.frames = (x, np.ascontiguousarray(frames))
        return self.backend.run_images(self.frames[1])


def _torch_variants(plan: Plan, found: list, skipped: dict) -> None:
    from ..runtime.backends import TorchBackend

    model, device, half = plan.model, plan.device, plan.half
    if device == "cuda":
        for precision in ("fp32", "fp16") if half else ("fp32",):
            found.append(("torch cuda eager", precision, _opener(TorchBackend, model, device, precision=precision,
                                                                 cuda_graphs=False)))
            found.append(("torch cuda graphs", precision, _opener(TorchBackend, model, device, precision=precision)))
            if plan.compiled:
                found.append(("torch cuda compiled+graphs", precision,
                              _opener(TorchBackend, model, device, precision=precision, compile=True)))
        if half:  # the runtime's own path: fp16 on uint8 frames
            graphs = _opener(TorchBackend, model, device, precision="fp16")
            found.append(("torch cuda graphs, uint8 frames", "fp16", lambda: Uint8Frames(graphs())))
            if plan.compiled:
                compiled = _opener(TorchBackend, model, device, precision="fp16", compile=True)
                found.append(("torch cuda compiled+graphs, uint8 frames", "fp16", lambda: Uint8Frames(compiled())))
        return
    precisions = ("fp32", "bf16") if half and cpu_has_fast_bf16() else ("fp32",)
    found.append(("torch eager", "fp32", _opener(TorchBackend, model, device, precision="fp32")))
    if "bf16" in precisions:
        found.append(("torch", "bf16", _opener(TorchBackend, model, device, precision="bf16")))
    for precision in precisions if plan.compiled else ():
        found.append(("torch compiled", precision, _opener(TorchBackend, model, device, precision=precision,
                                                           compile=True)))


def _onnxruntime_variants(plan: Plan, found: list, skipped: dict) -> None:
    import onnxruntime as ort

    from ..runtime.backends import OnnxBackend
    from ..runtime.options import ORT_PROVIDERS

    device, half = plan.device, plan.half
    if device != "cuda":
        found.append(("onnxruntime cpu", "fp32", _opener(OnnxBackend, _onnx_file(plan), device, provider="cpu")))
        int8 = _int8_file(plan, skipped, "onnxruntime cpu")
        if int8 is not None:
            found.append(("onnxruntime cpu", "int8", _opener(OnnxBackend, int8, device, provider="cpu")))
        return
    for provider in ("cuda", "tensorrt"):
        if ORT_PROVIDERS[provider] not in ort.get_available_providers():
            skipped[f"onnxruntime {provider}"] = "needs onnxruntime-gpu"
            continue
        for precision in ("fp32", "fp16") if half else ("fp32",):
            found.append((f"onnxruntime {provider}", precision,
                          _opener(OnnxBackend, _onnx_file(plan, precision), device, provider=provider)))


def _openvino_variants(plan: Plan, found: list, skipped: dict) -> None:
    from ..runtime.openvino_backend import OpenVinoBackend, openvino_available

    if plan.device == "cuda":
        skipped["openvino"] = "runs on CPUs (and Intel GPUs and NPUs): measure it with --device cpu"
        return
    if not openvino_available():
        skipped["openvino"] = 'not installed: pip install "cgan[openvino]"'
        return
    for precision in ("fp32", "bf16") if plan.half and cpu_has_fast_bf16() else ("fp32",):
        found.append(("openvino cpu", precision, _opener(OpenVinoBackend, _onnx_file(plan), "cpu",
                                                         backend="openvino", precision=precision)))
    int8 = _int8_file(plan, skipped, "openvino cpu")
    if int8 is not None:
        found.append(("openvino cpu", "int8", _opener(OpenVinoBackend, int8, "cpu", backend="openvino")))


def exported_candidates(plan: Plan, backends: list[str]) -> tuple[list, dict]:
    """For an exported file: every backend here that runs it as it is (its precision fixed at export, except
    OpenVINO's hint on float graphs); the first is the baseline."""
    from ..runtime.backends import OnnxBackend, TensorRTBackend
    from ..runtime.openvino_backend import OpenVinoBackend, openvino_available

    found: list = []
    skipped: dict = {}
    runs = backends_for(plan.model)
    for name in (b for b in backends if b not in runs):
        skipped[name] = f"does not run {Path(plan.model).suffix} files"
    if "onnxruntime" in runs and "onnxruntime" in backends:
        found.append((f"onnxruntime {plan.device}", "as exported",
                      _opener(OnnxBackend, plan.model, plan.device, provider="cuda" if plan.device == "cuda" else "cpu")))
    if "openvino" in runs and "openvino" in backends:
        if plan.device == "cuda":
            skipped["openvino"] = "runs on CPUs (and Intel GPUs and NPUs): measure it with --device cpu"
        elif not openvino_available():
            skipped["openvino"] = 'not installed: pip install "cgan[openvino]"'
        else:
            bf16 = ("bf16",) if plan.half and cpu_has_fast_bf16() else ()
            for precision in ("fp32", *bf16):
                found.append(("openvino cpu", precision, _opener(OpenVinoBackend, plan.model, "cpu", backend="openvino",
                                                                 precision=precision)))
    for name in ("ncnn", "litert"):  # the phone and board engines: CPUs only here, exported files as they are
        if name not in runs or name not in backends:
            continue
        if plan.device == "cuda":
            skipped[name] = "runs on CPUs here: measure it with --device cpu"
        elif importlib.util.find_spec({"ncnn": "ncnn", "litert": "ai_edge_litert"}[name]) is None:
            skipped[name] = f'not installed: pip install "cgan[{name}]"'
        else:
            found.append((f"{name} cpu", "as exported", _opener(_cpu_engine(name), plan.model, "cpu", backend=name)))
    if "tensorrt" in runs and "tensorrt" in backends:
        if plan.device != "cuda":
            skipped["tensorrt"] = "needs a CUDA GPU"
        else:
            found.append(("tensorrt", "as built", _opener(TensorRTBackend, plan.model, plan.device)))
    return found, skipped


def _cpu_engine(name: str) -> type:
    if name == "ncnn":
        from ..runtime.ncnn_backend import NcnnBackend

        return NcnnBackend
    from ..runtime.litert_backend import LiteRTBackend

    return LiteRTBackend


def _tensorrt_variants(plan: Plan, found: list, skipped: dict) -> None:
    from ..export import EngineOptions, ExportOptions, build_engine
    from ..runtime.backends import TensorRTBackend

    model, device = plan.model, plan.device
    if device != "cuda":
        skipped["tensorrt"] = "needs a CUDA GPU"
        return
    try:
        for precision in ("fp32", "fp16"):
            engine, _ = build_engine(model, plan.workdir / f"m_{precision}.engine",
                                     ExportOptions(precision=precision, verify=False, overwrite=True),
                                     EngineOptions(max_shape="4x3x1088x1920"))
            found.append(("tensorrt", precision, _opener(TensorRTBackend, engine, device)))
    except CganError as e:
        skipped["tensorrt"] = str(e)
