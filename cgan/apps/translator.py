"""The public ``cgan.Translator``: the runtime's Translator for what people hand it (image files, PIL images, arrays,
lists of them), with results that can ``.save()``; a model file also runs on OpenVINO, exported to a temporary ONNX
first (the runtime itself never imports the exporter)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Union

import numpy as np

from ..errors import CganError
from ..fileio import atomic_write_bytes, refuse_overwrite
from ..images import ImageHeader, image_size_problem, read_header, read_rgb
from ..runtime.options import RuntimeOptions
from ..runtime.sinks import encode_image
from ..runtime.translator import Translator as RuntimeTranslator

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

ImageLike = Union[str, os.PathLike, np.ndarray, "PILImage"]
KINDS = "an image file's path, a PIL image or an HxWx3 uint8 RGB array (or a list of them)"


@contextlib.contextmanager
def temporary_onnx(model_path: Path, direction: str) -> Iterator[Path]:
    """``model_path``'s ``direction`` generator exported to an ONNX file (unverified: the backend's own probe
    checks its output), removed when the context ends."""
    from ..export import ExportOptions, export_onnx

    with tempfile.TemporaryDirectory(prefix="cgan-openvino-") as tmp:
        path, _ = export_onnx(model_path, Path(tmp) / "model.onnx", ExportOptions(direction=direction, verify=False))
        yield path


class Translation(np.ndarray):
    """A translated image: an HxWx3 uint8 RGB array, with ``save`` (which keeps the source photo's EXIF and colour
    profile where the format holds them)."""

    header: ImageHeader | None

    def __new__(cls, image: np.ndarray, header: ImageHeader | None = None) -> "Translation":
        translation = np.asarray(image).view(cls)
        translation.header = header
        return translation

    def __array_finalize__(self, obj) -> None:
        self.header = getattr(obj, "header", None)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write it to ``path`` (its suffix chooses the format) atomically; an existing file needs ``overwrite``."""
        path = Path(path)
        refuse_overwrite(path, overwrite)
        atomic_write_bytes(path, encode_image(np.asarray(self), path.suffix, self.header))
        return path


class Translator(RuntimeTranslator):
    """Applies one generator to images; the backend follows from the model file.

    ``Translator("tom2jerry.onnx")("tom.jpg").save("jerry.jpg")``: give an image file's path, a PIL image or an
    HxWx3 uint8 RGB array and get a ``Translation`` (an array of the same size that can ``save``); give a list and get
    a list. Anything else is a ``CganError``. Options come as a ``RuntimeOptions`` or as its fields by name.
    """

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions | None = None, **fields) -> None:
        super().__init__(model, options, to_onnx=temporary_onnx, **fields)

    def __call__(self, images: ImageLike | list[ImageLike]) -> Translation | list[Translation]:
        many = isinstance(images, (list, tuple))
        loaded = [read_image_like(item) for item in (images if many else [images])]
        outputs = self.translate([image for image, _ in loaded])
        results = [Translation(output, header) for output, (_, header) in zip(outputs, loaded)]
        return results if many else results[0]


def read_image_like(item) -> tuple[np.ndarray, ImageHeader | None]:
    """An image as HxWx3 uint8 RGB, with its file's header where it came from a file; a CganError for anything
    that is not one of ``KINDS``."""
    if isinstance(item, np.ndarray):
        if item.dtype != np.uint8 or item.ndim != 3 or item.shape[2] != 3:
            raise CganError(f"an array to translate must be HxWx3 uint8 RGB, not {item.dtype} of shape {item.shape}: "
                            f"convert it (np.clip(x * 255, 0, 255).astype(np.uint8) for floats in [0, 1])")
        return item, None
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not path.is_file():
            raise CganError(f"{path} is not a file: give the path of an image")
        header = read_header(path)
        problem = image_size_problem(path, header)
        if problem:
            raise CganError(problem)
        image = read_rgb(path, header)
        if image is None:
            raise CganError(f"{path} could not be read as an image: give a PNG, JPEG, WebP, TIFF or BMP file")
        return image, header
    from PIL import Image

    if isinstance(item, Image.Image):
        return np.asarray(item.convert("RGB")), None
    raise CganError(f"cannot translate a {type(item).__name__}: give {KINDS}")
