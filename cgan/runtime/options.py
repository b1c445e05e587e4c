"""How the runtime runs a model and what it does around it, as named fields passed from the CLI down.

``RuntimeOptions`` reaches the Translator and its backend; ``FrameOptions`` reaches the
pipeline. Both check their values when made, so a bad value fails before any file is opened.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..devices import check_device_name
from ..errors import CganError
from ..modelfile import check_direction
from ..option_fields import option_field
from ..precision import HALF, PRECISIONS, TORCH_PRECISIONS
from ..presets import DIRECTIONS

# --provider name -> ONNX Runtime's execution provider, best first.
ORT_PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
                 "cpu": "CPUExecutionProvider"}
ORT_PROVIDER_NAMES = tuple(ORT_PROVIDERS)
BACKEND_NAMES = ("auto", "torch", "onnxruntime", "openvino", "ncnn", "litert", "tensorrt")
PERFORMANCE_MODES = ("auto", "latency", "throughput")
MAX_BATCH = 256  # frames per model call; the pipeline holds twice as many (plus their outputs) in its queues
MAX_IMGSZ = 16384  # the long side; the frame must also stay under cgan.images.max_pixels


@dataclass(frozen=True)
class RuntimeOptions:
    """Which generator runs, where, in what precision, how many frames per call and at what size."""

    direction: str | None = option_field(
        None, "Which generator of a run directory to use [default: AtoB]; with a model or exported file, checked "
              "against the direction the file holds.", choices=DIRECTIONS)
    batch: int = option_field(1, "Frames per model call.")
    precision: str | None = option_field(
        None, "PyTorch's, and OpenVINO's on float graphs (ONNX Runtime and engines keep the exported one); half: "
              "fp16 on CUDA, bf16 on CPUs with bf16 instructions [default: fp32].", choices=(*TORCH_PRECISIONS, HALF))
    backend: str = option_field("auto", "What runs the model; auto: from the file (OpenVINO for .onnx on CPUs where "
                                        "installed, else ONNX Runtime).", choices=BACKEND_NAMES)
    device: str = option_field("auto", "auto, cpu, cuda or cuda:N (openvino:GPU or openvino:NPU with --backend "
                                       "openvino).")
    provider: str | None = option_field(None, "ONNX Runtime execution provider.", choices=ORT_PROVIDER_NAMES,
                                        shown="the best installed")
    compile: bool = option_field(False, "PyTorch: compile the network with torch.compile (once per frame size, "
                                        "cached).")
    cuda_graphs: bool = option_field(True, "PyTorch on CUDA: replay the network as a CUDA graph per input shape.")
    performance: str = option_field(
        "auto", "OpenVINO: latency (one request per batch), throughput (frames as parallel requests), or auto "
                "(latency on CPUs, where it was faster on every CPU measured; throughput for files on openvino:GPU "
                "and NPU).", choices=PERFORMANCE_MODES)
    imgsz: int | None = option_field(None, "Scale the long side to N before translating.")
    keep_imgsz: bool = option_field(False, "With --imgsz, keep the output at that size (no scaling back).")

    def __post_init__(self) -> None:
        if self.direction is not None:
            check_direction(self.direction)
        if self.backend not in BACKEND_NAMES:
            raise CganError(f"unknown backend {self.backend!r}: choose one of {', '.join(BACKEND_NAMES)}")
        if self.performance not in PERFORMANCE_MODES:
            raise CganError(f"unknown performance mode {self.performance!r}: choose auto, latency or throughput")
        check_device_name(self.device)
        if self.precision is not None and self.precision not in (*PRECISIONS, HALF):
            raise CganError(f"unknown precision {self.precision!r}: choose one of {', '.join(PRECISIONS)} or {HALF}")
        if self.provider is not None and self.provider not in ORT_PROVIDER_NAMES:
            raise CganError(f"unknown provider {self.provider!r}: choose one of {', '.join(ORT_PROVIDER_NAMES)}")
        if not 1 <= self.batch <= MAX_BATCH:
            raise CganError(f"--batch must be from 1 to {MAX_BATCH} (frames held in memory at once), not {self.batch}")
        if self.imgsz is not None and not 1 <= self.imgsz <= MAX_IMGSZ:
            raise CganError(f"--imgsz must be from 1 to {MAX_IMGSZ} pixels (the long side), not {self.imgsz}")


@dataclass(frozen=True)
class FrameOptions:
    """What the pipeline does with each translated frame besides handing it to the sinks."""

    temporal: bool = option_field(False, "Reduce frame-to-frame flicker in video (optical-flow blending).")
    side_by_side: bool = option_field(False, "Write input | output next to each other.")
    max_frames: int | None = option_field(None, "Stop after N frames.")
    progress: bool = True  # a progress bar on stderr

    def __post_init__(self) -> None:
        if self.max_frames is not None and self.max_frames < 1:
            raise CganError("--max-frames must be at least 1")


def auto_performance(*, live: bool, device: str) -> str:
    """What ``--performance auto`` runs: latency on CPUs, for files as for cameras. Frames in parallel requests
    (throughput) lost on both CPU kinds measured at 640x480 (benchmarks/student_pipeline.py): student 19.9 against
    32.3 frames/s on an AMX Xeon, and 2 to 3% on a 2-core EPYC without bf16 for every student and the filter. An
    Intel GPU or NPU (openvino:GPU, openvino:NPU) keeps throughput for files, where parallel requests fill it."""
    return "throughput" if not live and device.startswith("openvino:") else "latency"


def runtime_options(options: RuntimeOptions | None = None, **fields) -> RuntimeOptions:
    """``options`` (default: the defaults) with ``fields`` changed: ``runtime_options(batch=4, device="cpu")``."""
    return dataclasses.replace(options or RuntimeOptions(), **fields)
