"""The LiteRT conversion itself, run by ``cgan export --format tflite`` as a child process:
``python -m cgan.export.litert_convert MODEL DIRECTION HEIGHT WIDTH PRECISION OUT [INPUTS.npy]``. fp16 stores the
convolutions' weights in half precision and, given inputs (N x 3 x HEIGHT x WIDTH float32), writes the file's
outputs for them in fp16 arithmetic as XNNPACK emulates it (``OUT.fp16-arithmetic.npy``, none where it cannot);
int8 quantises the convolutions on the inputs, its calibration.

A process of its own because litert-torch imports JAX and transformers (seconds, and gigabytes of libraries that
the rest of cgan never needs), prints its passes from C++, and may crash in native code: none of that may be
cgan's. It writes the bare ``.tflite`` (no metadata, unverified); the parent checks, labels and verifies it.
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from ..edges import Neighbourhood


class CroppedTransposedConv(torch.nn.Module):
    """A transposed convolution with padding ``p`` and output padding ``op`` (op <= p) as the same convolution
    without either, cropped: ``full[p : len - p + op]`` on each side is what PyTorch computes (exactly). LiteRT's
    converter cannot lower a transposed convolution with output padding (the CycleGAN resnet's upsampling), and
    can lower this."""

    def __init__(self, conv: torch.nn.ConvTranspose2d) -> None:
        super().__init__()
        self.padding, self.output_padding = conv.padding, conv.output_padding
        self.conv = torch.nn.ConvTranspose2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                             padding=0, output_padding=0, groups=conv.groups,
                                             bias=conv.bias is not None, dilation=conv.dilation)
        self.conv.load_state_dict(conv.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = self.conv(x)
        (ph, pw), (oh, ow) = self.padding, self.output_padding
        return full[:, :, ph:full.shape[2] - ph + oh, pw:full.shape[3] - pw + ow]


class XnnpackNeighbourhood(Neighbourhood):
    """``--edge-map``'s features (edges.py) from operators XNNPACK runs, the same values: replicate padding as the
    edge rows and columns sliced and concatenated (litert-torch lowers it to GATHER_ND, which XNNPACK does not run:
    the filter's graph ran in pieces, and slower), and the sum over channels as a 1x1 convolution of ones (with
    LiteRT's SUM, XNNPACK's emulated fp16 arithmetic left the filter's output far from PyTorch's). Measured side by
    side: benchmarks/litert_edges.py."""

    @staticmethod
    def replicate_pad(x: torch.Tensor, width: int) -> torch.Tensor:
        x = _concatenated([x[..., :1]] * width + [x] + [x[..., -1:]] * width, 3)
        return _concatenated([x[..., :1, :]] * width + [x] + [x[..., -1:, :]] * width, 2)

    @staticmethod
    def channel_sum(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(x, torch.ones(1, x.shape[1], 1, 1, dtype=x.dtype))


def _concatenated(parts: list[torch.Tensor], dim: int) -> torch.Tensor:
    """``torch.cat(parts, dim)`` as concatenations of at most four tensors each, the most XNNPACK takes at once."""
    while len(parts) > 4:
        parts = [torch.cat(parts[i:i + 4], dim) if len(parts[i:i + 4]) > 1 else parts[i]
                 for i in range(0, len(parts), 4)]
    return torch.cat(parts, dim)


def convertible(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` with (in place) each transposed convolution that has output padding replaced by its cropped form, and
    each ``--edge-map`` feature module by its XNNPACK form."""
    for name, child in net.named_children():
        if isinstance(child, torch.nn.ConvTranspose2d) and any(child.output_padding):
            if any(o > p for o, p in zip(child.output_padding, child.padding)):
                raise ValueError("a transposed convolution with more output padding than padding")
            setattr(net, name, CroppedTransposedConv(child))
        elif type(child) is Neighbourhood:
            setattr(net, name, XnnpackNeighbourhood(child.image_channels))
        else:
            convertible(child)
    return net


def convert(model: str, direction: str, height: int, width: int, out: str) -> None:
    import litert_torch

    from ..modelfile import load_model

    net = convertible(load_model(model, direction).eval())
    edge = litert_torch.convert(net, (torch.zeros(1, 3, height, width),))
    edge.export(out)


# What int8 quantises and fp16 stores in half precision: the convolutions, as the ONNX int8 export does (int8.py).
# The float tail (the colour map's sum, atanh, tanh) stays float: full-integer quantisation of it (AI Edge
# Quantizer's static_wi8_ai8 recipe) put 1 - x near x = 1 on an int8 grid, and the files reached 15-28 dB against
# PyTorch.
QUANTISED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D_TRANSPOSE")


def quantise(float_file: str, calibration: np.ndarray, out: str) -> None:
    """Write ``float_file`` with int8 convolutions (per-channel symmetric weights, asymmetric activations whose
    ranges come from ``calibration``: min and max, as the other int8 exports) to ``out``; input and output stay
    float32."""
    from ai_edge_litert.interpreter import Interpreter
    from litert_quantizer import qtyping, quantizer

    config = qtyping.OpQuantizationConfig(
        activation_tensor_config=qtyping.TensorQuantizationConfig(num_bits=8, symmetric=False),
        weight_tensor_config=qtyping.TensorQuantizationConfig(
            num_bits=8, symmetric=True, granularity=qtyping.QuantGranularity.CHANNELWISE),
        compute_precision=qtyping.ComputePrecision.INTEGER, explicit_dequantize=False)
    with open(float_file, "rb") as f:
        model = quantizer.Quantizer(f.read())
    for op in QUANTISED_OPS:
        model.update_quantization_recipe(regex=".*", operation_name=qtyping.TFLOperationName[op], op_config=config)
    # The converter names the signature and its input (serving_default, args_0): read them, not assume them.
    ((signature, io),) = Interpreter(model_path=float_file).get_signature_list().items()
    (input_name,) = io["inputs"]
    ranges = model.calibrate({signature: [{input_name: x[None]} for x in calibration]}, num_threads=1)
    model.quantize(ranges, serialize_to_path=out, enable_progress_report=False)


def fp16_weights(float_file: str, out: str) -> None:
    """Write ``float_file`` with the convolutions' weights stored in fp16 to ``out`` (LiteRT Quantizer's float
    casting: a DEQUANTIZE turns each into float32 as the file loads, and XNNPACK computes in fp16 where the file
    allows it and the CPU has FP16 arithmetic); the activations, input and output stay float32."""
    from litert_quantizer import qtyping, quantizer
    from litert_quantizer.algorithm_manager import AlgorithmName

    config = qtyping.OpQuantizationConfig(
        weight_tensor_config=qtyping.TensorQuantizationConfig(num_bits=16, dtype=qtyping.TensorDataType.FLOAT),
        compute_precision=qtyping.ComputePrecision.FLOAT, explicit_dequantize=True)
    with open(float_file, "rb") as f:
        model = quantizer.Quantizer(f.read())
    for op in QUANTISED_OPS:
        model.update_quantization_recipe(regex=".*", operation_name=qtyping.TFLOperationName[op], op_config=config,
                                         algorithm_key=AlgorithmName.FLOAT_CASTING)
    model.quantize(serialize_to_path=out, enable_progress_report=False)


# XNNPACK's delegate flags (TfLiteXNNPackDelegateFlags): its default int8 kernels, and fp16 arithmetic forced,
# which on an x86 CPU with AVX2 it emulates, rounding each operation's result to fp16.
XNNPACK_QS8, XNNPACK_QU8, XNNPACK_FORCE_FP16 = 0x1, 0x2, 0x4


def fp16_arithmetic_outputs(path: str, inputs: np.ndarray) -> np.ndarray | None:
    """The file's outputs for ``inputs`` in fp16 arithmetic, as XNNPACK computes them on CPUs with FP16 arithmetic
    (ARM phones and boards) and emulates them on x86 CPUs with AVX2 (LiteRT's compiled-model API, fp16 forced);
    None where this LiteRT or CPU cannot."""
    import os

    try:
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.cpu_options import CpuOptions
        from ai_edge_litert.options import Options

        model = CompiledModel.from_file(path, options=Options(cpu_options=CpuOptions(
            num_threads=os.cpu_count() or 1, xnnpack_flags=XNNPACK_QS8 | XNNPACK_QU8 | XNNPACK_FORCE_FP16)))
        feed, fetch = model.create_input_buffers(0), model.create_output_buffers(0)
        outputs = []
        for x in inputs:
            feed[0].write(np.ascontiguousarray(x[None], dtype=np.float32))
            model.run_by_index(0, feed, fetch)
            outputs.append(fetch[0].read(x.size, np.float32).reshape(x.shape))
        return np.stack(outputs)
    except Exception:  # an older LiteRT, a CPU that cannot emulate fp16: the parent says it was not checked
        return None


def main(argv: list[str]) -> int:
    model, direction, height, width, precision, out, *given = argv
    inputs = np.load(given[0], allow_pickle=False) if given else None
    if precision == "fp32":
        convert(model, direction, int(height), int(width), out)
        return 0
    float_file = out + ".float.tflite"
    convert(model, direction, int(height), int(width), float_file)
    if precision == "int8":
        quantise(float_file, inputs, out)
        return 0
    fp16_weights(float_file, out)
    emulated = fp16_arithmetic_outputs(out, inputs) if inputs is not None else None
    if emulated is not None:
        np.save(out + ".fp16-arithmetic.npy", emulated)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
