"""A Core ML package (``NAME.mlpackage``, a folder): its spec read with coremltools, which runs on Linux too, while
Core ML itself runs the model only on Apple systems. The spec is a protobuf that coremltools parses; nothing in it
is executed here."""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

from .errors import CganError, first_line

INSTALL_HINT = 'pip install "cgan[coreml]"'
METADATA_KEY = "cgan"  # the user-defined metadata entry, as ONNX's metadata_props key
MAX_SPEC_BYTES = 64 * 2**20


def import_coremltools():
    """The ``coremltools`` module, or a CganError that says how to get it."""
    # On import it warns, by logging and print, about PyTorch and scikit-learn versions it has not tested and about
    # its Apple-only runtime library: not the user's concern where only specs are read and written.
    quiet = logging.getLogger("coremltools")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            import coremltools
    except ImportError as e:
        raise CganError(f"Core ML packages need coremltools ({e}): {INSTALL_HINT}") from None
    finally:
        quiet.setLevel(level)
    return coremltools


def _spec(package: Path):
    ct = import_coremltools()
    if not (package / "Manifest.json").is_file():
        raise CganError(f"{package.name} is not a Core ML package (no Manifest.json): export it with cgan export "
                        f"--format coreml")
    specs = sum(f.stat().st_size for f in package.rglob("*.mlmodel") if f.is_file())
    if specs > MAX_SPEC_BYTES:  # the weights live beside the spec: a generator's spec is a few hundred kB
        raise CganError(f"{package.name} has {specs / 2**20:.0f} MB of Core ML spec; a cgan model's is under 1 MB: "
                        f"refusing to read it")
    try:
        return ct, ct.utils.load_spec(str(package))
    except Exception as e:  # protobuf's DecodeError and coremltools' own
        raise CganError(f"{package.name} is not a readable Core ML package ({first_line(e)}): export it again") from None


def check_coreml_spec(package: str | Path) -> str:
    """The package's spec must have one float32 N x 3 x H x W input and one float32 output, and cgan's metadata;
    returns the metadata record's JSON text (a CganError otherwise)."""
    package = Path(package)
    ct, spec = _spec(package)
    inputs, outputs = spec.description.input, spec.description.output
    float32 = ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32
    if len(inputs) != 1 or len(outputs) != 1:
        raise CganError(f"{package.name} has {len(inputs)} inputs and {len(outputs)} outputs; a cgan model has one "
                        f"of each")
    array = inputs[0].type.multiArrayType
    if array.dataType != float32 or len(array.shape) != 4 or array.shape[1] != 3:
        raise CganError(f"{package.name}: its input is not a float32 N x 3 x H x W image batch: export it with cgan "
                        f"export --format coreml")
    if outputs[0].type.multiArrayType.dataType != float32:
        raise CganError(f"{package.name}: its output is not float32: export it with cgan export --format coreml")
    text = spec.description.metadata.userDefined.get(METADATA_KEY)
    if text is None:
        raise CganError(f"{package.name} has no cgan metadata (made by another tool): export the model with cgan "
                        f"export MODEL --format coreml")
    return text


def coreml_input_shape(package: str | Path) -> str:
    """The input's shape, with a flexible side as its range (``1x3x16..4096x16..4096``)."""
    _, spec = _spec(Path(package))
    array = spec.description.input[0].type.multiArrayType
    ranges = array.shapeRange.sizeRanges
    if not ranges:
        return "x".join(map(str, array.shape))
    return "x".join(str(r.lowerBound) if r.lowerBound == r.upperBound else f"{r.lowerBound}..{r.upperBound}"
                    for r in ranges)
