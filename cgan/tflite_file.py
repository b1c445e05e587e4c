"""A LiteRT (TFLite) model file, ``NAME.tflite``: what one from a stranger must pass before LiteRT reads it, cgan's
metadata inside it, and how LiteRT runs one image.

LiteRT builds the kernels a file's operator codes name and allocates what its tensor shapes ask for, so the file
is read here first, with the flatbuffer schema LiteRT ships, and refused when it is not a LiteRT model, is larger
than any generator's file, names an operator outside those cgan's exports are made of (``TFLITE_OPS``), declares
a tensor beyond what a generator uses, points outside its own tables, or has not exactly one input and one output
of NCHW float32. Reading a flatbuffer in Python is memory-safe: a damaged offset raises, and is reported in one
line. cgan's metadata travels in the file's own metadata table, under the name ``cgan``; beside it, where an fp16
export passed its fp16 arithmetic check, LiteRT's own ``reduced_precision_support`` entry, which lets XNNPACK compute
the file in fp16 on CPUs with FP16 arithmetic (ARM phones and boards).

The files are converted at one fixed size (LiteRT's converter cannot keep height and width free, and its XNNPACK
kernels refuse a resized input), so the runtime fits each frame into that size (runtime/litert_backend.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import numpy as np

from .errors import CganError

IDENTIFIER = b"TFL3"
METADATA_NAME = "cgan"
# LiteRT's entry for the arithmetic a file allows, and its value for fp16 operations with fp16 accumulation: what
# XNNPACK reads before it computes a float file in fp16 (tensorflow/lite/tools/optimize/reduced_precision_support.h).
REDUCED_PRECISION_NAME = "reduced_precision_support"
FP16_ARITHMETIC = b"fp16accfp16"
MAX_FILE_BYTES = 512 * 2**20  # a resnet9 at fp32 is 46 MB
MAX_TABLE = 100_000  # operators, tensors, buffers: a resnet9 has a few hundred
MAX_SIDE = 8192
MAX_TENSOR_VALUES = 2**28  # one GB of float32: a 4K frame's widest layer of any cgan generator is below it
# The operators litert-torch 0.10 writes for every preset (students, filter, resnet, mobile, unet), and the two
# that LiteRT Quantizer adds around int8 convolutions.
TFLITE_OPS = frozenset({
    "ADD", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV", "GATHER_ND", "LEAKY_RELU", "LOG",
    "MAXIMUM", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "PAD", "QUANTIZE", "RELU", "RESHAPE", "RESIZE_NEAREST_NEIGHBOR",
    "RSQRT", "SLICE", "SQRT", "SUB", "SUM", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
})
INSTALL_HINT = 'pip install "cgan[litert]"'


@dataclasses.dataclass(frozen=True)
class TfliteModel:
    """A file that passed the check: its operators, its fixed NCHW input shape, cgan's record (None if absent), and
    whether it lets XNNPACK compute in fp16."""

    ops: frozenset[str]
    input_shape: tuple[int, int, int, int]
    record: dict | None
    weight_values: int
    fp16_arithmetic: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """The (height, width) every frame is fitted into."""
        return self.input_shape[2], self.input_shape[3]


def schema():
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as e:
        raise CganError(f"LiteRT is not installed ({e}): {INSTALL_HINT}") from None
    return schema_py_generated


def read_tflite(path: str | Path) -> TfliteModel:
    """Check the file at ``path`` (see the module's docstring); one CganError otherwise."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CganError(f"{path.name} is {size / 2**20:.0f} MB, more than any cgan model's LiteRT file "
                        f"({MAX_FILE_BYTES // 2**20} MB): refusing to read it")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != IDENTIFIER:
        raise CganError(f"{path.name} is not a LiteRT model (no {IDENTIFIER.decode()} identifier): export it with cgan "
                        f"export --format tflite")
    try:
        return _read(schema(), data, path.name)
    except CganError:
        raise
    except Exception as e:  # a damaged offset or length: flatbuffers raises IndexError, struct.error and the like
        raise CganError(f"{path.name} is damaged: its tables point outside the file ({type(e).__name__}); export it "
                        f"again with cgan export --format tflite") from None


def _read(s, data: bytes, name: str) -> TfliteModel:
    model = s.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() != 1:
        raise CganError(f"{name} has {model.SubgraphsLength()} subgraphs; a cgan model has one: refusing to run it")
    for count in (model.OperatorCodesLength(), model.BuffersLength(), model.MetadataLength()):
        _check_count(count, name)
    op_names = {value: key for key, value in vars(s.BuiltinOperator).items() if not key.startswith("_")}
    ops = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        # (codes above 127 live in builtin_code; deprecated_builtin_code keeps the old field for older readers)
        ops.append(op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM"))
    unknown = sorted(set(ops) - TFLITE_OPS)
    if unknown:
        raise CganError(f"{name} uses the operator {unknown[0]}, which cgan models do not: refusing to run it")
    graph = model.Subgraphs(0)
    for count in (graph.TensorsLength(), graph.OperatorsLength()):
        _check_count(count, name)
    tensors, buffers = graph.TensorsLength(), model.BuffersLength()
    weight_values = 0
    for i in range(tensors):
        tensor = graph.Tensors(i)
        shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else np.zeros(0, np.int32)
        values = int(np.prod(shape.astype(np.int64)))
        if (shape < -1).any() or values > MAX_TENSOR_VALUES or tensor.Buffer() >= buffers:
            raise CganError(f"{name}: tensor {i} has the shape {shape.tolist()[:8]}, beyond any cgan model's: "
                            f"refusing to run it")
        if tensor.Buffer() > 0 and model.Buffers(tensor.Buffer()).DataLength():
            weight_values += values
    for i in range(graph.OperatorsLength()):
        operator = graph.Operators(i)
        used = [*operator.InputsAsNumpy().tolist(), *operator.OutputsAsNumpy().tolist()] \
            if operator.InputsLength() + operator.OutputsLength() else []
        if operator.OpcodeIndex() >= len(ops) or any(not -1 <= t < tensors for t in used):
            raise CganError(f"{name}: operator {i} refers to an operator code or tensor the file does not have: "
                            f"the file is damaged or altered")
    for i in range(buffers):
        buffer = model.Buffers(i)
        if buffer.Offset() > 1 and buffer.Offset() + buffer.Size() > len(data):  # (1: "no data", as LiteRT reads it)
            raise CganError(f"{name}: buffer {i} lies outside the file: the file is damaged or truncated")
    input_shape = _io_shape(s, graph, name)
    return TfliteModel(frozenset(ops), input_shape, _record(model, name), weight_values,
                       _entry(model, REDUCED_PRECISION_NAME, name) == FP16_ARITHMETIC)


def _check_count(count: int, name: str) -> None:
    if not 0 <= count <= MAX_TABLE:
        raise CganError(f"{name} declares {count} entries in one table, beyond any cgan model's {MAX_TABLE}: refusing "
                        f"to run it")


def _io_shape(s, graph, name: str) -> tuple[int, int, int, int]:
    """The one input's fixed NCHW shape, checked against the one output's."""
    if graph.InputsLength() != 1 or graph.OutputsLength() != 1:
        raise CganError(f"{name} has {graph.InputsLength()} inputs and {graph.OutputsLength()} outputs; a cgan model "
                        f"has one of each: export it with cgan export --format tflite")
    shapes = []
    for index in (graph.Inputs(0), graph.Outputs(0)):
        tensor = graph.Tensors(index) if 0 <= index < graph.TensorsLength() else None
        shape = tuple(tensor.ShapeAsNumpy().tolist()) if tensor is not None and tensor.ShapeLength() else ()
        if tensor is None or tensor.Type() != s.TensorType.FLOAT32 or len(shape) != 4:
            raise CganError(f"{name} does not take and give NCHW float32 images: export it with cgan export "
                            f"--format tflite")
        shapes.append(shape)
    (n, c, h, w), output = shapes
    if n != 1 or c != 3 or not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE) or output != shapes[0]:
        raise CganError(f"{name} takes {shapes[0]} and gives {output}; a cgan model takes 1x3xHxW (at most "
                        f"{MAX_SIDE} a side) and gives the same: refusing to run it")
    return n, c, h, w


def _record(model, name: str) -> dict | None:
    """cgan's metadata, from the file's metadata table (None where another tool made the file)."""
    text = _entry(model, METADATA_NAME, name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise CganError(f"{name}: its cgan metadata is not JSON: the file is damaged; export it again") from None


def _entry(model, entry_name: str, name: str) -> bytes | None:
    """The bytes of the metadata table's entry ``entry_name`` (None where there is none)."""
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == entry_name.encode():
            if not 0 < entry.Buffer() < model.BuffersLength():
                raise CganError(f"{name}: its {entry_name} metadata points outside the file: export it again")
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def with_metadata(data: bytes, record: dict, fp16_arithmetic: bool = False) -> bytes:
    """The LiteRT file ``data`` with ``record`` as cgan's metadata in its metadata table (replacing any before),
    and LiteRT's entry that lets XNNPACK compute in fp16 where ``fp16_arithmetic`` (removed where not)."""
    import flatbuffers

    s = schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for kept in model.buffers or []:
        # A buffer may keep its bytes after the flatbuffer, at an offset into the file (LiteRT Quantizer writes
        # larger models so); repacking drops that tail, so its bytes move inside the buffer.
        if kept.offset > 1:
            if kept.offset + kept.size > len(data):
                raise CganError("the converter wrote a buffer that lies outside its file: nothing written")
            kept.data = np.frombuffer(data, dtype=np.uint8, count=kept.size, offset=kept.offset)
            kept.offset = kept.size = 0
    entries = {METADATA_NAME: json.dumps(record).encode(), **({REDUCED_PRECISION_NAME: FP16_ARITHMETIC}
                                                             if fp16_arithmetic else {})}
    others = [m for m in model.metadata or [] if (m.name.decode() if isinstance(m.name, bytes) else m.name)
              not in (METADATA_NAME, REDUCED_PRECISION_NAME)]  # (a replaced entry's buffer stays, unnamed)
    model.metadata = others
    for entry_name, value in entries.items():
        buffer = s.BufferT()
        buffer.data = np.frombuffer(value, dtype=np.uint8)
        model.buffers.append(buffer)
        entry = s.MetadataT()
        entry.name, entry.buffer = entry_name, len(model.buffers) - 1
        model.metadata.append(entry)
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=IDENTIFIER)
    return bytes(builder.Output())


class TfliteRunner:
    """A checked file loaded in LiteRT's interpreter (XNNPACK on the CPU), running one image at a time."""

    def __init__(self, path: str | Path, threads: int) -> None:
        self.checked = read_tflite(path)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as e:
            raise CganError(f"LiteRT is not installed ({e}): {INSTALL_HINT}") from None
        try:
            with _quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr
                self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise CganError(f"LiteRT cannot load {Path(path).name} ({str(e).splitlines()[0][:160]}): the file is "
                            f"damaged; export it again with cgan export --format tflite") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def run(self, image: np.ndarray) -> np.ndarray:
        """One CHW float32 image (at the file's size) in [-1, 1]; its CHW float32 output (a copy)."""
        self.interpreter.set_tensor(self.input["index"], np.ascontiguousarray(image[None], dtype=np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])[0].copy()


@contextlib.contextmanager
def _quiet_native_stderr():
    """File descriptor 2 held in a temporary file meanwhile; what was written there, except LiteRT's INFO lines,
    is written back."""
    import os
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(keepends=True)
                    if not line.startswith("INFO: ")]
            sys.stderr.write("".join(kept))
