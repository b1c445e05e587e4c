"""``cgan distill``: train a small student generator to reproduce a trained teacher, for real time on CPUs.

The student learns on the teacher's own input images (random crops, flips and colour jitter, so
that it generalises beyond them): an L1 loss on the teacher's outputs, plus a feature term that
matches the teacher's activations after its encoder and after its residual blocks through learned
1x1 adapters (as GAN Compression does). The loop, logging, schedule, validation bookkeeping,
checkpoints, Ctrl-C and resume are the training loop's (loop.py); this module says what differs.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CganError
from ..fileio import escape_control
from ..modelfile import load_model, new_meta, resolve_model_path, save_model
from ..nets import PRESETS, build_generator, preset_config
from .callbacks import Callback, TrainResult
from .config import DistillConfig
from .config_files import read_run_config, resolve_config
from .data import find_source_data, load_views, training_loader
from .evaluate import psnr, ssim, translate_in_batches
from .report import labelled_grid
from .loop import TrainingLoop
from .report import GRID_IMAGES

def load_teacher(teacher: str, direction: str) -> tuple[nn.Module, Path]:
    """The teacher generator, frozen, and its file; a one-line error for anything that cannot teach."""
    path = resolve_model_path(teacher, direction)
    net = load_model(path)
    if net.config.arch not in ("resnet", "mobile"):
        raise CganError(f"{path} is a {net.meta.preset or net.config.arch} generator: distillation matches a "
                        f"teacher's quarter-resolution features after its encoder and residual blocks, which only "
                        f"resnet and mobile generators have")
    return net.requires_grad_(False), path


log = logging.getLogger(__name__)


class TeacherFeatures:
    """Runs the teacher and keeps its activations after the encoder and after the residual blocks."""

    def __init__(self, teacher: nn.Module) -> None:
        self.teacher = teacher
        self.kept: list[torch.Tensor] | None = None  # a list only while __call__ runs the teacher
        encoder_end = 9  # pad, 7x7 conv, norm, relu, then two (stride-2 conv, norm, relu)
        for index in (encoder_end, encoder_end + teacher.config.n_blocks):
            teacher.model[index].register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if self.kept is not None:
            self.kept.append(output)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        self.kept = []
        output = self.teacher(x)
        kept, self.kept = self.kept, None
        return output, kept


class StudentWithAdapters(nn.Module):
    """The student's output and its matched activations mapped to the teacher's widths (1x1 adapters)."""

    def __init__(self, student: nn.Module, teacher_channels: int) -> None:
        super().__init__()
        self.student = student
        width = 4 * student.config.ngf
        self.adapters = nn.ModuleList(nn.Conv2d(width, teacher_channels, 1) for _ in range(2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        output, features = self.student.features(x)
        return output, [adapter(f) for adapter, f in zip(self.adapters, features)]


class Distiller(TrainingLoop):
    """Trains a student generator (``DistillConfig.preset``) to reproduce ``DistillConfig.teacher``."""

    loss_names = ("pixel", "feature")
    shown_losses = loss_names

    def __init__(self, config: DistillConfig, callbacks: list[Callback] | tuple = (), resume: str | None = None) -> None:
        self.teacher, self.teacher_path = load_teacher(config.teacher, config.direction)  # its errors come first
        super().__init__(config, callbacks, resume)

    def _domain_names(self) -> tuple[str, str]:
        return self.teacher.meta.source_domain, self.teacher.meta.target_domain

    def _default_run_name(self) -> str:
        return f"{self.name_a}2{self.name_b}-{self.config.preset}"

    def _setup_data(self) -> None:
        config = self.config
        self.split = find_source_data(config)
        self.gen_config = preset_config(config.preset, ngf=config.ngf)
        if self.gen_config.arch != "student":
            students = ", ".join(name for name, values in PRESETS.items() if values["arch"] == "student")
            raise CganError(f"--preset {config.preset} is not a student: choose one of {students}")
        self.loader, self.sampler = training_loader(self.split, config, self.gen_config.size_multiple, self.dist,
                                                    pin_memory=self.device.type == "cuda")
        self.val_a, self.truth_a = load_views(self.split.val_a, config.resolved_val_size, self.split.truth_a)
        self._teacher_val: torch.Tensor | None = None

    def _setup_networks(self) -> None:
        config = self.config
        self.teacher.to(self.device).eval()
        self.teacher_features = TeacherFeatures(self.teacher)
        self.student = build_generator(self.gen_config)
        self.model = StudentWithAdapters(self.student, 4 * self.teacher.config.ngf).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), config.lr, (config.beta1, 0.999), fused=True)

    def _wrap_for_speed_and_ranks(self) -> None:
        from .cyclegan import wrap_for_speed_and_ranks

        self.forward, _ = wrap_for_speed_and_ranks(self.model, nn.Identity(), self.config.compile, self.dist,
                                                   self.device)

    @property
    def optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        return (self.optimizer,)

    def _step(self, batch: dict) -> torch.Tensor:
        x = batch["A"].to(self.device, non_blocking=True)
        with torch.autocast(**self.autocast):
            target, target_features = self.teacher_features(x)
            output, features = self.forward(x)
        pixel = F.l1_loss(output.float(), target.float())
        feature = sum(F.mse_loss(f.float(), t.float()) for f, t in zip(features, target_features)) / len(features)
        loss = pixel + self.config.lambda_feature * feature
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return torch.stack([pixel, feature]).detach().float()

    def _evaluate(self) -> tuple[dict, np.ndarray]:
        """Student against teacher on the validation views; with --val-truth both against the truth."""
        batch = max(1, self.config.batch)
        if self._teacher_val is None:  # the teacher does not change: translate its views once
            self._teacher_val = translate_in_batches(self.teacher, self.val_a, batch, self.device, self.autocast)
        self.student.eval()
        with torch.no_grad():
            student = translate_in_batches(self.student, self.val_a, batch, self.device, self.autocast)
        self.student.train()
        teacher = self._teacher_val
        metrics = {"teacher_psnr": psnr(student, teacher).mean().item(),
                   "teacher_l1": (student - teacher).abs().mean().item()}
        if self.truth_a is not None:
            nothing = psnr(self.val_a, self.truth_a).mean().item()
            metrics.update(psnr=psnr(student, self.truth_a).mean().item(), ssim=ssim(student, self.truth_a).mean().item(),
                           psnr_do_nothing=nothing)
            metrics["psnr_gain"] = metrics["psnr"] - nothing
            metrics["teacher_gain"] = psnr(teacher, self.truth_a).mean().item() - nothing
        n = GRID_IMAGES
        grid = labelled_grid([(self.name_a, self.val_a[:n]), (f"teacher -> {self.name_b}", teacher[:n]),
                              (f"student -> {self.name_b}", student[:n])])
        return metrics, grid

    def _save_generators(self, folder: Path) -> None:
        teacher = self.teacher.meta
        provenance = {"teacher": f"{self.teacher_path} ({teacher.preset or teacher.config.arch}, "
                                 f"ngf {teacher.config.ngf})", "epochs": self.epoch, "iterations": self.iteration,
                      "train_size": self.config.size, "data": self.config.data or self.config.a,
                      "run": self.run_dir.name}
        meta = new_meta(self.gen_config, self.config.preset, teacher.source_domain, teacher.target_domain,
                        teacher.direction, **provenance)
        save_model(self.student, folder / f"G_{teacher.direction}.safetensors", meta)

    def _state(self) -> dict:
        return {**self._progress_state(), "student": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def _load_state(self, state: dict) -> None:
        if "student" not in state:
            raise CganError("this run directory was written by cgan train: resume it with cgan train --resume")
        self.model.load_state_dict(state["student"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._load_progress(state)

    def _print_start(self) -> None:
        c, teacher = self.config, self.teacher.meta
        precision = str(self.autocast["dtype"]).removeprefix("torch.") if self.autocast["enabled"] else "fp32"
        domains = escape_control(f"{teacher.source_domain} -> {teacher.target_domain}")
        log.info(f"distilling {self.teacher_path} ({teacher.preset}, {domains}) into {c.preset} ngf "
                 f"{self.gen_config.ngf} on {len(self.split.train_a)} images, validating on {len(self.val_a)}")
        log.info(f"{c.size}x{c.size} crops, batch {c.batch}, {self.device}, {precision} -> {self.run_dir}")


def distill(teacher: str | None = None, config: DistillConfig | None = None, callbacks: list[Callback] | tuple = (),
            resume: str | None = None, config_file: str | None = None, **options) -> TrainResult:
    """Distil ``teacher`` into a student and return where it went and how it ended.

    ``options`` are the ``cgan distill`` flags with underscores, e.g. ``distill("runs/tom2jerry", a="tom/",
    max_time="10m")``; ``resume`` continues a run directory exactly.
    """
    if config is None:
        flags = {**options, "teacher": teacher}
        saved = read_run_config(resume, DistillConfig) if resume else None
        config = resolve_config(flags, config_file, saved, DistillConfig)
    return Distiller(config, callbacks, resume=resume).fit()


__all__ = ["DistillConfig", "Distiller", "distill"]
