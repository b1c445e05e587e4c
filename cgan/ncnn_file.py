"""An ncnn pair (``NAME.ncnn.param`` + ``NAME.ncnn.bin``, with cgan's ``NAME.ncnn.json`` sidecar): what a param file
from a stranger must pass before ncnn reads it, and how ncnn runs one image.

ncnn builds every layer its param file names and allocates what the layer's numbers ask for: a layer type no
cgan export writes runs code cgan has no say over, and a convolution of a million outputs or an upscale by a
thousand exhausts memory. So the text is read here first and refused when it is not ncnn's param format, names a
layer type outside those cgan's exports are made of (``NCNN_LAYER_TYPES``), has a size-like number beyond what a
generator uses (``LIMITS``), or has not exactly one input and one output. Each call's output is then checked by
the runtime like every backend's (shape, finiteness).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .errors import CganError

MAGIC = "7767517"
MAX_PARAM_BYTES = 4 * 2**20  # a resnet9's param file is a few kB: its weights are in the .bin
MAX_LAYERS = 10_000
# The layer types pnnx writes for every preset and generator option at fp32 and fp16 (pnnx 20261020): nothing else.
NCNN_LAYER_TYPES = frozenset({
    "Input", "Split", "Convolution", "ConvolutionDepthWise", "Deconvolution", "BinaryOp", "UnaryOp", "Eltwise",
    "ReLU", "TanH", "Clip", "Padding", "InstanceNorm", "PixelShuffle", "Interp", "Concat", "Reduction",
})
# Per layer type, the largest value of each size-like parameter id (ncnn's numbered parameters): output
# channels, kernel, dilation, stride, padding, upscale and resize factors and sizes.
LIMITS = {
    "Convolution": {0: 4096, 1: 15, 11: 15, 2: 8, 12: 8, 3: 8, 13: 8, 4: 64, 14: 64, 15: 64, 16: 64},
    "ConvolutionDepthWise": {0: 4096, 1: 15, 11: 15, 2: 8, 12: 8, 3: 8, 13: 8, 4: 64, 14: 64, 15: 64, 16: 64,
                             7: 4096},
    "Deconvolution": {0: 4096, 1: 15, 11: 15, 2: 8, 12: 8, 3: 8, 13: 8, 4: 64, 14: 64, 15: 64, 16: 64, 18: 64,
                      19: 64, 20: 8192, 21: 8192},
    "Padding": {0: 1024, 1: 1024, 2: 1024, 3: 1024, 7: 1024, 8: 1024},
    "PixelShuffle": {0: 8},
    "Interp": {1: 8, 2: 8, 3: 8192, 4: 8192},
    "InstanceNorm": {0: 4096},
}


@dataclasses.dataclass(frozen=True)
class NcnnParam:
    """A param file that passed the text check: its layer types, and its input and output blob names."""

    layer_types: frozenset[str]
    input_name: str
    output_name: str


def ncnn_files(param: str | Path) -> tuple[Path, Path, Path]:
    """The param file, its weights and cgan's sidecar: ``NAME.ncnn.param``, ``NAME.ncnn.bin``, ``NAME.ncnn.json``."""
    param = Path(param)
    stem = param.name.removesuffix(".param")
    return param, param.with_name(stem + ".bin"), param.with_name(stem + ".json")


def read_ncnn_param(path: str | Path) -> NcnnParam:
    """Check the param file at ``path`` as text (see the module's docstring); one CganError otherwise."""
    path = Path(path)
    name = path.name
    if path.stat().st_size > MAX_PARAM_BYTES:
        raise CganError(f"{name} is {path.stat().st_size / 2**20:.0f} MB; a cgan model's ncnn param file is a few "
                        f"kB: refusing to read it")
    try:
        lines = [line.split() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise CganError(f"{name} is not an ncnn param file (not text): export it with cgan export --format "
                        f"ncnn") from None
    try:
        layer_count, _ = (int(v) for v in lines[1])
        valid = lines[0] == [MAGIC] and 0 < layer_count <= MAX_LAYERS and len(lines) == layer_count + 2
    except (IndexError, ValueError):
        valid = False
    if not valid:
        raise CganError(f"{name} is not an ncnn param file of cgan's (magic {MAGIC}, a layer count, one line per "
                        f"layer): export it with cgan export --format ncnn")
    inputs, outputs, types, produced, consumed = [], [], set(), set(), set()
    for fields in lines[2:]:
        kind, blobs_in, blobs_out, params = _layer(name, fields)
        types.add(kind)
        if kind == "Input":
            inputs += blobs_out
        produced.update(blobs_out)
        consumed.update(blobs_in)
        _check_params(name, kind, fields[1], params)
    outputs = sorted(produced - consumed)
    if len(inputs) != 1 or len(outputs) != 1:
        raise CganError(f"{name} has {len(inputs)} inputs and {len(outputs)} outputs; a cgan model has one of each: "
                        f"export it with cgan export --format ncnn")
    return NcnnParam(frozenset(types), inputs[0], outputs[0])


def _layer(name: str, fields: list[str]) -> tuple[str, list[str], list[str], list[str]]:
    try:
        kind, count_in, count_out = fields[0], int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        raise CganError(f"{name} has a layer line ncnn's format does not allow: {' '.join(fields)[:80]!r}") from None
    if kind not in NCNN_LAYER_TYPES:
        raise CganError(f"{name} has a layer of type {kind!r}, which cgan models do not use: refusing to run it")
    if not (0 <= count_in <= 16 and 0 <= count_out <= 16 and len(fields) >= 4 + count_in + count_out):
        raise CganError(f"{name}: layer {fields[1]!r} declares {count_in} inputs and {count_out} outputs that its "
                        f"line does not hold: the file is damaged or altered")
    blobs = fields[4:4 + count_in + count_out]
    return kind, blobs[:count_in], blobs[count_in:], fields[4 + count_in + count_out:]


def _check_params(name: str, kind: str, layer: str, params: list[str]) -> None:
    limits = LIMITS.get(kind, {})
    for param in params:
        key, _, value = param.partition("=")
        try:
            number = int(key)
            values = [float(v) for v in value.split(",")]
        except ValueError:
            raise CganError(f"{name}: layer {layer!r} has the parameter {param[:40]!r}, which ncnn's format does not "
                            f"allow: the file is damaged or altered") from None
        if not all(np.isfinite(values)):
            raise CganError(f"{name}: layer {layer!r} has a parameter that is not a finite number: refusing to run it")
        if number in limits and number >= 0 and abs(values[0]) > limits[number]:
            raise CganError(f"{name}: layer {layer!r} ({kind}) asks for {values[0]:g} in its parameter {number}, "
                            f"beyond the {limits[number]} of any cgan model: refusing to run it")


def load_ncnn(param: str | Path, weights: str | Path, threads: int):
    """The pair loaded in ncnn, after the param file's text check; returns (net, (input name, output name))."""
    import ncnn

    checked = read_ncnn_param(param)
    net = ncnn.Net()
    net.opt.num_threads = threads
    if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
        raise CganError(f"ncnn could not read {Path(param).name} with {Path(weights).name}: the pair is damaged or "
                        f"does not belong together; export it again with cgan export --format ncnn")
    return net, (checked.input_name, checked.output_name)


def run_ncnn(net, names: tuple[str, str], image: np.ndarray) -> np.ndarray:
    """One CHW float32 image through the net; its CHW float32 output."""
    import ncnn

    # ncnn.Mat wraps the array's memory without owning it or keeping it alive (made from a temporary array, it
    # reads freed memory: outputs that change from call to call), and ncnn may not run on memory it does not own
    # (it crashed): the array is held by name while a clone that owns its copy is made.
    pixels = np.ascontiguousarray(image, dtype=np.float32)
    data = ncnn.Mat(pixels).clone()
    extractor = net.create_extractor()
    extractor.input(names[0], data)
    status, output = extractor.extract(names[1])
    result = np.array(output, dtype=np.float32)  # a copy, made while the extractor that owns ``output`` lives
    del extractor, data, pixels
    if status != 0:
        raise CganError(f"ncnn failed running the model (status {status}): the file is damaged or not a cgan model; "
                        f"export it again with cgan export --format ncnn")
    return result
