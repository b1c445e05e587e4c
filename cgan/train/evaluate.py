"""Validation metrics: cycle and identity L1 on held-out images, and PSNR/SSIM against paired truth."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of two NCHW batches in [-1, 1] (peak 1 on the [0, 1] scale)."""
    mse = ((x.float() - y.float()) / 2).square().flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), averaged over channels."""
    x, y = (x.float() + 1) / 2, (y.float() + 1) / 2
    channels = x.shape[1]
    coords = torch.arange(11, dtype=torch.float32) - 5
    g = torch.exp(-coords.square() / (2 * 1.5**2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :]).expand(channels, 1, 11, 11).to(x.device)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x.square()
    var_y = blur(y * y) - mu_y.square()
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)


@torch.no_grad()
def translate_in_batches(net: nn.Module, images: torch.Tensor, batch: int, device: torch.device,
                         autocast: dict) -> torch.Tensor:
    outputs = []
    for start in range(0, len(images), batch):
        chunk = images[start:start + batch].to(device)
        with torch.autocast(**autocast):
            outputs.append(net(chunk).float().cpu())
    return torch.cat(outputs)


@torch.no_grad()
def validate(g_ab: nn.Module, g_ba: nn.Module, val_a: torch.Tensor, val_b: torch.Tensor,
             truth_a: torch.Tensor | None, device: torch.device, autocast: dict, batch: int = 8) -> tuple[dict, dict]:
    """Metrics over the validation set, and the translations (for the sample grids)."""
    was_training = g_ab.training
    g_ab.eval(), g_ba.eval()
    fake_b = translate_in_batches(g_ab, val_a, batch, device, autocast)
    fake_a = translate_in_batches(g_ba, val_b, batch, device, autocast)
    rec_a = translate_in_batches(g_ba, fake_b, batch, device, autocast)
    rec_b = translate_in_batches(g_ab, fake_a, batch, device, autocast)
    idt_a = translate_in_batches(g_ba, val_a, batch, device, autocast)
    idt_b = translate_in_batches(g_ab, val_b, batch, device, autocast)
    g_ab.train(was_training), g_ba.train(was_training)
    metrics = {
        "cycle_l1_A": (rec_a - val_a).abs().mean().item(),
        "cycle_l1_B": (rec_b - val_b).abs().mean().item(),
        "identity_l1_A": (idt_a - val_a).abs().mean().item(),
        "identity_l1_B": (idt_b - val_b).abs().mean().item(),
    }
    metrics["cycle_l1"] = (metrics["cycle_l1_A"] + metrics["cycle_l1_B"]) / 2
    metrics["identity_l1"] = (metrics["identity_l1_A"] + metrics["identity_l1_B"]) / 2
    if truth_a is not None:
        metrics["psnr"] = psnr(fake_b, truth_a).mean().item()
        metrics["ssim"] = ssim(fake_b, truth_a).mean().item()
        metrics["psnr_do_nothing"] = psnr(val_a, truth_a).mean().item()
        metrics["psnr_gain"] = metrics["psnr"] - metrics["psnr_do_nothing"]
    return metrics, {"fake_b": fake_b, "rec_a": rec_a, "fake_a": fake_a, "rec_b": rec_b}
