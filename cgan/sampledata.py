"""Unpaired data sets with a known answer, built from the photos that installed packages ship.

Domain A is random crops of real photos; domain B is other crops passed through a fixed image
filter T. Held-out photos give paired test images (x, T(x)), so a trained A->B generator can
be scored against the truth. Used by ``cgan demo``, the tests and the quality benchmark; no
download is ever needed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .errors import CganError
from .task_families import enhance_detail, grade, pencil_sketch, stylise_outlined

# Colour photos shipped inside scikit-image and matplotlib. The held-out ones never appear in
# training crops, so test scores measure generalisation to new photos.
TRAIN_PHOTOS = ("skimage:astronaut.png", "skimage:rocket.jpg", "skimage:motorcycle_left.png",
                "skimage:motorcycle_right.png", "matplotlib:grace_hopper.jpg", "skimage:hubble_deep_field.jpg",
                "skimage:ihc.png", "skimage:retina.jpg")
TEST_PHOTOS = ("skimage:chelsea.png", "skimage:coffee.png")


def _photo_path(ref: str) -> Path:
    package, name = ref.split(":")
    if package == "skimage":
        import skimage

        return Path(skimage.__file__).parent / "data" / name
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / name


def load_photos(refs: tuple[str, ...]) -> list[np.ndarray]:
    """The named sample photos as RGB uint8 arrays."""
    photos = []
    for ref in refs:
        image = cv2.imread(str(_photo_path(ref)), cv2.IMREAD_COLOR)
        if image is None:
            raise CganError(f"sample photo {ref} is missing: reinstall scikit-image and matplotlib")
        photos.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return photos


def colour_grade(rgb: np.ndarray) -> np.ndarray:
    """T for the colour task: a teal-and-orange grade (a fixed per-pixel colour mapping).

    Shadows move towards teal and highlights towards orange in proportion to luminance, then
    saturation is raised by 30% and a gamma of 0.85 lifts the mid-tones (the colour-grade family's tuning setting).
    """
    return grade(rgb, tint_r=0.30, tint_g=0.05, tint_b=-0.30, saturation=1.3, gamma=0.85)


def stylise(rgb: np.ndarray) -> np.ndarray:
    """T for the stylisation task: OpenCV's edge-preserving cartoon-like stylisation."""
    return stylise_outlined(rgb, sigma_s=30, sigma_r=0.35, outline=0.0)


def pencil(rgb: np.ndarray) -> np.ndarray:
    """T for the texture task: OpenCV's colour pencil sketch (hatching replaces smooth shading; colours stay)."""
    return pencil_sketch(rgb, sigma_s=40, sigma_r=0.08, shade=0.05)


def detail(rgb: np.ndarray) -> np.ndarray:
    """T for the second texture task: OpenCV's detail enhancement (fine texture and local contrast amplified;
    colours and outlines stay). Unlike the pencil's hatching it is a deterministic local filter that a
    convolutional network can learn, so PSNR against the truth can judge it."""
    return enhance_detail(rgb, sigma_s=10, sigma_r=0.15)


FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"colour-grade": colour_grade, "stylise": stylise,
                                                           "pencil": pencil, "detail": detail}


def random_crops(photos: list[np.ndarray], count: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` square crops of random position and scale (a quarter to all of the short side), flipped at random."""
    crops = []
    for _ in range(count):
        photo = photos[rng.integers(len(photos))]
        h, w = photo.shape[:2]
        side = int(rng.uniform(0.25, 1.0) * min(h, w))
        top, left = rng.integers(h - side + 1), rng.integers(w - side + 1)
        crop = cv2.resize(photo[top:top + side, left:left + side], (size, size), interpolation=cv2.INTER_AREA)
        crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    return crops


def build_unpaired_dataset(out: str | os.PathLike, n_train: int = 300, n_test: int = 16, size: int = 128,
                           task: str | Callable[[np.ndarray], np.ndarray] = "colour-grade", seed: int = 0) -> Path:
    """Write ``trainA/ trainB/ testA/ testB/`` plus ``testA_truth/`` (T of each testA image, same names). ``task``
    names one of ``FILTERS`` or is T itself (a draw of a task family: task_families.py).

    The same arguments always give the same files.
    """
    if isinstance(task, str) and task not in FILTERS:
        raise CganError(f"unknown task {task!r}: choose one of {', '.join(FILTERS)}")
    transform = FILTERS[task] if isinstance(task, str) else task
    rng = np.random.default_rng(seed)
    train, test = load_photos(TRAIN_PHOTOS), load_photos(TEST_PHOTOS)
    out = Path(out)
    folders = {
        "trainA": random_crops(train, n_train, size, rng),
        "trainB": [transform(c) for c in random_crops(train, n_train, size, rng)],
        "testA": random_crops(test, n_test, size, rng),
        "testB": [transform(c) for c in random_crops(test, n_test, size, rng)],
    }
    folders["testA_truth"] = [transform(c) for c in folders["testA"]]
    for folder, images in folders.items():
        (out / folder).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            cv2.imwrite(str(out / folder / f"{i:04d}.png"), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    return out


def sample_photos_installed() -> bool:
    """Whether the packages that ship the sample photos (scikit-image, matplotlib: cgan[train]) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("skimage", "matplotlib"))


def synthetic_photo(height: int = 512, width: int = 512, seed: int = 0) -> np.ndarray:
    """An RGB image with a photo's mix of smooth gradients, edges and texture, drawn without any sample file (the
    light install has none): colour ramps, filled circles and rectangles, and fine noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([255 * x / width, 255 * y / height, 255 * (1 - x / width) * (y / height)], axis=-1)
    image = np.ascontiguousarray(image.astype(np.uint8))
    for _ in range(24):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(8, max(9, min(height, width) // 4)))
        if rng.random() < 0.5:
            cv2.circle(image, (cx, cy), size, colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(image, (cx, cy), (cx + size, cy + size // 2), colour, -1)
    noise = rng.normal(0, 6, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def write_panning_clip(path: str | os.PathLike, width: int = 320, height: int = 240, frames: int = 48,
                       fps: float = 24.0, photo: str = "skimage:astronaut.png", step: int = 3) -> list[np.ndarray]:
    """A video of a camera panning across a real photo (``step`` pixels a frame), or across ``synthetic_photo``
    for ``photo="synthetic"``; returns its RGB frames."""
    image = synthetic_photo() if photo == "synthetic" else load_photos((photo,))[0]
    image = cv2.resize(image, (width + step * frames, height + 20), interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise CganError(f"OpenCV cannot write the video {path}")
    clip = []
    for i in range(frames):
        frame = np.ascontiguousarray(image[10:10 + height, step * i:step * i + width])
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        clip.append(frame)
    writer.release()
    return clip
