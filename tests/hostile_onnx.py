"""ONNX graphs built here that a stranger could hand cgan, each labelled with cgan's metadata as ``cgan export``
would label it: graphs that would hang, crash or exhaust an engine, or that lie about what they return. Used by
test_hostile.py and the fuzz corpus (test_fuzz.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from cgan.modelfile import new_meta
from cgan.nets import preset_config

IMAGE_IO = ["N", 3, "H", "W"]


def _meta(**changes) -> str:
    meta = new_meta(preset_config("filter"), "filter", "a", "b").to_dict()
    meta["export"] = {"precision": "fp32", "opset": 18, "batch": "dynamic", "size": "dynamic", "source": "x"}
    meta.update(changes)
    return json.dumps(meta)


def _save(path: Path, nodes: list, initializers: list = (), inputs: list | None = None, outputs: list | None = None,
          **meta) -> Path:
    """A graph with cgan's metadata, as ``cgan export`` would label it."""
    inputs = inputs or [helper.make_tensor_value_info("input", TensorProto.FLOAT, IMAGE_IO)]
    outputs = outputs or [helper.make_tensor_value_info("output", TensorProto.FLOAT, IMAGE_IO)]
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    model.metadata_props.append(onnx.StringStringEntryProto(key="cgan", value=_meta(**meta)))
    onnx.save(model, str(path))
    return path


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def endless_loop(path: Path) -> Path:
    """A Loop whose trip count is 10^15: it runs for ever, and the engine does not return to Python."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]), helper.make_node("Identity", ["x"], ["x_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_out", TensorProto.FLOAT, None)])
    return _save(path, [helper.make_node("Loop", ["trips", "true", "input"], ["output"], body=body)],
                 [_const("trips", np.int64(10**15)), _const("true", np.bool_(True))])


def expand_bomb(path: Path) -> Path:
    """The input's mean expanded to 1x3x100000x100000 (120 GB), then cropped back to the input's size: the
    output is right, the middle would crash OpenVINO."""
    return _save(path, [
        helper.make_node("ReduceMean", ["input", "spatial"], ["mean"], keepdims=1),
        helper.make_node("Expand", ["mean", "huge"], ["big"]),
        helper.make_node("Shape", ["input"], ["shape"]),
        helper.make_node("Slice", ["big", "zeros", "shape"], ["cropped"]),
        helper.make_node("Add", ["cropped", "input"], ["output"])],
        [_const("spatial", np.array([2, 3], np.int64)), _const("huge", np.array([1, 3, 100000, 100000], np.int64)),
         _const("zeros", np.zeros(4, np.int64))])


def data_shaped(path: Path) -> Path:
    """An Expand whose size comes from the pixel values: nothing but the data bounds it."""
    return _save(path, [
        helper.make_node("ReduceMax", ["input"], ["peak"], keepdims=0),
        helper.make_node("Mul", ["peak", "thousand"], ["scaled"]),
        helper.make_node("Cast", ["scaled"], ["side"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["side", "one"], ["side1"]),
        helper.make_node("Concat", ["ones", "side1", "side1"], ["shape"], axis=0),
        helper.make_node("Expand", ["input", "shape"], ["big"]),
        helper.make_node("Shape", ["input"], ["in_shape"]),
        helper.make_node("Slice", ["big", "zeros", "in_shape"], ["output"])],
        [_const("thousand", np.float32(1e5)), _const("one", np.array([1], np.int64)),
         _const("ones", np.array([1, 3], np.int64)), _const("zeros", np.zeros(4, np.int64))])


def nan_bias(path: Path) -> Path:
    return _save(path, [helper.make_node("Add", ["input", "bias"], ["output"])],
                 [_const("bias", np.full((1, 3, 1, 1), np.nan, np.float32))])


def half_size(path: Path) -> Path:
    return _save(path, [helper.make_node("Resize", ["input", "", "scales"], ["output"])],
                 [_const("scales", np.array([1, 1, 0.5, 0.5], np.float32))])


def two_inputs(path: Path) -> Path:
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, IMAGE_IO) for n in ("input", "other")]
    return _save(path, [helper.make_node("Add", ["input", "other"], ["output"])], inputs=io)


def float64_io(path: Path) -> Path:
    io = lambda name: helper.make_tensor_value_info(name, TensorProto.DOUBLE, IMAGE_IO)  # noqa: E731
    return _save(path, [helper.make_node("Identity", ["input"], ["output"])], inputs=[io("input")],
                 outputs=[io("output")])


def scalar_output(path: Path) -> Path:
    return _save(path, [helper.make_node("ReduceMean", ["input"], ["output"], keepdims=0)],
                 outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, [])])


def custom_operator(path: Path) -> Path:
    return _save(path, [helper.make_node("Gelu", ["input"], ["output"], domain="com.microsoft")])


def slow_chain(path: Path, layers: int = 3000) -> Path:
    """A valid-looking graph that works for minutes: thousands of 64-channel convolutions sharing one weight."""
    nodes = [helper.make_node("Conv", ["input", "widen"], ["x0"], pads=[1, 1, 1, 1])]
    nodes += [helper.make_node("Conv", [f"x{i}", "w"], [f"x{i + 1}"], pads=[1, 1, 1, 1]) for i in range(layers)]
    nodes.append(helper.make_node("Conv", [f"x{layers}", "narrow"], ["output"], pads=[1, 1, 1, 1]))
    rng = np.random.default_rng(0)
    weights = [_const("widen", rng.normal(0, 0.1, (64, 3, 3, 3)).astype(np.float32)),
               _const("w", rng.normal(0, 0.01, (64, 64, 3, 3)).astype(np.float32)),
               _const("narrow", rng.normal(0, 0.1, (3, 64, 3, 3)).astype(np.float32))]
    return _save(path, nodes, weights)


def identity(path: Path, **meta) -> Path:
    return _save(path, [helper.make_node("Identity", ["input"], ["output"])], **meta)


def integer_division_by_pixels(path: Path) -> Path:
    """Passes every static check, then fails inside ONNX Runtime: each pixel cast to an integer and divided by
    itself, and most are zero."""
    return _save(path, [helper.make_node("Cast", ["input"], ["whole"], to=TensorProto.INT64),
                        helper.make_node("Div", ["whole", "whole"], ["ratio"]),
                        helper.make_node("Cast", ["ratio"], ["output"], to=TensorProto.FLOAT)])


# Each graph cgan must refuse, and a phrase of the one line that says why.
REFUSED = {"loop": (endless_loop, "control flow"), "expand_bomb": (expand_bomb, "values from a"),
           "data_shaped": (data_shaped, "depends on the data"), "nan_bias": (nan_bias, "NaN or infinite"),
           "half_size": (half_size, "keeps the input's shape"), "two_inputs": (two_inputs, "2 inputs"),
           "float64": (float64_io, "float32 image batch"), "scalar_output": (scalar_output, "float32 image batch"),
           "custom_operator": (custom_operator, "custom operator")}
