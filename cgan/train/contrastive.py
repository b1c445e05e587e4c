"""``--objective cut`` and ``fastcut``: contrastive unpaired translation (Park, Efros, Zhang, Zhu; ECCV 2020).

One generator and one PatchGAN discriminator instead of CycleGAN's two of each (``--objective gan``, gan.py,
which this extends). Structure is kept by PatchNCE: the generator's own encoder sees the input and its
translation; at each chosen layer, patches are sampled at the same places in both, projected by a small MLP per
layer, and each patch of the translation must pick out the patch of the input it came from among the other
patches of that image (InfoNCE with a temperature). CUT adds the same loss on B -> G(B) (identity NCE) and halves
the sum; FastCUT leaves it out and weighs NCE ten times as much.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .gan import GanTrainer

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


class ContrastiveTrainer(GanTrainer):
    """Trains one A -> B generator with a PatchGAN on B and PatchNCE (``--objective cut`` or ``fastcut``)."""

    loss_names = ("G_gan", "NCE", "NCE_idt", "G_texture", "D", "D_texture")
    shown_losses = ("G_gan", "NCE", "D")

    def _setup_networks(self) -> None:
        super()._setup_networks()
        config = self.config
        self.projector = PatchProjector.for_layers(self.g_ab, config.nce_layer_list, config.seed)
        self.opt_f = torch.optim.Adam(self.projector.parameters(), config.lr, (config.beta1, 0.999), fused=True)

    def _trained_generator(self) -> nn.Module:
        return ContrastiveGenerator(self.g_ab, self.projector, self.config.nce_layer_list, self.config.nce_t)

    @property
    def generator_optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        return self.opt_g, self.opt_f

    @property
    def optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        return self.opt_g, self.opt_d, self.opt_f

    def _translate(self, real_a: torch.Tensor, real_b: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """The translation, and each translated patch's loss for pointing back to where it came from (for CUT,
        B's own patches too)."""
        config = self.config
        identity = config.objective == "cut"
        places = [[where.to(self.device) for where in self.projector.sample_places(*x.shape[-2:], config.num_patches)]
                  for x in ((real_a, real_b) if identity else (real_a,))]
        fake_b, nce, nce_idt = self.generators(real_a, real_b, places[0], places[1] if identity else None)
        nce_total = (nce + nce_idt) * 0.5 if identity else nce
        return fake_b, config.resolved_lambda_nce * nce_total, (nce, nce_idt)

    def _state(self) -> dict:
        return {**super()._state(), "F": self.projector.state_dict(), "patch_rng": self.projector.rng.get_state(),
                "opt_F": self.opt_f.state_dict()}

    def _load_state(self, state: dict) -> None:
        super()._load_state(state)
        self.projector.load_state_dict(state["F"])
        self.projector.rng.set_state(state["patch_rng"])
        self.opt_f.load_state_dict(state["opt_F"])
