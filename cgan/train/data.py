"""Image folders, decoding to 8-bit RGB, the reference preprocessing, and unaligned A/B sampling.

Every random choice (which B goes with which A, crop, flip) is a pure function of the seed,
the epoch and the position in the epoch. So data is identical across worker counts, and a
resumed run sees exactly the batches an uninterrupted one would have.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import CganError
from ..fileio import printable
from ..images import IMAGE_SUFFIXES, has_image_signature, list_images, pad_to_multiple, read_rgb, to_tensor
from .config import TrainConfig


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width * height < image.shape[0] * image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _scale_short_side_to(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if min(h, w) >= side:
        return image
    scale = side / min(h, w)
    return _resize(image, max(side, round(w * scale)), max(side, round(h * scale)))


def augment(image: np.ndarray, config: TrainConfig, multiple: int, rng: np.random.Generator) -> np.ndarray:
    """The reference CycleGAN preprocessing: resize or scale, random crop, random horizontal flip."""
    size, load = config.size, config.resolved_load_size
    if config.preprocess == "resize_crop":
        image = _resize(image, load, load)
    elif config.preprocess == "scale_width_crop":
        h, w = image.shape[:2]
        image = _scale_short_side_to(_resize(image, load, max(1, round(h * load / w))), size)
    elif config.preprocess == "crop":
        image = _scale_short_side_to(image, size)
    if config.preprocess == "none":
        image = pad_to_multiple(image, multiple)
    else:
        h, w = image.shape[:2]
        top, left = rng.integers(h - size + 1), rng.integers(w - size + 1)
        image = image[top:top + size, left:left + size]
    if not config.no_flip and rng.random() < 0.5:
        image = image[:, ::-1]
    return image


def center_view(image: np.ndarray, size: int) -> np.ndarray:
    """The deterministic validation view: short side scaled to ``size``, centre ``size`` x ``size`` crop."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    image = _resize(image, max(size, round(w * scale)), max(size, round(h * scale)))
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


@dataclasses.dataclass
class DataSplit:
    train_a: list[Path]
    train_b: list[Path]
    val_a: list[Path]
    val_b: list[Path]
    truth_a: list[Path] | None  # ground truth for each val_a image, same order
    notes: list[str]


def _require_images(folder: Path, files: list[Path], notes: list[str]) -> list[Path]:
    if not files:
        raise CganError(f"no images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)}): put the domain's images there")
    # A signature check is cheap; files that pass it but fail to decode are skipped when drawn.
    readable = [f for f in files if has_image_signature(f)]
    if not readable:
        raise CganError(f"none of the {len(files)} image files in {folder} can be read: they are damaged or not images")
    if len(readable) < len(files):
        unreadable = [printable(f.relative_to(folder)) for f in files if f not in set(readable)]
        shown = ", ".join(unreadable[:5]) + (f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
        notes.append(f"skipped {len(unreadable)} unreadable files in {folder}: {shown}")
    return readable


def _hold_out(files: list[Path], fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    count = max(1, round(len(files) * fraction)) if fraction > 0 and len(files) > 1 else 0
    order = np.random.default_rng(seed).permutation(len(files))
    held = sorted(files[i] for i in order[:count])
    kept = [f for f in files if f not in set(held)]
    return kept, held


def find_data(config: TrainConfig) -> DataSplit:
    """Training and validation files from ``--data`` or ``--a/--b``; every problem is found before training."""
    notes: list[str] = []
    if config.data:
        root = Path(config.data)
        if not root.is_dir():
            raise CganError(f"data folder not found: {root}")
        folder_a, folder_b = root / "trainA", root / "trainB"
        for folder in (folder_a, folder_b):
            if not folder.is_dir():
                raise CganError(f"{root} has no {folder.name}/ folder: --data needs trainA/ and trainB/ "
                                f"(and optionally testA/ testB/); for two plain folders use --a and --b")
        test_a, test_b = root / "testA", root / "testB"
    elif config.a and config.b:
        folder_a, folder_b = Path(config.a), Path(config.b)
        test_a = test_b = None
    else:
        raise CganError("give the images: --data DIR (with trainA/ trainB/) or --a DIR_A --b DIR_B")
    train_a = _require_images(folder_a, list_images(folder_a), notes)
    train_b = _require_images(folder_b, list_images(folder_b), notes)
    if test_a is not None and test_a.is_dir() and test_b.is_dir() and list_images(test_a) and list_images(test_b):
        val_a, val_b = list_images(test_a), list_images(test_b)
    else:
        train_a, val_a = _hold_out(train_a, config.val_fraction, config.seed)
        train_b, val_b = _hold_out(train_b, config.val_fraction, config.seed + 1)
        if not val_a or not val_b:
            notes.append("too few images to hold any out: validating on training images")
            val_a, val_b = val_a or train_a, val_b or train_b
    val_a, val_b = val_a[: config.val_images], val_b[: config.val_images]
    truth = _match_truth(config.val_truth, val_a, folder_a if not config.data else Path(config.data) / "testA") \
        if config.val_truth else None
    return DataSplit(train_a, train_b, val_a, val_b, truth, notes)


def find_source_data(config) -> DataSplit:
    """Distillation's data: one domain only, from ``--data`` (``trainA/`` [``testA/``]) or ``--a``."""
    notes: list[str] = []
    if config.data:
        root = Path(config.data)
        folder, test = root / "trainA", root / "testA"
        if not folder.is_dir():
            raise CganError(f"{root} has no trainA/ folder: --data needs trainA/ (and optionally testA/); "
                            f"for a plain folder of the teacher's input images use --a")
    elif config.a:
        folder, test = Path(config.a), None
    else:
        raise CganError("give the teacher's input images: --a DIR, or --data DIR with trainA/")
    train = _require_images(folder, list_images(folder), notes)
    if test is not None and test.is_dir() and list_images(test):
        val = list_images(test)
    else:
        train, val = _hold_out(train, config.val_fraction, config.seed)
        if not val:
            notes.append("too few images to hold any out: validating on training images")
            val = train
    val = val[: config.val_images]
    truth = _match_truth(config.val_truth, val, test if config.data else folder) if config.val_truth else None
    return DataSplit(train, [], val, [], truth, notes)


def _match_truth(truth_dir: str, val_a: list[Path], val_root: Path) -> list[Path]:
    """The truth file for each validation A image: same relative path, any image suffix."""
    truth_root = Path(truth_dir)
    by_stem = {p.relative_to(truth_root).with_suffix("").as_posix(): p for p in list_images(truth_root)}
    matched, missing = [], []
    for path in val_a:
        key = path.relative_to(val_root).with_suffix("").as_posix() if path.is_relative_to(val_root) else path.stem
        (matched if key in by_stem else missing).append(by_stem.get(key, path))
    if missing:
        raise CganError(f"--val-truth {truth_root} has no image for {len(missing)} validation images "
                        f"(first: {missing[0].name}): it needs one per A validation image, with the same name")
    return matched


class UnpairedDataset(Dataset):
    """Items are (a_index, b_index, item_seed) keys from ``EpochSampler``; returns two image tensors."""

    def __init__(self, files_a: list[Path], files_b: list[Path], config: TrainConfig, multiple: int) -> None:
        self.files_a, self.files_b, self.config, self.multiple = files_a, files_b, config, multiple

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def _load(self, files: list[Path], index: int, rng: np.random.Generator) -> tuple[torch.Tensor, int]:
        # An unreadable file is replaced by the next readable one and counted, never a crash mid-epoch.
        for skipped in range(len(files)):
            image = read_rgb(files[(index + skipped) % len(files)])
            if image is not None:
                return to_tensor(augment(image, self.config, self.multiple, rng)), skipped
        raise CganError(f"none of the {len(files)} images in {files[0].parent} can be read")

    def __getitem__(self, key: tuple[int, int, int]) -> dict:
        a_index, b_index, item_seed = key
        rng = np.random.default_rng(item_seed)
        a, skipped_a = self._load(self.files_a, a_index, rng)
        b, skipped_b = self._load(self.files_b, b_index, rng)
        return {"A": a, "B": b, "skipped": skipped_a + skipped_b}


def colour_jitter(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Random saturation, contrast and brightness changes of up to ``strength`` (0.1: 10%, and 10% of the
    range in brightness), so that a student sees colours beyond those of its training photos."""
    if strength <= 0:
        return image
    saturation, contrast, brightness = rng.uniform(-strength, strength, 3)
    x = image.astype(np.float32)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * (1 + saturation)
    mean = x.mean()
    x = (x - mean) * (1 + contrast) + mean + 255 * brightness
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


class SourceDataset(UnpairedDataset):
    """One domain's images for distillation: each key's A image, augmented and colour-jittered."""

    def __getitem__(self, key: tuple[int, int, int]) -> dict:
        a_index, _, item_seed = key
        rng = np.random.default_rng(item_seed)
        for skipped in range(len(self.files_a)):  # an unreadable file is replaced by the next readable one
            image = read_rgb(self.files_a[(a_index + skipped) % len(self.files_a)])
            if image is not None:
                image = augment(image, self.config, self.multiple, rng)
                return {"A": to_tensor(colour_jitter(image, self.config.jitter, rng)), "skipped": skipped}
        raise CganError(f"none of the {len(self.files_a)} images in {self.files_a[0].parent} can be read")


class EpochSampler(Sampler):
    """The keys of one epoch for one rank: A in a seeded random order, B drawn independently of A.

    ``set_epoch`` chooses the epoch; its ``start`` skips the items a resumed run already trained on.
    """

    def __init__(self, n_a: int, n_b: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n_a, self.n_b, self.seed, self.rank, self.world = n_a, n_b, seed, rank, world
        self.set_epoch(0)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        length = max(self.n_a, self.n_b)
        rng = np.random.default_rng([self.seed, epoch])
        order_a = rng.permutation(self.n_a)
        picks_b = rng.integers(self.n_b, size=length)
        item_seeds = rng.integers(2**63, size=length)
        per_rank = length // self.world  # equal shares, so every rank takes the same number of steps
        positions = range(self.rank, per_rank * self.world, self.world)
        self.keys = [(int(order_a[i % self.n_a]), int(picks_b[i]), int(item_seeds[i])) for i in positions][start:]

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def epoch_length(self) -> int:
        """Items in a whole epoch of this rank (``len`` is what is left of the current one)."""
        return max(self.n_a, self.n_b) // self.world

    def __iter__(self):
        return iter(self.keys)


def load_views(files: list[Path], size: int, truth: list[Path] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validation images (centre views) as one NCHW tensor, and their ground truth if given.

    An image is left out when it, or its truth, cannot be read.
    """
    images = [read_rgb(f) for f in files]
    truths = [read_rgb(f) for f in truth] if truth is not None else [None] * len(files)
    keep = [i for i in range(len(files)) if images[i] is not None and (truth is None or truths[i] is not None)]
    if not keep:
        raise CganError(f"none of the validation images in {files[0].parent} can be read")
    views = torch.stack([to_tensor(center_view(images[i], size)) for i in keep])
    if truth is None:
        return views, None
    return views, torch.stack([to_tensor(center_view(truths[i], size)) for i in keep])


def training_loader(split: DataSplit, config: TrainConfig, multiple: int, dist, pin_memory: bool):
    """The DataLoader of training batches for this process's shard, and its sampler (which ``set_epoch`` moves).
    A split without B images (distillation) loads A images alone."""
    from torch.utils.data import DataLoader

    if split.train_b:
        dataset = UnpairedDataset(split.train_a, split.train_b, config, multiple)
    else:
        dataset = SourceDataset(split.train_a, split.train_a, config, multiple)
    sampler = EpochSampler(len(split.train_a), len(split.train_b or split.train_a), config.seed, dist.rank,
                           dist.world)
    if len(sampler) == 0:
        raise CganError(f"fewer training images than the {dist.world} processes: use fewer processes")
    workers = config.workers if config.workers is not None else min(4, (os.cpu_count() or 2) // 2)
    if workers and "openvino" in sys.modules:
        # Workers forked from a process in which OpenVINO has started its threads crash (a library user who ran
        # a model before training in the same process). Batches do not depend on the worker count: load here.
        split.notes.append("data loading in this process: OpenVINO runs here, and forked workers would crash")
        workers = 0
    loader = DataLoader(dataset, batch_size=config.batch, sampler=sampler, num_workers=workers,
                        pin_memory=pin_memory, persistent_workers=workers > 0)
    return loader, sampler
