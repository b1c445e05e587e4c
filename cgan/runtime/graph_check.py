"""What an ``.onnx`` file (or an OpenVINO IR, ``check_openvino_graph``) from a stranger must pass before an engine
compiles it.

An engine runs whatever a graph says: a ``Loop`` with a trip count of 10^15 runs for ever (and ONNX
Runtime's and OpenVINO's C++ do not return to Python, so no signal handler runs meanwhile); an ``Expand``
to 1x3x100000x100000 makes OpenVINO crash outright. cgan exports neither. So a graph is read first, without
running it, and refused when it has

- control flow (``Loop``, ``Scan``, ``If``: any node carrying a subgraph) or an operator outside ONNX's own
  domain;
- not exactly one float32 NCHW input with 3 channels and one such output;
- at a probe input, a tensor whose size ONNX's shape inference cannot settle (it would depend on the data), one
  far larger than the input (the bound below), or an output whose shape differs from the input's.

Every export of every preset infers fully. What a graph costs in time is not known before it runs: each
call is bounded in time instead (``bounded.py``), and its output checked (the Translator).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CganError, first_line
from ..shapes import round_up

# The largest tensor a cgan generator makes is its widest layer at full resolution: resnet9 at ngf 64 holds 64
# channels per pixel (21x the 3-channel input), the filter's edge features 12 (4x). A graph needing more than
# this many elements per input element is refused: at 640x480 it would need over 1.9 GB for one tensor.
MAX_ELEMENTS_PER_INPUT = 512
FLOAT32 = 1  # onnx.TensorProto's element type
# A graph fixed to one input size is probed at that size: 16 frames of 4K is more than any export of cgan's takes.
MAX_FIXED_INPUT_VALUES = 16 * 3 * 2160 * 3840
# Domains the exporters write: ONNX's own (and its spelled-out name). Custom operators run native code
# that cgan has no say over.
STANDARD_DOMAINS = ("", "ai.onnx")


@dataclasses.dataclass(frozen=True)
class GraphReport:
    """What the check learnt: the probe shape used and the peak tensor size per input element there, from which
    the runtime estimates the memory a frame needs."""

    probe: tuple[int, int, int, int]
    elements_per_input: float


def data_inputs(model) -> list:
    """The graph's inputs that are not initializers (older files list their weights among the inputs too)."""
    weights = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in weights]


def probe_shape(model, size_multiple: int, side: int = 64) -> tuple[int, int, int, int]:
    """The input shape to infer at: the graph's own fixed sizes, else ``side`` (rounded up to the size multiple)."""
    side = round_up(side, size_multiple)
    dims = data_inputs(model)[0].type.tensor_type.shape.dim
    fixed = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    return (fixed[0] or 1, 3, fixed[2] or side, fixed[3] or side)


def check_graph(path: str | Path, model, size_multiple: int) -> GraphReport:
    """Refuse ``model`` (an ``onnx.ModelProto`` read from ``path``) if it could hang, crash or exhaust the
    engine (see the module's docstring); else what the check learnt."""
    name = Path(path).name
    _check_nodes(name, model.graph)
    inputs = data_inputs(model)
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise CganError(f"{name} has {len(inputs)} inputs and {len(model.graph.output)} outputs; a cgan model has "
                        f"one of each: export it with cgan export")
    for role, value in (("input", inputs[0]), ("output", model.graph.output[0])):
        _check_image_tensor(name, role, value)
    probe = probe_shape(model, size_multiple)
    shapes = inferred_shapes(name, model, probe)
    produced = [o for node in model.graph.node for o in node.output if o]
    probe_elements = probe[0] * probe[1] * probe[2] * probe[3]
    largest = max((_elements(shapes[o]) for o in produced if _static(shapes.get(o, [None]))),
                  default=probe_elements)
    if largest > MAX_ELEMENTS_PER_INPUT * probe_elements:
        raise CganError(f"{name} makes a tensor of {largest:,} values from a {'x'.join(map(str, probe))} input "
                        f"({largest // probe_elements:,} per input value; cgan models make at most "
                        f"{MAX_ELEMENTS_PER_INPUT}): the file is not a cgan model or was altered; refusing to run it")
    unknown = [o for o in produced if not _static(shapes.get(o, [None]))]
    if unknown:  # every cgan export infers fully: a size that only the data decides is unbounded
        raise CganError(f"{name} makes tensors whose size depends on the data ({len(unknown)}, first "
                        f"{unknown[0]!r}); a cgan model's sizes follow from its input's: refusing to run it")
    output = shapes.get(model.graph.output[0].name, [None])
    if not _static(output) or tuple(output) != probe:
        raise CganError(f"{name} turns a {'x'.join(map(str, probe))} input into a {'x'.join(map(str, output))} "
                        f"output; a cgan model keeps the input's shape: export it again with cgan export")
    return GraphReport(probe, largest / probe_elements)


def _check_nodes(name: str, graph) -> None:
    import onnx

    for node in graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise CganError(f"{name} has a {node.op_type} node (control flow, which can run without end); cgan "
                            f"models have none: refusing to run it")
        if node.domain not in STANDARD_DOMAINS:
            raise CganError(f"{name} uses the custom operator {node.domain}.{node.op_type}; cgan models use only "
                            f"ONNX's own: refusing to run it")


def _check_image_tensor(name: str, role: str, value) -> None:
    kind = value.type.WhichOneof("value")
    tensor = value.type.tensor_type
    dims = tensor.shape.dim if kind == "tensor_type" else ()
    channels = dims[1].dim_value if len(dims) == 4 and dims[1].HasField("dim_value") else None
    if kind != "tensor_type" or tensor.elem_type != FLOAT32 or len(dims) != 4 or channels not in (3, None):
        raise CganError(f"{name}: its {role} {value.name!r} is not a float32 image batch (N x 3 x H x W), which "
                        f"cgan models take and give: export it with cgan export")


def inferred_shapes(name: str, model, probe: tuple[int, ...]) -> dict[str, list[int | None]]:
    """Every tensor's shape as ONNX infers it with the input fixed to ``probe`` (None for an unknown side).
    Inference only reasons about shapes: a declared 10^10-element tensor costs nothing here."""
    import onnx

    fixed = onnx.ModelProto()  # a copy whose input has the probe's fixed dims
    fixed.ir_version = model.ir_version
    fixed.opset_import.extend(model.opset_import)
    fixed.graph.CopyFrom(model.graph)
    fixed.graph.ClearField("value_info")
    data_input = next(i for i in fixed.graph.input if i.name == data_inputs(model)[0].name)
    for dim, size in zip(data_input.type.tensor_type.shape.dim, probe):
        dim.Clear()
        dim.dim_value = size
    try:
        inferred = onnx.shape_inference.infer_shapes(fixed, check_type=True, strict_mode=True, data_prop=True)
    except Exception as e:  # onnx raises InferenceError, ValidationError and others for inconsistent graphs
        raise CganError(f"{name} is not a consistent ONNX graph ({first_line(e)}): export it again with "
                        f"cgan export") from None
    shapes = {}
    for value in [*inferred.graph.value_info, *inferred.graph.output]:
        if value.type.WhichOneof("value") == "tensor_type" and value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None
                                  for d in value.type.tensor_type.shape.dim]
    return shapes


def _static(shape: list[int | None]) -> bool:
    return all(d is not None for d in shape)


def _elements(shape: list[int]) -> int:
    total = 1
    for d in shape:
        total *= max(d, 0)
    return total


def check_openvino_graph(ov, graph, name: str, size_multiple: int) -> GraphReport:
    """The size check of ``check_graph`` on an OpenVINO IR that passed its text check (ir_file.py) and that
    OpenVINO has read (``graph``, an ``openvino.Model``): at a probe input every tensor's size must follow from
    the input's and stay within the bound, and the output must keep the input's shape."""
    dims = graph.inputs[0].get_partial_shape()
    if dims.rank.is_dynamic or dims.rank.get_length() != 4 or len(graph.outputs) != 1:
        raise CganError(f"{name} does not take one N x 3 x H x W image batch to one output, as cgan models do: "
                        f"export it with cgan export --format openvino")
    fixed = [d.get_length() if d.is_static else None for d in dims]
    side = round_up(64, size_multiple)
    probe = (fixed[0] or 1, 3, fixed[2] or side, fixed[3] or side)
    if _elements(list(probe)) > MAX_FIXED_INPUT_VALUES:  # the probe call itself would exhaust memory
        raise CganError(f"{name} takes only {'x'.join(map(str, probe))} inputs, larger than any frame cgan "
                        f"translates (at most {MAX_FIXED_INPUT_VALUES:,} values): refusing to run it")
    probed = graph.clone()
    try:
        probed.reshape({probed.inputs[0].any_name: ov.PartialShape(list(probe))})
    except Exception as e:  # OpenVINO's shape inference refuses inconsistent graphs with its own error types
        raise CganError(f"{name} cannot take a {'x'.join(map(str, probe))} input ({first_line(e)}): export it "
                        f"again with cgan export --format openvino") from None
    probe_elements = _elements(list(probe))
    largest = probe_elements
    for op in probed.get_ops():
        if op.get_type_name() == "Constant":  # weights: counted in the file's size, not per frame
            continue
        for index in range(op.get_output_size()):
            shape = op.get_output_partial_shape(index)
            if shape.is_dynamic:
                raise CganError(f"{name} makes a tensor whose size depends on the data ({op.get_friendly_name()!r}); "
                                f"a cgan model's sizes follow from its input's: refusing to run it")
            largest = max(largest, _elements(list(shape.to_shape())))
    if largest > MAX_ELEMENTS_PER_INPUT * probe_elements:
        raise CganError(f"{name} makes a tensor of {largest:,} values from a {'x'.join(map(str, probe))} input "
                        f"({largest // probe_elements:,} per input value; cgan models make at most "
                        f"{MAX_ELEMENTS_PER_INPUT}): the file is not a cgan model or was altered; refusing to run it")
    output = tuple(probed.outputs[0].get_partial_shape().to_shape())
    if output != probe:
        raise CganError(f"{name} turns a {'x'.join(map(str, probe))} input into a {'x'.join(map(str, output))} "
                        f"output; a cgan model keeps the input's shape: export it again with cgan export")
    return GraphReport(probe, largest / probe_elements)


def check_onnx_file(path: str | Path, meta) -> GraphReport:
    """``check_graph`` on the ``.onnx`` file at ``path`` (its metadata ``meta`` already read)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and others
        raise CganError(f"{Path(path).name} is not a readable ONNX file ({first_line(e)}): export it again") from None
    return check_graph(path, model, meta.size_multiple)


def probe_run(run: Callable[[np.ndarray], np.ndarray], probe: tuple[int, int, int, int], name: str) -> None:
    """One call of ``run`` (a backend's float ``run``) on a probe batch: its output must have the input's shape
    and be finite, before any of the user's frames go in. Also sets the call's time budget (bounded.py)."""
    batch = np.random.default_rng(0).uniform(-1, 1, probe).astype(np.float32)
    output = run(batch)
    check_output(output, batch.shape, name)


def check_output(output: np.ndarray, expected: tuple[int, ...], name: str) -> None:
    """A model's output has the shape it must have and holds no NaN or infinity."""
    if tuple(output.shape) != tuple(expected):
        raise CganError(f"{name} gave an output of shape {'x'.join(map(str, output.shape))} for an input of "
                        f"{'x'.join(map(str, expected))}; a cgan model keeps the input's shape: export it again")
    if output.dtype != np.uint8 and not np.isfinite(output).all():
        raise not_finite(name)


def not_finite(name: str) -> CganError:
    """The error for a model whose output holds NaN or infinity, on every backend."""
    return CganError(f"{name} produced NaN or infinite values: the model is broken (its training diverged, or the "
                     f"file is damaged); use an earlier checkpoint")
