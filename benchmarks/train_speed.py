"""Seconds per training iteration: cgan's trainer against a plain fp32 eager textbook CycleGAN step.

Both train the same networks on the same batches (data loading excluded from both: the
trainer overlaps it in worker processes). The two are run in alternating blocks and the
median of each is reported with their ratio, because this machine is shared and noisy.

    python -m benchmarks.train_speed                      # both configs of RESULTS.md
    python -m benchmarks.train_speed --configs small --blocks 5 --block-iters 10
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cgan.nets import PatchDiscriminator, build_generator, preset_config
from cgan.sampledata import build_unpaired_dataset
from cgan.train import TrainConfig, Trainer
from cgan.train.pool import ImagePool

CONFIGS = {
    "small": dict(preset="resnet6", ngf=32, size=64),  # the fast-start configuration
    "paper": dict(preset="resnet9", ngf=64, size=256),  # the CycleGAN paper's 256x256 configuration
}


class TextbookStep:
    """The reference CycleGAN optimisation step, written plainly: fp32, eager, NCHW, PyTorch's default Adam
    (a for-loop on CPUs, foreach on GPUs), separate forward calls for each image, each discriminator
    backward on its own."""

    def __init__(self, preset: str, ngf: int, seed: int = 0, device: str = "cpu") -> None:
        torch.manual_seed(seed)
        config = preset_config(preset, ngf=ngf)
        self.device = torch.device(device)
        self.g_a, self.g_b = build_generator(config).to(device), build_generator(config).to(device)
        self.d_a, self.d_b = PatchDiscriminator().to(device), PatchDiscriminator().to(device)
        self.opt_g = torch.optim.Adam([*self.g_a.parameters(), *self.g_b.parameters()], 2e-4, (0.5, 0.999))
        self.opt_d = torch.optim.Adam([*self.d_a.parameters(), *self.d_b.parameters()], 2e-4, (0.5, 0.999))
        self.pool_a, self.pool_b = ImagePool(50), ImagePool(50)

    def __call__(self, real_a: torch.Tensor, real_b: torch.Tensor) -> None:
        real_a, real_b = real_a.to(self.device), real_b.to(self.device)
        fake_b = self.g_a(real_a)
        rec_a = self.g_b(fake_b)
        fake_a = self.g_b(real_b)
        rec_b = self.g_a(fake_a)
        for p in [*self.d_a.parameters(), *self.d_b.parameters()]:
            p.requires_grad_(False)
        self.opt_g.zero_grad()
        idt_a = self.g_a(real_b)
        idt_b = self.g_b(real_a)
        pred_b, pred_a = self.d_a(fake_b), self.d_b(fake_a)
        loss_g = (F.mse_loss(pred_b, torch.ones_like(pred_b)) + F.mse_loss(pred_a, torch.ones_like(pred_a))
                  + 10 * F.l1_loss(rec_a, real_a) + 10 * F.l1_loss(rec_b, real_b)
                  + 5 * F.l1_loss(idt_a, real_b) + 5 * F.l1_loss(idt_b, real_a))
        loss_g.backward()
        self.opt_g.step()
        for p in [*self.d_a.parameters(), *self.d_b.parameters()]:
            p.requires_grad_(True)
        self.opt_d.zero_grad()
        for d, real, fake in ((self.d_a, real_b, self.pool_b.query(fake_b)), (self.d_b, real_a, self.pool_a.query(fake_a))):
            pred_real, pred_fake = d(real), d(fake.detach())
            loss_d = 0.5 * (F.mse_loss(pred_real, torch.ones_like(pred_real)) + F.mse_loss(pred_fake, torch.zeros_like(pred_fake)))
            loss_d.backward()
        self.opt_d.step()


def time_block(step, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Median seconds per iteration over one block (GPU work finished inside each iteration's time)."""
    cuda = torch.cuda.is_available()
    times = []
    for a, b in batches:
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        step(a, b)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, batch: int, blocks: int, block_iters: int, data: Path, amp: bool, device: str = "cpu",
            channels_last: bool = False) -> dict:
    spec = CONFIGS[name]
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(TrainConfig(data=str(data), out=str(Path(run) / "r"), batch=batch, workers=0, amp=amp,
                                      ndf=64, device=device, **spec))
        # The trainer runs NCHW; channels_last=True converts its networks and batches, to compare the two.
        layout = torch.channels_last if channels_last else torch.contiguous_format
        for net in (trainer.g_ab, trainer.g_ba, trainer.d_a, trainer.d_b):
            net.to(memory_format=layout)
        textbook = TextbookStep(spec["preset"], spec["ngf"], device=device)
        loader = iter(trainer.loader)
        batches = [(item["A"].contiguous(memory_format=layout), item["B"].contiguous(memory_format=layout))
                   for item, _ in zip(loader, range(block_iters))]
        ours: list[float] = []
        plain: list[float] = []
        time_block(trainer.train_step, batches[:2])  # warm-up: allocator, oneDNN kernel choice
        time_block(textbook, batches[:2])
        for _ in range(blocks):  # alternate so that machine noise hits both alike
            plain.append(time_block(textbook, batches))
            ours.append(time_block(trainer.train_step, batches))
        trainer.log.close()
    precision = str(trainer.autocast["dtype"]).removeprefix("torch.") if trainer.autocast["enabled"] else "fp32"
    result = {"config": name, **spec, "batch": batch, "device": device, "layout": "NHWC" if channels_last else "NCHW", "cgan_precision": precision,
              "textbook_s_per_iter": statistics.median(plain), "cgan_s_per_iter": statistics.median(ours),
              "textbook_spread": [min(plain), max(plain)], "cgan_spread": [min(ours), max(ours)]}
    result["speedup"] = result["textbook_s_per_iter"] / result["cgan_s_per_iter"]
    return result


def loss_agreement(data: Path, png: Path, iterations: int = 300) -> dict:
    """Train the small config twice from the same seed, cgan's bf16 default against fp32, and compare the
    logged losses; draws both curves into ``png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    with tempfile.TemporaryDirectory() as run:
        for amp in (False, True):
            config = TrainConfig(data=str(data), out=str(Path(run) / f"amp{amp}"), workers=0, amp=amp,
                                 max_iters=iterations, log_every=10, **CONFIGS["small"])
            trainer = Trainer(config)
            trainer.fit()
            lines = (trainer.run_dir / "metrics.jsonl").read_text().splitlines()
            curves[amp] = [r for r in map(json.loads, lines) if r["type"] == "train"]
    names = ("G_gan_B", "cycle_A", "idt_A", "D_B")
    fig, axes = plt.subplots(1, len(names), figsize=(16, 3.2))
    summary = {}
    for ax, name in zip(axes, names):
        for amp, style in ((False, "-"), (True, "--")):
            ax.plot([r["iteration"] for r in curves[amp]], [r[name] for r in curves[amp]], style,
                    label="bf16 autocast (cgan)" if amp else "fp32")
        a = np.array([r[name] for r in curves[False]])
        b = np.array([r[name] for r in curves[True]])
        summary[name] = {"fp32_last_100": float(a[-10:].mean()), "bf16_last_100": float(b[-10:].mean())}
        ax.set_title(name)
        ax.set_xlabel("iteration")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="small,paper")
    parser.add_argument("--batch", default="1", help="comma-separated batch sizes")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--block-iters", type=int, default=6)
    parser.add_argument("--no-amp", action="store_true", help="measure cgan in fp32 too")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = build_unpaired_dataset(Path(tmp) / "data", n_train=40, n_test=8, size=288)
        for name in args.configs.split(","):
            for batch in map(int, args.batch.split(",")):
                result = measure(name, batch, args.blocks, args.block_iters, data, amp=not args.no_amp,
                                 device=args.device)
                results.append(result)
                print(f"{name:>6} {result['preset']} ngf {result['ngf']} {result['size']}x{result['size']} batch {batch}: "
                      f"textbook fp32 {result['textbook_s_per_iter']:.3f} s/it, cgan {result['cgan_precision']} "
                      f"{result['cgan_s_per_iter']:.3f} s/it, speed-up {result['speedup']:.2f}x", flush=True)
    machine = {"python": sys.version.split()[0], "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
               "threads": torch.get_num_threads()}
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
