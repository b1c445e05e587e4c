"""What an OpenVINO IR (``.xml`` + ``.bin``) from a stranger must pass before OpenVINO reads it, and where cgan's
metadata sits in it.

OpenVINO builds every layer of an IR as it reads it: a layer type cgan never writes runs code cgan has no say over
(a ``Loop`` or ``TensorIterator`` can run without end), and a constant that points past the end of its ``.bin``
is read from memory that is not the file's. So the ``.xml`` is first read here as text, with Python's own parser
and no entities (a document type, which could declare an expanding entity, is refused before parsing), and refused
when it has

- a layer type outside those cgan's exports are made of (``IR_LAYER_TYPES``), or a layer with a body;
- not exactly one input (``Parameter``) and one output (``Result``);
- a constant whose declared size is not its shape's, or whose bytes lie outside the ``.bin`` beside it.

What is left, the sizes of the tensors at a probe input, is checked once OpenVINO has read the graph
(runtime/openvino_backend.py), as for ONNX. The metadata travels in the IR's own ``rt_info`` (``cgan/meta``), so a
renamed pair of files keeps it and ``cgan info`` reads it without OpenVINO.
"""
from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .errors import CganError, first_line

MAX_XML_BYTES = 64 * 2**20  # a resnet9's IR is under 1 MB of XML: the weights are in the .bin
# The layer types of every preset and generator option exported at every precision with OpenVINO 2026.4 (fp16
# compression adds Convert, NNCF's int8 FakeQuantize): nothing else. The exporter checks what it writes against
# this list, so a converter that starts writing another type fails at export, not in a user's hands.
IR_LAYER_TYPES = frozenset({
    "Parameter", "Result", "Const", "Convert", "Convolution", "GroupConvolution", "ConvolutionBackpropData",
    "Add", "Subtract", "Multiply", "Divide", "Power", "Sqrt", "Log", "Clamp", "ReLU", "PReLU", "Tanh", "MVN",
    "Pad", "Concat", "ReduceSum", "Interpolate", "DepthToSpace", "FakeQuantize",
})
ELEMENT_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "i64": 8, "i32": 4, "i8": 1, "u8": 1, "u1": 1, "boolean": 1,
                 "f64": 8, "i16": 2, "u16": 2, "u32": 4, "u64": 8}
META_PATH = ("cgan", "meta")  # where the metadata sits in the IR's rt_info


@dataclasses.dataclass(frozen=True)
class IrFile:
    """An IR that passed the text check: its metadata record (None if it has none) and its weights' count."""

    xml: Path
    bin: Path
    record: dict | None
    weight_values: int


def bin_path(xml: str | Path) -> Path:
    """The weights file OpenVINO reads beside an ``.xml``: the same name with ``.bin``."""
    return Path(xml).with_suffix(".bin")


def read_ir(xml: str | Path) -> IrFile:
    """Check the IR at ``xml`` as text (see the module's docstring) and read its metadata; raise one CganError
    saying what is wrong otherwise."""
    xml = Path(xml)
    name, weights = xml.name, bin_path(xml)
    if not weights.is_file():
        raise CganError(f"{name} has no {weights.name} beside it (an OpenVINO IR is the pair): copy both files")
    if xml.stat().st_size > MAX_XML_BYTES:
        raise CganError(f"{name} is {xml.stat().st_size / 2**20:.0f} MB of XML; a cgan model's IR is under 1 MB "
                        f"(its weights are in {weights.name}): refusing to read it")
    text = xml.read_bytes()
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise CganError(f"{name} declares a document type or entities, which OpenVINO's IR never has: refusing to "
                        f"read it")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as e:
        raise CganError(f"{name} is not readable XML ({first_line(e)}): export it again with cgan export") from None
    if root.tag != "net" or root.find("layers") is None:
        raise CganError(f"{name} is not an OpenVINO IR (no <net> of <layers>): export it with cgan export "
                        f"--format openvino")
    layers = root.find("layers").findall("layer")
    _check_layers(name, layers)
    weight_values = _check_constants(name, layers, weights.stat().st_size)
    return IrFile(xml, weights, _record(name, root), weight_values)


def _check_layers(name: str, layers: list) -> None:
    for layer in layers:
        kind = layer.get("type", "")
        if kind not in IR_LAYER_TYPES or layer.find("body") is not None:
            raise CganError(f"{name} has a layer of type {kind!r}, which cgan models do not use: refusing to run it")
    counts = {kind: sum(layer.get("type") == kind for layer in layers) for kind in ("Parameter", "Result")}
    if counts["Parameter"] != 1 or counts["Result"] != 1:
        raise CganError(f"{name} has {counts['Parameter']} inputs and {counts['Result']} outputs; a cgan model has "
                        f"one of each: export it with cgan export --format openvino")


def _check_constants(name: str, layers: list, bin_bytes: int) -> int:
    """Each constant's bytes lie inside the .bin and match its shape; returns the weight values (constants of
    more than one value: single numbers such as 127.5 are not weights)."""
    values = 0
    for layer in layers:
        if layer.get("type") != "Const":
            continue
        data = layer.find("data")
        try:
            element = data.get("element_type")
            shape = [int(d) for d in data.get("shape").replace(" ", "").split(",") if d]
            offset, size = int(data.get("offset")), int(data.get("size"))
        except (AttributeError, TypeError, ValueError):
            raise CganError(f"{name}: constant {layer.get('name')!r} has no readable type, shape, offset and "
                            f"size: export it again with cgan export") from None
        count = 1
        for d in shape:
            count *= d
        expected = (count + 7) // 8 if element == "u1" else count * ELEMENT_BYTES.get(element, 0)
        if element not in ELEMENT_BYTES or min(shape, default=1) < 0 or size != expected:
            raise CganError(f"{name}: constant {layer.get('name')!r} declares {size} bytes for a {element} tensor "
                            f"of shape {shape}: the file is damaged or altered; refusing to run it")
        if offset < 0 or offset + size > bin_bytes:
            raise CganError(f"{name}: constant {layer.get('name')!r} lies outside its .bin ({offset}+{size} of "
                            f"{bin_bytes} bytes): the pair does not belong together; export it again")
        values += count if count > 1 else 0
    return values


def _record(name: str, root) -> dict | None:
    """cgan's metadata record from the IR's rt_info; None where it has none (an IR from another tool)."""
    node = root.find("rt_info")
    for key in META_PATH:
        node = node.find(key) if node is not None else None
    if node is None:
        return None
    try:
        record = json.loads(node.get("value", ""))
    except json.JSONDecodeError as e:
        raise CganError(f"{name}: its cgan metadata is not JSON ({e.msg}): export it again with cgan export") from None
    if not isinstance(record, dict):
        raise CganError(f"{name}: its cgan metadata is not a record: export it again with cgan export")
    return record
