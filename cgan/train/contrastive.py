"""``--objective cut``, ``fastcut`` (contrastive unpaired translation; Park, Efros, Zhang, Zhu; ECCV 2020) and
``gan``: one generator, one PatchGAN.

One generator and one PatchGAN discriminator instead of CycleGAN's two of each. Structure is kept by
PatchNCE: the generator's own encoder sees the input and its translation; at each chosen layer,
patches are sampled at the same places in both, projected by a small MLP per layer, and each patch of
the translation must pick out the patch of the input it came from among the other patches of that
image (InfoNCE with a temperature). CUT adds the same loss on B -> G(B) (identity NCE) and halves the
sum; FastCUT leaves it out and weighs NCE ten times as much. ``--objective gan`` keeps the adversarial
loss alone, for a generator that cannot lose structure (``--preset filter``): no encoder, no projector.
``--lambda-texture`` adds a second discriminator that sees grey images (``texture.py``). The loop,
schedule, logging, validation bookkeeping, checkpoints, Ctrl-C and resume are the training loop's (loop.py); this
module says what differs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CganError
from ..modelfile import new_meta, save_model
from ..presets import A_TO_B
from ..nets import PatchDiscriminator, build_generator, init_weights
from .config import CONTRASTIVE
from .cyclegan import generator_parameter_groups, score_real_and_fake, wrap_for_speed_and_ranks
from .ema import WeightAverage
from .evaluate import psnr, ssim, translate_in_batches
from .losses import discriminator_loss, generator_loss
from .report import labelled_grid
from .texture import random_grey
from .loop import TrainingLoop
from .report import GRID_IMAGES

PROJECTION_WIDTH = 256  # the paper's MLP head output


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE over patches: ``query`` and ``key`` are (images, patches, channels), L2-normalised, patch i of
    the query taken where patch i of the key was. Each query patch must pick its own key patch among all the
    key patches of the same image; the loss per patch, averaged."""
    images, patches, _ = query.shape
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature  # (images, patches, patches); diagonal: positives
    targets = torch.arange(patches, device=query.device).expand(images, patches)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


class PatchProjector(nn.Module):
    """Projects sampled patches of each layer's features with a two-layer MLP per layer."""

    def __init__(self, channels: list[int], geometry: list[tuple[int, int]], seed: int,
                 width: int = PROJECTION_WIDTH) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(c, width), nn.ReLU(), nn.Linear(width, width))
                                   for c in channels)
        self.geometry = geometry  # per layer (stride, padding): its side is ceil(input side / stride) + padding
        # Its own random stream for the patch positions, kept in the checkpoint: the global one is also drawn
        # by the data loader when a resumed run starts an epoch, which would move every later sample.
        self.rng = torch.Generator().manual_seed(seed)

    @classmethod
    def for_layers(cls, generator: nn.Module, layers: list[int], seed: int) -> "PatchProjector":
        """A projector for ``generator``'s ``layers``: each layer's width, downsampling and padding are read from
        its outputs for two probe images."""
        parameter = next(generator.parameters())
        with torch.no_grad():
            small, large = (encoder_features(generator, parameter.new_zeros(1, generator.config.in_channels, side, side),
                                             layers) for side in (32, 64))
        strides = [32 // (b.shape[-1] - a.shape[-1]) for a, b in zip(small, large)]
        geometry = [(stride, a.shape[-1] - 32 // stride) for stride, a in zip(strides, small)]
        return cls([f.shape[1] for f in small], geometry, seed).to(parameter.device)

    def sample_places(self, height: int, width: int, num_patches: int) -> list[torch.Tensor]:
        """Random feature positions per layer for an input of ``height`` x ``width``, drawn outside the network
        call so that a compiled network sees plain index tensors."""
        sides = [(-(-height // stride) + pad, -(-width // stride) + pad) for stride, pad in self.geometry]
        return [torch.randperm(rows * columns, generator=self.rng)[:num_patches] for rows, columns in sides]

    def forward(self, features: list[torch.Tensor], places: list[torch.Tensor]) -> list[torch.Tensor]:
        """Projected patches (images, patches, width) per layer, taken at ``places``."""
        projected = []
        for head, feature, where in zip(self.heads, features, places):
            flat = feature.flatten(2).transpose(1, 2)  # (images, positions, channels)
            projected.append(F.normalize(head(flat[:, where].float()), dim=-1))
        return projected


def encoder_features(generator: nn.Module, x: torch.Tensor, layers: list[int]) -> list[torch.Tensor]:
    """The outputs of ``generator.model``'s layers at ``layers`` (a ResNet generator's encoder) for ``x``."""
    features, h = [], x
    for index, layer in enumerate(generator.model[:layers[-1] + 1]):
        h = layer(h)
        if index in layers:
            features.append(h)
    return features


class ContrastiveGenerator(nn.Module):
    """The generator and its patch projector, so that one call (one DistributedDataParallel forward, one
    compiled graph) makes the translation and every PatchNCE term of a step."""

    def __init__(self, generator: nn.Module, projector: PatchProjector, layers: list[int], temperature: float) -> None:
        super().__init__()
        self.generator, self.projector = generator, projector
        self.layers, self.temperature = layers, temperature

    def nce(self, source: torch.Tensor, translated: torch.Tensor, places: list[torch.Tensor]) -> torch.Tensor:
        if not self.layers:  # --objective gan
            return translated.new_zeros(())
        keys = self.projector(encoder_features(self.generator, source, self.layers), places)
        queries = self.projector(encoder_features(self.generator, translated, self.layers), places)
        return sum(patch_nce_loss(q, k, self.temperature) for q, k in zip(queries, keys)) / len(self.layers)

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor, places_a: list[torch.Tensor],
                places_b: list[torch.Tensor] | None) -> tuple[torch.Tensor, ...]:
        """The translation of A, its PatchNCE, and with ``places_b`` the identity NCE of B (else zero)."""
        n = len(real_a)
        if places_b is not None and real_a.shape == real_b.shape:  # one call for both, as CycleGAN's trainer does
            fake_b, idt_b = self.generator(torch.cat([real_a, real_b])).split(n)
        else:
            fake_b = self.generator(real_a)
            idt_b = self.generator(real_b) if places_b is not None else None
        nce = self.nce(real_a, fake_b, places_a)
        nce_idt = self.nce(real_b, idt_b, places_b) if places_b is not None else torch.zeros((), device=nce.device)
        return fake_b, nce, nce_idt


class ContrastiveDiscriminators(nn.Module):
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


class ContrastiveTrainer(TrainingLoop):
    """Trains one A -> B generator with a PatchGAN on B, and PatchNCE (``--objective cut`` or ``fastcut``) or not
    (``gan``)."""

    loss_names = ("G_gan", "NCE", "NCE_idt", "G_texture", "D", "D_texture")
    shown_losses = ("G_gan", "NCE", "D")

    def _setup_networks(self) -> None:
        config = self.config
        self.g_ab = build_generator(self.gen_config).to(self.device)
        self.d_b = init_weights(PatchDiscriminator(self.gen_config.out_channels, config.ndf, config.n_layers_d))
        self.d_b.to(self.device)
        self.d_texture = None
        if config.lambda_texture:
            self.d_texture = init_weights(PatchDiscriminator(1, config.ndf, config.n_layers_d)).to(self.device)
            # its own random stream for the grey weights, kept in the checkpoint (as the projector's patch places)
            self.grey_rng = torch.Generator().manual_seed(config.seed + 1)
        self.raw_discriminators = ContrastiveDiscriminators(self.d_b, self.d_texture)  # outside compile and DDP
        layers = config.nce_layer_list if config.objective in CONTRASTIVE else []
        self.projector = PatchProjector.for_layers(self.g_ab, layers, config.seed) if layers else None
        if not layers:  # the progress bar shows no NCE where there is none
            self.shown_losses = ("G_gan", "D")
        self.contrastive = ContrastiveGenerator(self.g_ab, self.projector, layers, config.nce_t)
        betas = (config.beta1, 0.999)
        groups = generator_parameter_groups((self.g_ab,), config.lr, config.colour_map_lr)
        self.opt_g = torch.optim.Adam(groups, config.lr, betas, fused=True)
        self.opt_d = torch.optim.Adam(self.raw_discriminators.parameters(), config.lr, betas, fused=True)
        self.opt_f = (torch.optim.Adam(self.projector.parameters(), config.lr, betas, fused=True)
                      if self.projector is not None else None)
        self.averages = [WeightAverage(self.g_ab, config.ema)] if config.ema else []

    def _wrap_for_speed_and_ranks(self) -> None:
        self.generators, self.discriminators = wrap_for_speed_and_ranks(self.contrastive, self.raw_discriminators,
                                                                        self.config.compile, self.dist, self.device)

    @property
    def optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        return tuple(opt for opt in (self.opt_g, self.opt_d, self.opt_f) if opt is not None)

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        config = self.config
        real_a, real_b = real_a.to(self.device, non_blocking=True), real_b.to(self.device, non_blocking=True)
        identity = config.objective == "cut"
        places = [[where.to(self.device) for where in self.projector.sample_places(*x.shape[-2:], config.num_patches)]
                  if self.projector is not None else [] for x in ((real_a, real_b) if identity else (real_a,))]

        texture = self.d_texture is not None
        grey_real = random_grey(real_b, self.grey_rng) if texture else None

        # generator and projector: fool D_B (and D_texture); each translated patch must point back to where it came from
        self.raw_discriminators.requires_grad_(False)
        with torch.autocast(**self.autocast):
            fake_b, nce, nce_idt = self.generators(real_a, real_b, places[0], places[1] if identity else None)
            gan = generator_loss(config.gan_loss, self.d_b(fake_b))
            grey_fake = random_grey(fake_b, self.grey_rng) if texture else None
            gan_texture = (generator_loss(config.gan_loss, self.d_texture(grey_fake)) if texture
                           else torch.zeros((), device=gan.device))
        nce_total = (nce + nce_idt) * 0.5 if identity else nce
        loss_g = gan + config.lambda_texture * gan_texture + config.resolved_lambda_nce * nce_total
        projecting = [self.opt_f] if self.opt_f is not None else []
        for opt in (self.opt_g, *projecting):
            opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        for opt in (self.opt_g, *projecting):
            self.scaler.step(opt)
        for average in self.averages:
            average.update(self.iteration)

        # discriminators: real B against this step's translations (the paper keeps no history pool)
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
        return torch.stack([gan, nce, nce_idt, gan_texture, loss_d, loss_d_texture]).detach().float()

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
                **({"F": self.projector.state_dict(), "patch_rng": self.projector.rng.get_state(),
                    "opt_F": self.opt_f.state_dict()} if self.projector is not None else {}),
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
        if self.projector is not None:
            self.projector.load_state_dict(state["F"])
            self.projector.rng.set_state(state["patch_rng"])
            self.opt_f.load_state_dict(state["opt_F"])
        for average, weights in zip(self.averages, state.get("EMA") or []):
            average.net.load_state_dict(weights)
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        self._load_progress(state)
