"""What a run shows: metrics.jsonl, TensorBoard scalars and images, sample grids and a loss-curve PNG."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..errors import CganError
from ..fileio import atomic_path, atomic_write_bytes, atomic_write_text
from ..images import to_image

if TYPE_CHECKING:  # (annotations only: cgan report reads metrics without PyTorch)
    import torch

LABEL_WIDTH = 120
GRID_IMAGES = 8  # images per row of a sample grid


def read_metrics(path: Path) -> list[dict]:
    """The records of a ``metrics.jsonl``. A last line cut short (the process was killed while appending it)
    is left out; any other line that is not a JSON object means the file is damaged."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise CganError(f"{path} is damaged (not UTF-8 text): move it aside to continue without it") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("iteration", 0), int):
            if number == len(lines):
                break  # a half-written last line
            raise CganError(f"{path} is damaged at line {number}: move it aside to continue without it")
        records.append(record)
    return records


class RunLog:
    """Appends training and validation records to ``metrics.jsonl`` and TensorBoard, and keeps them for plots."""

    def __init__(self, run_dir: Path, resume_iteration: int | None = None) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.records: list[dict] = []
        if resume_iteration is not None and self.path.exists():
            # Lines written after the checkpoint we resume from describe steps that will be redone.
            self.records = [r for r in read_metrics(self.path) if r.get("iteration", 0) <= resume_iteration]
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.records))
        self._file = open(self.path, "a", encoding="utf-8")
        from torch.utils.tensorboard import SummaryWriter

        self.tensorboard = SummaryWriter(str(run_dir / "tb"), purge_step=resume_iteration)

    def log(self, kind: str, iteration: int, epoch: int, values: dict) -> None:
        record = {"type": kind, "iteration": iteration, "epoch": epoch, **values}
        self.records.append(record)
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        for name, value in values.items():
            if isinstance(value, (int, float)):
                self.tensorboard.add_scalar(f"{kind}/{name}", value, iteration)

    def add_image(self, tag: str, rgb: np.ndarray, iteration: int) -> None:
        self.tensorboard.add_image(tag, rgb, iteration, dataformats="HWC")

    def close(self) -> None:
        self._file.close()
        self.tensorboard.close()


def _labelled_row(label: str, images: torch.Tensor) -> np.ndarray:
    row = np.concatenate([to_image(im) for im in images], axis=1)
    margin = np.full((row.shape[0], LABEL_WIDTH, 3), 255, np.uint8)
    cv2.putText(margin, label, (6, row.shape[0] // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([margin, row], axis=1)


def labelled_grid(*groups: list[tuple[str, torch.Tensor]]) -> np.ndarray:
    """Groups of labelled rows of images (RGB uint8), a gap between groups; each row as long as the shortest."""
    n = min(len(images) for group in groups for _, images in group)
    blocks = [np.concatenate([_labelled_row(label, images[:n]) for label, images in group]) for group in groups]
    gap = np.full((6, blocks[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([part for block in blocks for part in (gap, block)][1:], axis=0)


def sample_grid(name_a: str, name_b: str, real_a: torch.Tensor, fake_b: torch.Tensor, rec_a: torch.Tensor,
                real_b: torch.Tensor, fake_a: torch.Tensor, rec_b: torch.Tensor) -> np.ndarray:
    """Rows per direction: input, translation, reconstruction (RGB uint8)."""
    return labelled_grid([(name_a, real_a), (f"-> {name_b}", fake_b), (f"-> {name_a} again", rec_a)],
                         [(name_b, real_b), (f"-> {name_a}", fake_a), (f"-> {name_b} again", rec_b)])


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if ok:
        atomic_write_bytes(path, encoded.tobytes())


def plot_losses(records: list[dict], path: str | os.PathLike, monitor: str | None = None) -> None:
    """Training losses against iterations, and the validation metrics, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in records if r["type"] == "train"]
    val = [r for r in records if r["type"] == "val"]
    if not train:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    x = [r["iteration"] for r in train]
    for name in (k for k in train[0] if k not in ("type", "iteration", "epoch", "lr")):  # the losses, in order
        left.plot(x, [r[name] for r in train], label=name, linewidth=1)
    left.set_xlabel("iteration")
    left.set_title("training losses")
    left.legend(fontsize=7, ncol=2)
    if val:
        vx = [r["iteration"] for r in val]
        for name in ("cycle_l1", "identity_l1", "teacher_l1"):
            if name in val[0]:
                right.plot(vx, [r[name] for r in val], marker="o", label=name)
        psnrs = [name for name in ("psnr", "teacher_psnr") if name in val[0]]
        if psnrs:
            twin = right.twinx()
            for colour, name in zip(("tab:red", "tab:purple"), psnrs):
                twin.plot(vx, [r[name] for r in val], marker="s", color=colour, label=f"{name} (dB)")
            twin.set_ylabel("PSNR (dB)")
            twin.legend(loc="upper right", fontsize=8)
        right.legend(loc="upper left", fontsize=8)
    right.set_xlabel("iteration")
    right.set_title(f"validation (monitor: {monitor})" if monitor else "validation")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
