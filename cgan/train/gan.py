"""``--objective gan``: one A -> B generator and a PatchGAN on B, the adversarial loss alone.

For a generator that cannot lose structure (``--preset filter``: a colour map and a small correction), nothing
else is needed to keep structure; ``--lambda-identity-b`` adds L1(G(b), b), which keeps what input and target share
(tone, where the target keeps it). ``--lambda-texture`` adds a second discriminator that sees grey images (``texture.py``).
CUT and FastCUT (``contrastive.py``) are this objective with PatchNCE added through ``_translate``. The loop,
schedule, logging, validation bookkeeping, checkpoints, Ctrl-C and resume are the training loop's (loop.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CganError
from ..modelfile import new_meta, save_model
from ..nets import PatchDiscriminator, build_generator, init_weights
from ..presets import A_TO_B
from .cyclegan import generator_parameter_groups, score_real_and_fake, wrap_for_speed_and_ranks
from .ema import WeightAverage
from .evaluate import psnr, ssim, translate_in_batches
from .loop import TrainingLoop
from .losses import discriminator_loss, generator_loss
from .report import GRID_IMAGES, labelled_grid
from .texture import random_grey


class OneSidedDiscriminators(nn.Module):
    """D_B on colour images and, with ``--lambda-texture``, D_texture on their grey views: one call scores the
    real and fake images of a step for both (one DistributedDataParallel forward, one compiled graph)."""

    def __init__(self, d_b: nn.Module, d_texture: nn.Module | None) -> None:
        super().__init__()
        self.d_b, self.d_texture = d_b, d_texture

    def forward(self, real_b: torch.Tensor, fake_b: torch.Tensor, grey_real: torch.Tensor | None,
                grey_fake: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        texture = (score_real_and_fake(self.d_texture, grey_real, grey_fake) if self.d_texture is not None
                   else (None, None))
        return (*score_real_and_fake(self.d_b, real_b, fake_b), *texture)


class GanTrainer(TrainingLoop):
    """Trains one A -> B generator against a PatchGAN on B (``--objective gan``)."""

    shown_losses = ("G_gan", "D")

    @property
    def loss_names(self) -> tuple[str, ...]:
        """What a step returns, in order; G_idt unless --lambda-identity-b 0 turns it off."""
        return ("G_gan", *(("G_idt",) if self.config.resolved_lambda_identity_b else ()), "G_texture", "D", "D_texture")

    def _setup_networks(self) -> None:
        config = self.config
        self.g_ab = build_generator(self.gen_config).to(self.device)
        self.d_b = init_weights(PatchDiscriminator(self.gen_config.out_channels, config.ndf, config.n_layers_d))
        self.d_b.to(self.device)
        self.d_texture = None
        if config.lambda_texture:
            self.d_texture = init_weights(PatchDiscriminator(1, config.ndf, config.n_layers_d)).to(self.device)
            # its own random stream for the grey weights, kept in the checkpoint: the global one is also drawn by
            # the data loader when a resumed run starts an epoch, which would move every later draw
            self.grey_rng = torch.Generator().manual_seed(config.seed + 1)
        self.raw_discriminators = OneSidedDiscriminators(self.d_b, self.d_texture)  # outside compile and DDP
        betas = (config.beta1, 0.999)
        groups = generator_parameter_groups((self.g_ab,), config.lr, config.colour_map_lr)
        self.opt_g = torch.optim.Adam(groups, config.lr, betas, fused=True)
        self.opt_d = torch.optim.Adam(self.raw_discriminators.parameters(), config.lr, betas, fused=True)
        self.averages = [WeightAverage(self.g_ab, config.ema)] if config.ema else []

    def _trained_generator(self) -> nn.Module:
        """What one generator call of a step runs (compiled and wrapped for ranks): here the generator itself."""
        return self.g_ab

    def _wrap_for_speed_and_ranks(self) -> None:
        self.generators, self.discriminators = wrap_for_speed_and_ranks(
            self._trained_generator(), self.raw_discriminators, self.config.compile, self.dist, self.device)

    @property
    def generator_optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        """The optimisers the generator's losses step."""
        return (self.opt_g,)

    @property
    def optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        return self.opt_g, self.opt_d

    def _translate(self, real_a: torch.Tensor, real_b: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """The translation of ``real_a``, the weighted sum of the losses that keep its structure, and those losses
        one by one (logged between ``G_gan`` and ``G_texture``): with ``--lambda-identity-b``, L1(G(b), b), with A
        and B in one generator call (one forward per backward, as DistributedDataParallel expects)."""
        weight = self.config.resolved_lambda_identity_b
        if not weight:
            fake_b = self.generators(real_a)
            return fake_b, fake_b.new_zeros(()), ()
        fake_b, idt_b = self.generators(torch.cat([real_a, real_b])).split([len(real_a), len(real_b)])
        identity = (idt_b - real_b).abs().mean()
        return fake_b, weight * identity, (identity,)

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        config = self.config
        real_a, real_b = real_a.to(self.device, non_blocking=True), real_b.to(self.device, non_blocking=True)
        texture = self.d_texture is not None
        grey_real = random_grey(real_b, self.grey_rng) if texture else None

        # generator: fool D_B (and D_texture) while keeping whatever structure the objective asks for
        self.raw_discriminators.requires_grad_(False)
        with torch.autocast(**self.autocast):
            fake_b, structure_loss, structure_terms = self._translate(real_a, real_b)
            gan = generator_loss(config.gan_loss, self.d_b(fake_b))
            grey_fake = random_grey(fake_b, self.grey_rng) if texture else None
            gan_texture = (generator_loss(config.gan_loss, self.d_texture(grey_fake)) if texture
                           else torch.zeros((), device=gan.device))
        loss_g = gan + config.lambda_texture * gan_texture + structure_loss
        for opt in self.generator_optimizers:
            opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        for opt in self.generator_optimizers:
            self.scaler.step(opt)
        for average in self.averages:
            average.update(self.iteration)

        # discriminators: real B against this step's translations (no history pool, as CUT's paper)
        self.raw_discriminators.requires_grad_(True)
        with torch.autocast(**self.autocast):
            real_score, fake_score, real_texture, fake_texture = self.discriminators(
                real_b, fake_b.detach(), grey_real, grey_fake.detach() if texture else None)
            loss_d = discriminator_loss(config.gan_loss, real_score, fake_score)
            loss_d_texture = (discriminator_loss(config.gan_loss, real_texture, fake_texture) if texture
                              else torch.zeros((), device=loss_d.device))
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss_d + loss_d_texture).backward()
        self.scaler.step(self.opt_d)
        self.scaler.update()
        return torch.stack([gan, *structure_terms, gan_texture, loss_d, loss_d_texture]).detach().float()

    @property
    def kept_generator(self) -> nn.Module:
        return self.averages[0].net if self.averages else self.g_ab

    def _evaluate(self) -> tuple[dict, np.ndarray]:
        """identity_l1 (how much G changes B images, which it should leave alone) and, with --val-truth, PSNR and
        SSIM; the grid shows input | translation (there is no reconstruction)."""
        net, batch = self.kept_generator, max(1, self.config.batch)
        net.eval()
        with torch.no_grad():
            fake_b = translate_in_batches(net, self.val_a, batch, self.device, self.autocast)
            idt_b = translate_in_batches(net, self.val_b, batch, self.device, self.autocast)
        net.train()
        metrics = {"identity_l1": (idt_b - self.val_b).abs().mean().item()}
        if self.truth_a is not None:
            nothing = psnr(self.val_a, self.truth_a).mean().item()
            metrics.update(psnr=psnr(fake_b, self.truth_a).mean().item(), ssim=ssim(fake_b, self.truth_a).mean().item(),
                           psnr_do_nothing=nothing)
            metrics["psnr_gain"] = metrics["psnr"] - nothing
        n = GRID_IMAGES
        grid = labelled_grid([(self.name_a, self.val_a[:n]), (f"-> {self.name_b}", fake_b[:n])])
        return metrics, grid

    def _save_generators(self, folder: Path) -> None:
        provenance = {"objective": self.config.objective, "epochs": self.epoch, "iterations": self.iteration,
                      "train_size": self.config.size, "data": self.config.data or f"{self.config.a} | {self.config.b}",
                      "run": self.run_dir.name}
        meta = new_meta(self.gen_config, self.config.preset, self.name_a, self.name_b, A_TO_B, **provenance)
        save_model(self.kept_generator, folder / "G_AtoB.safetensors", meta)

    def _state(self) -> dict:
        return {**self._progress_state(), "objective": self.config.objective,
                "G_AtoB": self.g_ab.state_dict(), "D_B": self.d_b.state_dict(),
                **({"D_texture": self.d_texture.state_dict(), "grey_rng": self.grey_rng.get_state()}
                   if self.d_texture is not None else {}),
                "opt_G": self.opt_g.state_dict(), "opt_D": self.opt_d.state_dict(),
                "EMA": [average.net.state_dict() for average in self.averages]}

    def _load_state(self, state: dict) -> None:
        if state.get("objective") != self.config.objective:
            raise CganError(f"this run directory was trained with --objective {state.get('objective', 'cyclegan')}: "
                            f"resume it as it was")
        self.g_ab.load_state_dict(state["G_AtoB"])
        self.d_b.load_state_dict(state["D_B"])
        if self.d_texture is not None:
            if "D_texture" not in state:
                raise CganError("this run directory was trained without --lambda-texture: resume it as it was")
            self.d_texture.load_state_dict(state["D_texture"])
            self.grey_rng.set_state(state["grey_rng"])
        for average, weights in zip(self.averages, state.get("EMA") or []):
            average.net.load_state_dict(weights)
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        self._load_progress(state)
