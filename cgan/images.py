"""Image files: finding them, decoding any kind to 8-bit RGB, and tensors in the model's [-1, 1] range.

Shared by training and the runtime, so both read every image the same way.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .errors import CganError
from .fileio import printable

if TYPE_CHECKING:  # tensors are for training (cgan[train]); reading images needs no PyTorch
    import torch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted); hidden files and folders are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CganError(f"image folder not found: {folder}")
    files = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files)


# The first bytes of each format cgan reads (what OpenCV's own check looks at, without its path handling).
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")


def has_image_signature(path: str | os.PathLike) -> bool:
    """Whether the file starts like an image cgan reads: a cheap check before decoding."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head.startswith(SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def opencv_path(path: str | os.PathLike) -> str:
    """``path`` as OpenCV takes it; a name that is not UTF-8 (which crashes OpenCV's video I/O) is an error."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CganError(f"{printable(text)}: the name is not UTF-8, which OpenCV cannot open; rename the file") \
            from None
    return text


DEFAULT_MAX_PIXELS = 2**26


def max_pixels() -> int:
    """The most pixels an image or video frame may have to be decoded: ``CGAN_MAX_PIXELS``, default 2**26 (a
    67-megapixel photo: 200 MB decoded; 8K video has 33 M). A few kilobytes of PNG or H.264 can declare far more."""
    text = os.environ.get("CGAN_MAX_PIXELS", str(DEFAULT_MAX_PIXELS))
    try:
        value = int(text)
    except ValueError:
        raise CganError(f"CGAN_MAX_PIXELS={text!r} is not a whole number of pixels (default {DEFAULT_MAX_PIXELS})") \
            from None
    if value < 1:
        raise CganError(f"CGAN_MAX_PIXELS={text!r} must be at least 1 (default {DEFAULT_MAX_PIXELS})")
    return value


def too_many_pixels(width: int, height: int, what: str) -> str | None:
    """Why ``what`` of ``width`` x ``height`` is not decoded (it exceeds ``max_pixels``), or None."""
    limit = max_pixels()
    if width * height <= limit:
        return None
    return (f"{what}: {width}x{height} pixels ({width * height / 1e6:.0f} M), more than the {limit / 1e6:.0f} M "
            f"that cgan decodes; shrink it, or raise the limit with CGAN_MAX_PIXELS={width * height}")


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image file says before its pixels: its stored size, how a viewer turns it (EXIF orientation, 1-8),
    and the metadata an output should carry on (EXIF, ICC colour profile)."""

    width: int
    height: int
    orientation: int = 1
    exif: bytes | None = None  # with the orientation reset to 1: outputs are stored upright
    icc_profile: bytes | None = None


def read_header(path: str | os.PathLike) -> ImageHeader | None:
    """The header of the image at ``path`` (Pillow reads it without decoding), or None if Pillow cannot."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # cgan's own limit applies (Pillow's would only warn below twice its own)
    try:
        with Image.open(path) as image:
            if image.width * image.height > max_pixels():  # refused anyway: read nothing more
                return ImageHeader(image.width, image.height)
            # Pillow's getexif() decodes a whole PNG to look for EXIF after its pixels (20000x20000: 1.5 GB);
            # the EXIF before them is in info, as a JPEG's and a WebP's is. A TIFF's tags are read without pixels.
            exif = image.getexif() if image.format == "TIFF" else Image.Exif()
            if image.format != "TIFF" and image.info.get("exif"):
                exif.load(image.info["exif"])
            orientation = exif.get(ORIENTATION_TAG, 1)
            if ORIENTATION_TAG in exif:
                exif[ORIENTATION_TAG] = 1
            return ImageHeader(image.width, image.height, orientation if orientation in range(1, 9) else 1,
                               exif.tobytes() if len(exif) else None, image.info.get("icc_profile") or None)
    except Exception:  # not an image Pillow reads (or a damaged header): OpenCV decides
        return None


ORIENTATION_TAG = 0x0112


def image_size_problem(path: str | os.PathLike, header: ImageHeader | None = None) -> str | None:
    """Why the image at ``path`` is not decoded, read from its header alone (no pixels), or None. (Images Pillow
    cannot read are bounded by OpenCV's own limit, OPENCV_IO_MAX_IMAGE_PIXELS.)"""
    header = header or read_header(path)
    return None if header is None else too_many_pixels(header.width, header.height, printable(path))


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` as a viewer shows it, given its EXIF orientation (a phone stores portrait photos sideways)."""
    turned = {1: image, 2: image[:, ::-1], 3: image[::-1, ::-1], 4: image[::-1], 5: image.swapaxes(0, 1),
              6: np.rot90(image, -1), 7: np.rot90(image, 2).swapaxes(0, 1),
              8: np.rot90(image, 1)}[orientation]
    return np.ascontiguousarray(turned)


def read_rgb(path: str | os.PathLike, header: ImageHeader | None = None) -> np.ndarray | None:
    """Any supported image as HxWx3 uint8 RGB (grey, alpha, palette, 16-bit, float), or None if unreadable
    (``image_size_problem`` says which are refused for their size). A photo's EXIF orientation is applied.
    ``header``: the file's, where the caller has read it already."""
    header = header or read_header(path)
    if image_size_problem(path, header):
        return None
    try:
        raw = np.fromfile(str(path), dtype=np.uint8)  # np.fromfile + imdecode also handles non-ASCII paths
    except OSError:
        return None
    try:
        image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    except cv2.error:  # a header declaring more pixels than OPENCV_IO_MAX_IMAGE_PIXELS (set in cgan/__init__.py)
        return None
    if image is None:
        return None
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype.kind == "f":
        scale = 255.0 if np.nanmax(image) <= 1.0 else 1.0
        image = np.clip(np.nan_to_num(image) * scale, 0, 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:  # composite over white: what a viewer shows for transparent pixels
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        bgr = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = cv2.cvtColor(bgr.round().astype(np.uint8), cv2.COLOR_BGR2RGB)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    else:
        return None
    return upright(image, header.orientation) if header else np.ascontiguousarray(image)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 RGB -> 3xHxW float32 in [-1, 1]."""
    import torch

    from .pixels import tensor_to_model_range

    return tensor_to_model_range(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float())


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """3xHxW in [-1, 1] -> HxWx3 uint8 RGB."""
    from .pixels import tensor_to_pixels

    return tensor_to_pixels(tensor.detach().float()).permute(1, 2, 0).cpu().numpy()


def smallest_side(multiple: int) -> int:
    """The smallest input side a generator of this size multiple takes: after its downsamplings instance norm
    needs more than one pixel (a ResNet's two halvings leave 2x2 of 8x8)."""
    return max(multiple, 8)


def pad_to_size(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pad bottom and right to ``height`` x ``width`` (the image fits inside it)."""
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    border = cv2.BORDER_REPLICATE if h == 1 or w == 1 else cv2.BORDER_REFLECT_101
    return cv2.copyMakeBorder(image, 0, height - h, 0, width - w, border)


def fitted_size(h: int, w: int, box: tuple[int, int]) -> tuple[int, int]:
    """(h, w) scaled to fit inside ``box`` (height, width), keeping its shape."""
    scale = min(box[0] / h, box[1] / w)
    return min(box[0], max(1, round(h * scale))), min(box[1], max(1, round(w * scale)))


def resized(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """The image at h x w: area averaging to shrink, bicubic to enlarge."""
    if (h, w) == image.shape[:2]:
        return image
    shrinking = h < image.shape[0]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def fit_into(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """The image scaled to fit inside ``box`` (height, width), keeping its shape, and padded to fill it: how a
    frame enters a file of one frame size."""
    return pad_to_size(resized(image, *fitted_size(*image.shape[:2], box)), *box)


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom and right so both sides are multiples of ``multiple`` and at least
    ``smallest_side(multiple)`` (repeated reflection if needed)."""
    h, w = image.shape[:2]
    least = smallest_side(multiple)
    pad_h, pad_w = max(-h % multiple, least - h), max(-w % multiple, least - w)
    if pad_h == 0 and pad_w == 0:
        return image
    if h == 1 or w == 1:  # a single row or column has nothing to reflect
        return cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
    return cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
