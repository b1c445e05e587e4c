"""Run a serialized TensorRT engine (TensorRT 10.x/11.x Python API) on torch CUDA tensors.

I/O is bound once by name (tensor-address API); device buffers are torch CUDA tensors, so no
pycuda is needed; execution is ``execute_async_v3`` on a dedicated CUDA stream (the default
stream would force extra synchronisation).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .errors import CganError

INSTALL_HINT = 'pip install "cgan[gpu]" --extra-index-url https://pypi.nvidia.com'


def import_tensorrt():
    """The ``tensorrt`` module, or a CganError that says how to get it."""
    try:
        import tensorrt
    except ImportError as e:
        raise CganError(f"TensorRT is not installed ({e}): {INSTALL_HINT} (needs an NVIDIA GPU)") from None
    return tensorrt


def require_cuda() -> None:
    if not torch.cuda.is_available():
        raise CganError("TensorRT needs an NVIDIA GPU with CUDA, and none is visible to PyTorch: run this on a "
                        "GPU machine with a CUDA build of PyTorch, or use the ONNX file with ONNX Runtime")


def _torch_dtype(trt, dtype) -> torch.dtype:
    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32, trt.int8: torch.int8}
    if hasattr(trt, "bfloat16"):
        table[trt.bfloat16] = torch.bfloat16
    if dtype not in table:
        raise CganError(f"the engine uses tensor type {dtype}, which cgan does not handle")
    return table[dtype]


class TensorRTEngine:
    """One engine with one image input and one image output; ``run`` takes and returns NCHW tensors."""

    def __init__(self, plan: bytes | str | os.PathLike, device: int = 0) -> None:
        trt = import_tensorrt()
        require_cuda()
        self.trt = trt
        self.device = torch.device("cuda", device)
        if not isinstance(plan, bytes):
            plan = Path(plan).read_bytes()
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        with torch.cuda.device(self.device):
            self.engine = self.runtime.deserialize_cuda_engine(plan)
            if self.engine is None:
                raise CganError("TensorRT could not load the engine: it was built for another TensorRT version or "
                                "GPU; rebuild it here with cgan export --trt")
            self.context = self.engine.create_execution_context()
            self.stream = torch.cuda.Stream(self.device)
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise CganError(f"the engine has {len(inputs)} inputs and {len(outputs)} outputs; cgan expects one of each")
        self.input_name, self.output_name = inputs[0], outputs[0]
        self.input_dtype = _torch_dtype(trt, self.engine.get_tensor_dtype(self.input_name))
        self.output_dtype = _torch_dtype(trt, self.engine.get_tensor_dtype(self.output_name))

    def input_spec(self) -> dict:
        """Name, dtype and the profile's (min, opt, max) shapes of the input."""
        shapes = self.engine.get_tensor_profile_shape(self.input_name, 0)
        return {"name": self.input_name, "dtype": self.input_dtype, "profile": [tuple(s) for s in shapes]}

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Translate one NCHW batch; the result is a CUDA tensor of the engine's output type."""
        x = x.to(self.device, self.input_dtype).contiguous()
        with torch.cuda.device(self.device):
            if not self.context.set_input_shape(self.input_name, tuple(x.shape)):
                low, _, high = self.input_spec()["profile"]
                raise CganError(f"input shape {tuple(x.shape)} is outside the engine's profile {low} to {high}: "
                                f"rebuild with a wider --min/--max")
            out_shape = tuple(self.context.get_tensor_shape(self.output_name))
            y = torch.empty(out_shape, dtype=self.output_dtype, device=self.device)
            self.context.set_tensor_address(self.input_name, x.data_ptr())
            self.context.set_tensor_address(self.output_name, y.data_ptr())
            self.stream.wait_stream(torch.cuda.current_stream(self.device))  # x was written on the current stream
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise CganError("TensorRT failed to run the engine (see its log above)")
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
            x.record_stream(self.stream)
            y.record_stream(self.stream)
        return y
