"""The CycleGAN networks: two generators and two discriminators, each pair called once per step."""
from __future__ import annotations

import torch
from torch import nn

from ..nets import GeneratorConfig, PatchDiscriminator, build_generator, init_weights


class CycleGenerators(nn.Module):
    """Both generators, so one forward call per step computes every image the generator loss needs.

    Each generator runs once on A and B together (instance norm is per image, so this equals
    separate calls, and a batch of two uses a CPU or GPU better than two batches of one).
    """

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module) -> None:
        super().__init__()
        self.g_ab, self.g_ba = g_ab, g_ba

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor, identity: bool) -> tuple[torch.Tensor, ...]:
        n = len(real_a)
        if identity and real_a.shape == real_b.shape:
            fake_b, idt_b = self.g_ab(torch.cat([real_a, real_b])).split(n)
            fake_a, idt_a = self.g_ba(torch.cat([real_b, real_a])).split(n)
        else:
            fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
            idt_b = self.g_ab(real_b) if identity else None
            idt_a = self.g_ba(real_a) if identity else None
        return fake_b, self.g_ba(fake_b), fake_a, self.g_ab(fake_a), idt_a, idt_b


class CycleDiscriminators(nn.Module):
    """Both discriminators, each scoring its domain's real and pooled fake images in one call."""

    def __init__(self, d_a: nn.Module, d_b: nn.Module) -> None:
        super().__init__()
        self.d_a, self.d_b = d_a, d_b

    def forward(self, real_a, fake_a, real_b, fake_b) -> tuple[torch.Tensor, ...]:
        return (*score_real_and_fake(self.d_a, real_a, fake_a), *score_real_and_fake(self.d_b, real_b, fake_b))


def score_real_and_fake(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``d``'s scores of ``real`` and ``fake``, in one call when their shapes allow."""
    if real.shape == fake.shape:
        return d(torch.cat([real, fake])).split(len(real))
    return d(real), d(fake)


def build_cycle_networks(gen_config: GeneratorConfig, ndf: int, n_layers_d: int,
                         device: torch.device) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """Freshly initialised G_AtoB, G_BtoA, D_A and D_B on ``device``, in this order (the RNG draws depend on it).

    NCHW everywhere: channels_last measured slower on CPUs and on an H200 (instance norm and reflection
    padding dominate these networks; benchmarks/RESULTS.md), and resumed Adam moments load contiguous too.
    """
    g_ab, g_ba = build_generator(gen_config), build_generator(gen_config)
    d_a = init_weights(PatchDiscriminator(gen_config.out_channels, ndf, n_layers_d))
    d_b = init_weights(PatchDiscriminator(gen_config.in_channels, ndf, n_layers_d))
    return tuple(net.to(device) for net in (g_ab, g_ba, d_a, d_b))


def generator_parameter_groups(generators: tuple[nn.Module, ...], lr: float, colour_map_lr: float) -> list[dict]:
    """The generators' parameters; the colour maps in a group of their own when --colour-map-lr is set.

    One group otherwise, as before the option existed, so that saved optimiser states still resume."""
    if not (generators[0].config.colour_map and colour_map_lr != 1.0):
        return [{"params": [p for g in generators for p in g.parameters()]}]
    colour = [p for g in generators for p in g.colour_map.parameters()]
    rest = [p for g in generators for n, p in g.named_parameters() if not n.startswith("colour_map.")]
    colour_group = {"params": colour, "lr": lr * colour_map_lr, "lr_scale": colour_map_lr}
    return [{"params": rest}, colour_group] if rest else [colour_group]  # the filter is its colour map only


def wrap_for_speed_and_ranks(generators: nn.Module, discriminators: nn.Module, compile: bool, dist,
                             device: torch.device) -> tuple[nn.Module, nn.Module]:
    """Both pairs compiled (``--compile``) and wrapped in DistributedDataParallel under torchrun."""
    if compile:
        generators, discriminators = torch.compile(generators), torch.compile(discriminators)
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        generators, discriminators = DDP(generators, device_ids=ids), DDP(discriminators, device_ids=ids)
    return generators, discriminators
