"""The Translator: RGB images in, translated RGB images of the same size out, over any backend.

Any size works: each image is reflect-padded to the generator's size multiple and cropped
back (``imgsz`` scales the long side first, and back afterwards unless ``keep_imgsz``).
Batches of mixed sizes are grouped by size, never distorted. A file of one fixed size (LiteRT's) takes each
image scaled to fit inside that size, keeping its shape, and reflect-padded to it; the output is cropped and
scaled back.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from ..devices import available_memory
from ..errors import CganError
from ..fileio import escape_control, plural
from ..images import fit_into, fitted_size, pad_to_multiple, resized, too_many_pixels
from ..pixels import to_image_pixels, to_model_range
from .backends import Backend, ToOnnx, open_backend
from .graph_check import check_output
from .options import RuntimeOptions, runtime_options


def to_model_input(images: list[np.ndarray]) -> np.ndarray:
    """Same-size HxWx3 uint8 RGB images -> one contiguous NCHW float32 batch in [-1, 1]."""
    return np.ascontiguousarray(to_model_range(np.stack(images).transpose(0, 3, 1, 2)))


def scaled_size(h: int, w: int, side: int) -> tuple[int, int]:
    """(h, w) scaled so that the long side is ``side``."""
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def scale_long_side(image: np.ndarray, side: int) -> np.ndarray:
    return resized(image, *scaled_size(*image.shape[:2], side))


class Translator:
    """Applies one generator to images; the backend follows from the model file.

    ``Translator("tom2jerry.onnx")(image)`` returns the translation of an HxWx3 uint8 RGB image. Options come
    as a ``RuntimeOptions``, or as its fields by name: ``Translator(model, batch=4, precision="half")``.
    ``to_onnx`` exports a model file for OpenVINO (``open_backend``); ``cgan.Translator`` hands it in.
    """

    def __init__(self, model: str | os.PathLike, options: RuntimeOptions | None = None, *,
                 to_onnx: ToOnnx | None = None, **fields) -> None:
        self.options = runtime_options(options, **fields)
        self.model_name = os.fspath(model)
        self.backend: Backend = open_backend(model, self.options, to_onnx)
        self.meta = self.backend.meta
        wanted = self.options.direction
        if wanted and self.meta.direction != wanted:  # a file holds one generator: never run the other silently
            raise CganError(f"{Path(self.model_name).name} holds the {self.meta.direction} generator "
                            f"({escape_control(self.meta.source_domain)} -> {escape_control(self.meta.target_domain)}),"
                            f" not {wanted}: export or pick the {wanted} one (cgan export RUN_DIR --direction {wanted})")
        if self.meta.channel_order != "RGB" or tuple(self.meta.input_range) != (-1.0, 1.0):
            raise CganError(f"the model expects {self.meta.channel_order} in {self.meta.input_range}, which this "
                            f"cgan does not handle: upgrade cgan")
        self.multiple = self.meta.size_multiple
        # Backends that convert frames themselves (on the GPU, or inside OpenVINO's graph) take uint8.
        self.uint8_io = self.backend.uint8_io
        self.imgsz, self.keep_imgsz = self.options.imgsz, self.options.keep_imgsz
        self.fixed_size: tuple[int, int] | None = getattr(self.backend, "fixed_size", None)
        if self.fixed_size and self.imgsz:
            h, w = self.fixed_size
            raise CganError(f"{Path(self.model_name).name} takes {h}x{w} frames (every frame is fitted into that "
                            f"size): --imgsz does not apply; export it at another --size instead")
        # A backend that runs frames as parallel requests (OpenVINO's throughput mode) needs one per request.
        self.batch = max(self.options.batch, self.backend.requests)

    @property
    def description(self) -> str:
        return self.backend.description

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.translate([image])[0]

    def translate(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Translate RGB uint8 images of any sizes; outputs keep each input's size (or ``imgsz`` if kept)."""
        outputs = self.infer([self.preprocess(image) for image in images])
        return [self.postprocess(out, image) for out, image in zip(outputs, images)]

    # The three stages below are separate so that the video pipeline can run pre- and post-processing
    # in its reader and writer threads, leaving the model alone on the main thread.
    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """An RGB uint8 image -> the model's input: scaled (``imgsz``) and padded, then 3xHxW float32 in
        [-1, 1], or left HxWx3 uint8 for a backend that converts it itself."""
        prepared = self.prepare(image)
        return prepared if self.uint8_io else to_model_input([prepared])[0]

    def infer(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Model outputs for preprocessed inputs of any sizes: grouped by size, ``batch`` at a time."""
        by_size: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, x in enumerate(inputs):
            by_size[x.shape].append(i)
        outputs: list[np.ndarray | None] = [None] * len(inputs)
        run = self.backend.run_images if self.uint8_io else self.backend.run
        for indices in by_size.values():
            for start in range(0, len(indices), self.batch):
                chunk = indices[start:start + self.batch]
                batch = np.stack([inputs[i] for i in chunk])
                self._check_memory(batch)
                results = run(batch)
                check_output(results, batch.shape, self.model_name)  # (uint8 frames are checked by their backend)
                for i, out in zip(chunk, results):
                    outputs[i] = out
        return outputs

    def _check_memory(self, batch: np.ndarray) -> None:
        """Refuse a call that would need more memory than the machine has free: its largest tensor (the
        backend's peak values per input value, from its graph) four bytes a value, held about three times over
        (a layer's input, its output, the engine's workspace)."""
        per_input = getattr(self.backend, "values_per_input", None)
        free = available_memory() if getattr(self.backend, "device_type", "cpu") == "cpu" else None
        if not per_input or free is None:
            return
        needed = 3 * 4 * per_input * batch.size
        if needed > free:
            h, w = (batch.shape[1:3] if batch.shape[-1] == 3 else batch.shape[2:4])
            smaller = "a smaller --batch" if len(batch) > 1 else "a smaller --imgsz"
            raise CganError(f"{len(batch)} {plural(len(batch), 'frame')} of {w}x{h} at once need about "
                            f"{needed / 2**30:.1f} GB for {Path(self.model_name).name}, more than the "
                            f"{free / 2**30:.1f} GB free: translate with {smaller} (long side in pixels: --imgsz)")

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """An RGB uint8 image scaled (``imgsz``) and padded to what the model takes."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise CganError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        if self.imgsz:
            h, w = scaled_size(*image.shape[:2], self.imgsz)
            problem = too_many_pixels(w, h, f"the frame scaled by --imgsz {self.imgsz}")
            if problem:
                raise CganError(problem)
            image = scale_long_side(image, self.imgsz)
        if self.fixed_size:
            return fit_into(image, self.fixed_size)
        return pad_to_multiple(image, self.multiple)

    def postprocess(self, output: np.ndarray, original: np.ndarray) -> np.ndarray:
        """A model output (3xHxW float32, or HxWx3 uint8 from a backend that converts) -> RGB uint8 at the
        original's size (or the ``imgsz`` size if kept)."""
        h, w = original.shape[:2]
        if self.imgsz:
            h, w = scaled_size(h, w, self.imgsz)
        if self.fixed_size:
            h, w = fitted_size(h, w, self.fixed_size)
        if output.dtype == np.uint8:
            image = output[:h, :w]
        else:
            image = to_image_pixels(output[:, :h, :w])
        if (self.imgsz and not self.keep_imgsz) or self.fixed_size:
            image = cv2.resize(image, (original.shape[1], original.shape[0]), interpolation=cv2.INTER_CUBIC)
        return np.ascontiguousarray(image)
