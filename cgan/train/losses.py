"""Adversarial losses: LSGAN (the CycleGAN default), vanilla (BCE, as the TensorFlow tutorial) and hinge."""
from __future__ import annotations

import torch
import torch.nn.functional as F

# The losses a CycleGAN step returns, in this order: logged, plotted and shown under these names.
LOSS_NAMES = ("G_gan_A", "G_gan_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B")


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The loss of a discriminator's scores on real and fake images, halved as in the reference."""
    real, fake = real.float(), fake.float()
    if kind == "lsgan":
        loss = F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake))
    elif kind == "vanilla":
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    elif kind == "hinge":
        loss = F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    else:
        raise ValueError(f"unknown GAN loss {kind!r}")
    return 0.5 * loss


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss: its fakes should be scored as real."""
    fake = fake.float()
    if kind == "lsgan":
        return F.mse_loss(fake, torch.ones_like(fake))
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind == "hinge":
        return -fake.mean()
    raise ValueError(f"unknown GAN loss {kind!r}")
