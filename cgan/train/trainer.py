"""CycleGAN (the default objective): two generators and two discriminators, the adversarial, cycle and identity
losses, the image pools and the weight averages; the loop around it is loop.py's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CganError
from ..modelfile import new_meta, save_model
from ..presets import A_TO_B, B_TO_A
from .cyclegan import (CycleDiscriminators, CycleGenerators, build_cycle_networks, generator_parameter_groups,
                       wrap_for_speed_and_ranks)
from .ema import WeightAverage
from .evaluate import validate
from .losses import LOSS_NAMES, discriminator_loss, generator_loss
from .loop import TrainingLoop
from .pool import ImagePool
from .report import GRID_IMAGES, sample_grid


class Trainer(TrainingLoop):
    """Trains two generators and two discriminators on unpaired folders (CycleGAN); see ``TrainConfig``."""

    loss_names = LOSS_NAMES  # what train_step returns, in order
    shown_losses = ("G_gan_B", "cycle_A", "D_B")  # on the progress bar

    def _setup_networks(self) -> None:
        """The four networks, their optimisers, the image pools and the weight averages."""
        config = self.config
        self.g_ab, self.g_ba, self.d_a, self.d_b = build_cycle_networks(self.gen_config, config.ndf,
                                                                        config.n_layers_d, self.device)
        # Fused Adam updates all parameters in one kernel, on CPUs (torch >= 2.4) as on GPUs.
        betas = (config.beta1, 0.999)
        groups = generator_parameter_groups((self.g_ab, self.g_ba), config.lr, config.colour_map_lr)
        self.opt_g = torch.optim.Adam(groups, config.lr, betas, fused=True)
        self.opt_d = torch.optim.Adam([*self.d_a.parameters(), *self.d_b.parameters()], config.lr, betas, fused=True)
        self.raw_discriminators = CycleDiscriminators(self.d_a, self.d_b)  # outside torch.compile and DDP
        self.pool_a, self.pool_b = ImagePool(config.pool, config.seed), ImagePool(config.pool, config.seed + 1)
        self.averages = [WeightAverage(g, config.ema) for g in (self.g_ab, self.g_ba)] if config.ema else []

    def _wrap_for_speed_and_ranks(self) -> None:
        self.generators, self.discriminators = wrap_for_speed_and_ranks(
            CycleGenerators(self.g_ab, self.g_ba), self.raw_discriminators, self.config.compile, self.dist, self.device)

    @property
    def optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        """Every optimiser; the schedule sets their learning rates, the first one's is logged."""
        return self.opt_g, self.opt_d

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        """One optimisation step of both generators and both discriminators; returns the losses (LOSS_NAMES)."""
        config = self.config
        real_a, real_b = real_a.to(self.device, non_blocking=True), real_b.to(self.device, non_blocking=True)
        lambda_idt = config.lambda_identity * config.lambda_cycle

        # generators: fool both discriminators, reconstruct through the cycle, leave own-domain images alone
        self.raw_discriminators.requires_grad_(False)
        with torch.autocast(**self.autocast):
            fake_b, rec_a, fake_a, rec_b, idt_a, idt_b = self.generators(real_a, real_b, lambda_idt > 0)
            gan_a = generator_loss(config.gan_loss, self.d_a(fake_a))
            gan_b = generator_loss(config.gan_loss, self.d_b(fake_b))
        cycle_a = F.l1_loss(rec_a.float(), real_a) * config.lambda_cycle
        cycle_b = F.l1_loss(rec_b.float(), real_b) * config.lambda_cycle
        zero = torch.zeros((), device=self.device)
        idt_loss_a = F.l1_loss(idt_a.float(), real_a) * lambda_idt if idt_a is not None else zero
        idt_loss_b = F.l1_loss(idt_b.float(), real_b) * lambda_idt if idt_b is not None else zero
        loss_g = gan_a + gan_b + cycle_a + cycle_b + idt_loss_a + idt_loss_b
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        self.scaler.step(self.opt_g)
        for average in self.averages:
            average.update(self.iteration)

        # discriminators: real images against a history of fakes, computed above once and detached
        self.raw_discriminators.requires_grad_(True)
        pooled_a, pooled_b = self.pool_a.query(fake_a.detach()), self.pool_b.query(fake_b.detach())
        with torch.autocast(**self.autocast):
            real_score_a, fake_score_a, real_score_b, fake_score_b = self.discriminators(real_a, pooled_a, real_b, pooled_b)
            loss_d_a = discriminator_loss(config.gan_loss, real_score_a, fake_score_a)
            loss_d_b = discriminator_loss(config.gan_loss, real_score_b, fake_score_b)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss_d_a + loss_d_b).backward()
        self.scaler.step(self.opt_d)
        self.scaler.update()
        return torch.stack([gan_a, gan_b, cycle_a, cycle_b, idt_loss_a, idt_loss_b, loss_d_a, loss_d_b]).detach().float()

    def _evaluate(self) -> tuple[dict, np.ndarray]:
        """The validation metrics and the sample grid (RGB uint8) of the generators kept."""
        metrics, images = validate(*self.kept_generators, self.val_a, self.val_b, self.truth_a, self.device,
                                   self.autocast, batch=max(1, self.config.batch))
        n = GRID_IMAGES
        grid = sample_grid(self.name_a, self.name_b, self.val_a[:n], images["fake_b"][:n], images["rec_a"][:n],
                           self.val_b[:n], images["fake_a"][:n], images["rec_b"][:n])
        return metrics, grid

    @property
    def kept_generators(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The A->B and B->A generators that are validated and saved: the weight averages with --ema."""
        if self.averages:
            return self.averages[0].net, self.averages[1].net
        return self.g_ab, self.g_ba

    def _save_generators(self, folder: Path) -> None:
        provenance = {"epochs": self.epoch, "iterations": self.iteration, "train_size": self.config.size,
                      "data": self.config.data or f"{self.config.a} | {self.config.b}", "run": self.run_dir.name}
        kept_ab, kept_ba = self.kept_generators
        for net, direction, source, target in ((kept_ab, A_TO_B, self.name_a, self.name_b),
                                               (kept_ba, B_TO_A, self.name_b, self.name_a)):
            meta = new_meta(self.gen_config, self.config.preset, source, target, direction, **provenance)
            save_model(net, folder / f"G_{direction}.safetensors", meta)

    def _state(self) -> dict:
        return {
            **self._progress_state(),
            "G_AtoB": self.g_ab.state_dict(), "G_BtoA": self.g_ba.state_dict(),
            "D_A": self.d_a.state_dict(), "D_B": self.d_b.state_dict(),
            "opt_G": self.opt_g.state_dict(), "opt_D": self.opt_d.state_dict(),
            "pool_A": self.pool_a.state_dict(), "pool_B": self.pool_b.state_dict(),
            "EMA": [average.net.state_dict() for average in self.averages],
        }

    def _load_state(self, state: dict) -> None:
        if state.get("objective", "cyclegan") != "cyclegan" or "student" in state:
            kind = "cgan distill" if "student" in state else f"--objective {state['objective']}"
            raise CganError(f"this run directory was written by {kind}: resume it the way it was started")
        for net, key in ((self.g_ab, "G_AtoB"), (self.g_ba, "G_BtoA"), (self.d_a, "D_A"), (self.d_b, "D_B")):
            net.load_state_dict(state[key])
        for average, weights in zip(self.averages, state.get("EMA") or []):
            average.net.load_state_dict(weights)
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        self.pool_a.load_state_dict(state["pool_A"], self.device)
        self.pool_b.load_state_dict(state["pool_B"], self.device)
        self._load_progress(state)
