"""The CycleGAN training loop: AMP, DDP, schedule, validation, early stopping, checkpoints and resume.

Read ``Trainer.fit`` top to bottom: epochs of ``train_step``s, a validation at each epoch end,
and checkpoints that are always written atomically so a kill at any instant leaves a run
that ``--resume`` continues exactly.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from ..devices import autocast_settings, device_kind, pick_device
from ..errors import CganError, first_line
from ..fileio import FileLock, atomic_write_text, numbered_path, safe_component
from ..modelfile import new_meta, save_model
from ..nets import preset_config
from . import distributed
from .config import TrainConfig, parse_duration
from .callbacks import Callback, TrainResult
from .cyclegan import (CycleDiscriminators, CycleGenerators, build_cycle_networks, generator_parameter_groups,
                       wrap_for_speed_and_ranks)
from .data import find_data, load_views, training_loader
from .ema import WeightAverage
from .evaluate import validate
from ..interrupt import INTERRUPTED, stop_on_interrupt
from .losses import LOSS_NAMES, discriminator_loss, generator_loss
from .pool import ImagePool
from .progress import RunProgress
from .report import RunLog, plot_losses, sample_grid, write_png
from .state import load_state, save_state

log = logging.getLogger(__name__)
GRID_IMAGES = 8


class Trainer:
    """Trains two generators and two discriminators on unpaired folders; see ``TrainConfig``.

    The loop, logging, schedule, validation bookkeeping, checkpoints and resume are shared with
    ``cgan distill`` (``Distiller``), which overrides what differs: the data, the networks, ``_step``,
    ``_evaluate``, what is saved and the resume state.
    """

    loss_names = LOSS_NAMES  # what _step returns, in order
    shown_losses = ("G_gan_B", "cycle_A", "D_B")  # on the progress bar

    def __init__(self, config: TrainConfig, callbacks: list[Callback] | tuple = (), resume: str | None = None) -> None:
        self.config = config
        self.callbacks = list(callbacks)
        self._run_lock: FileLock | None = None
        self._setup_device()
        self.name_a, self.name_b = self._domain_names()
        torch.manual_seed(config.seed)
        self._setup_data()  # every problem with the data is reported before any work starts
        self._setup_networks()
        self._setup_progress()
        try:
            self.run_dir = self._resume(Path(resume)) if resume else self._new_run_dir()
            self._wrap_for_speed_and_ranks()
            self.log = RunLog(self.run_dir, self.iteration if resume else None) if self.dist.main else None
        except BaseException:
            if self._run_lock is not None:  # no fit will release it
                self._run_lock.release()
            raise

    # ----------------------------------------------------------------------------------------- setup
    def _domain_names(self) -> tuple[str, str]:
        return self.config.domain_names

    def _setup_device(self) -> None:
        """This process's rank and device, and the mixed precision that device supports."""
        self.dist = distributed.setup(device_kind(self.config.device))
        self.device = pick_device(self.config.device, self.dist.local_rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.autocast, scaling = autocast_settings(self.device, self.config.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=scaling)

    def _setup_data(self) -> None:
        """The training split and its loader, and the fixed validation views."""
        config = self.config
        self.split = find_data(config)
        self.gen_config = preset_config(config.preset, ngf=config.ngf, identity_start=config.identity_start,
                                        upsample=config.upsample, colour_map=config.colour_map,
                                        edge_map=config.edge_map)
        self.loader, self.sampler = training_loader(self.split, config, self.gen_config.size_multiple, self.dist,
                                                    pin_memory=self.device.type == "cuda")
        self.val_a, self.truth_a = load_views(self.split.val_a, config.resolved_val_size, self.split.truth_a)
        self.val_b, _ = load_views(self.split.val_b, config.resolved_val_size)

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

    def _setup_progress(self) -> None:
        """Where the run stands: a new run starts here, a resumed one overwrites it from its state."""
        self.iteration, self.epoch, self.batch_in_epoch, self.elapsed = 0, 0, 0, 0.0
        self.best: dict | None = None
        self.bad_validations = 0
        self.stop_reason = ""
        self._loss_sum, self._loss_count, self._skipped, self._skipped_total = None, 0, 0, 0
        self._last_validated = -1

    def _lock_run(self, run: Path) -> None:
        """Hold ``run`` for this process alone until ``fit`` ends: a second training (or resume) into the same
        folder is refused instead of mixing its files with this one's."""
        if self.dist.main and run.is_dir():
            self._run_lock = FileLock(run / RUN_LOCK, f"the run folder {run}")

    def _resume(self, run_dir: Path) -> Path:
        """Restore everything from ``run_dir``'s state; returns ``run_dir``."""
        self._lock_run(run_dir)
        state = load_state(run_dir / "state.safetensors")
        try:
            self._load_state(state)
        except (RuntimeError, KeyError, ValueError) as e:  # torch's shape and key mismatches, the optimisers' groups
            raise CganError(f"{run_dir}: the saved state does not fit the networks its config.yaml describes "
                            f"({first_line(e)[:120]}): config.yaml was changed after the run began; restore it, or "
                            f"start a new run") from None
        if self.dist.main:  # a kill during a write can leave its temporary file behind
            for stale in run_dir.rglob(".*.tmp"):
                stale.unlink(missing_ok=True)
        return run_dir

    def _default_run_name(self) -> str:
        # Domain names can come from a teacher's metadata (cgan distill): one path component, whatever they say.
        return safe_component(f"{self.name_a}2{self.name_b}", "run")

    def _new_run_dir(self) -> Path:
        path = ""
        if self.dist.main:
            if self.config.out:
                run = Path(self.config.out)
                if run.exists() and not run.is_dir():
                    raise CganError(f"--out {run} is a file: give a folder for the run")
                run.mkdir(parents=True, exist_ok=True)
                self._lock_run(run)
                if any(p.name != RUN_LOCK for p in run.iterdir()):
                    if not never_saved(run):
                        raise CganError(f"{run} already holds files: continue it with --resume {run}, or pick "
                                        f"another --out")
                    log.warning(f"note: {run} holds a run that stopped before its first checkpoint: starting it again")
                    clear_run(run)
            else:
                run = self._claim_numbered_run(Path("runs") / self._default_run_name())
            (run / "samples").mkdir(parents=True, exist_ok=True)
            resolved = {"out": str(run), "name_a": self.name_a, "name_b": self.name_b}  # what the defaults became
            config = {**self.config.to_dict(), **{k: v for k, v in resolved.items() if hasattr(self.config, k)}}
            atomic_write_text(run / "config.yaml", yaml.safe_dump(config, sort_keys=False))
            path = str(run)
        return Path(distributed.share_from_main(path, self.dist))

    def _claim_numbered_run(self, wanted: Path) -> Path:
        """The first of ``wanted``, ``wanted-2``, ... that this process creates itself (two runs started at once
        get different folders) and holds."""
        while True:
            run = numbered_path(wanted)
            try:
                run.mkdir(parents=True)
            except FileExistsError:  # another run made it since numbered_path looked
                continue
            self._lock_run(run)
            return run

    # ------------------------------------------------------------------------------------------ loop
    def fit(self) -> TrainResult:
        """Train until the epochs, --max-iters or --max-time run out, early stopping, Ctrl-C or a NaN."""
        config = self.config
        started = time.monotonic() - self.elapsed
        max_time = parse_duration(config.max_time)
        progress = None
        if self.dist.main:
            for note in self.split.notes:
                log.warning(f"note: {note}")
            self._print_start()
        try:
            self._refuse_spent_bounds(max_time)  # (inside: the run folder's lock is released below)
            progress = self._run_progress(max_time)
            with stop_on_interrupt(self._on_interrupt):
                while not self.stop_reason:
                    if self.epoch >= config.total_epochs:
                        self.stop_reason = f"finished {config.total_epochs} epochs"
                        break
                    self._set_learning_rate()
                    completed = self._run_epoch(started, max_time, progress)
                    if completed:
                        self.epoch += 1
                        self.batch_in_epoch = 0
                        self._validate_and_checkpoint(f"epoch_{self.epoch:04d}")
                        for cb in self.callbacks:
                            cb.on_epoch_end(self)
                if self._last_validated != self.iteration:
                    self._validate_and_checkpoint(f"iter_{self.iteration:07d}")
        finally:
            if progress is not None:
                progress.close()
            if self.log:
                self.log.close()
            distributed.teardown(self.dist)
            if self._run_lock is not None:
                self._run_lock.release()
        if self.dist.main:
            log.info(f"stopped: {self.stop_reason}; {self.iteration} iterations, run directory {self.run_dir}")
        return TrainResult(self.run_dir, self.iteration, self.epoch, self.stop_reason, self.best)

    def _refuse_spent_bounds(self, max_time: float | None) -> None:
        """A resumed run whose --max-time or --max-iters (counted over the whole run) is already spent would stop
        after one step: say so, and how to give it more."""
        config = self.config
        if max_time is not None and self.elapsed >= max_time:
            raise CganError(f"this run has trained for {self.elapsed / 60:.1f} minutes, its --max-time "
                            f"{config.max_time} (counted over the whole run, resumes included): give a later bound "
                            f"to continue, e.g. --max-time {math.ceil(self.elapsed / 60) * 2}m")
        if config.max_iters is not None and self.iteration >= config.max_iters:
            raise CganError(f"this run has trained {self.iteration} iterations, its --max-iters {config.max_iters} "
                            f"(counted over the whole run): give a higher one to continue, e.g. --max-iters "
                            f"{self.iteration * 2}")

    def _run_progress(self, max_time: float | None) -> RunProgress:
        """The bar of the whole run: steps out of --max-iters or the epochs, or out of what fits in --max-time."""
        config = self.config
        steps_per_epoch = math.ceil(self.sampler.epoch_length / config.batch)
        step_bound = config.total_epochs * steps_per_epoch
        if config.max_iters is not None:
            step_bound = min(step_bound, config.max_iters)
        return RunProgress(iteration=self.iteration, elapsed=self.elapsed, step_bound=step_bound, time_bound=max_time,
                           enabled=self.dist.main)

    def _run_epoch(self, started: float, max_time: float | None, progress: RunProgress) -> bool:
        """Train through the rest of this epoch; False if stopped before its end."""
        config = self.config
        self.sampler.set_epoch(self.epoch, start=self.batch_in_epoch * config.batch)
        progress.set_epoch(self.epoch + 1, config.total_epochs)
        for batch in self.loader:
            self._accumulate(self._step(batch), int(batch["skipped"].sum()))
            self.iteration += 1
            self.batch_in_epoch += 1
            self.elapsed = time.monotonic() - started
            progress.advance(self.iteration, self.elapsed)
            reached_time = max_time is not None and self.elapsed >= max_time
            reached_iters = config.max_iters is not None and self.iteration >= config.max_iters
            saving = config.save_every and self.iteration % config.save_every == 0
            losses = None
            if self.iteration % config.log_every == 0 or reached_time or reached_iters or saving or self.stop_reason:
                losses = self._log_losses(progress)
            for cb in self.callbacks:
                cb.on_step_end(self, losses)
            if reached_iters:
                self.stop_reason = self.stop_reason or f"reached --max-iters {config.max_iters}"
            if reached_time:
                self.stop_reason = self.stop_reason or f"reached --max-time {config.max_time}"
            if distributed.any_rank(bool(self.stop_reason), self.dist):
                self.stop_reason = self.stop_reason or "stopped by another rank"
                break
            if saving:
                self._save_checkpoint()
        return not self.stop_reason

    def _step(self, batch: dict) -> torch.Tensor:
        """One optimisation step on a loader batch; returns the losses (``loss_names``) as one tensor."""
        return self.train_step(batch["A"], batch["B"])

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

    # ------------------------------------------------------------------------------ logging, stopping
    def _accumulate(self, losses: torch.Tensor, skipped: int) -> None:
        # Summed on the device and read only when logged: reading every step would stall a GPU.
        self._loss_sum = losses if self._loss_sum is None else self._loss_sum + losses
        self._loss_count += 1
        self._skipped += skipped

    def _log_losses(self, progress: RunProgress | None) -> dict | None:
        """Average the losses since the last call, stop on NaN, and log them; ``progress`` shows a few."""
        if self._loss_sum is None:
            return None
        values = (self._loss_sum / self._loss_count).tolist()
        self._loss_sum, self._loss_count = None, 0
        losses = dict(zip(self.loss_names, values))
        if not all(math.isfinite(v) for v in values):
            bad = ", ".join(k for k, v in losses.items() if not math.isfinite(v))
            raise CganError(f"loss became NaN or infinite ({bad}) by iteration {self.iteration}: the last good "
                            f"checkpoint in {self.run_dir} is kept; resume it with a lower --lr, or with --no-amp")
        losses["lr"] = self.optimizers[0].param_groups[0]["lr"]
        if self.dist.main:
            if progress is not None:
                progress.show_losses({k: v for k, v in losses.items() if k in self.shown_losses})
            self.log.log("train", self.iteration, self.epoch, losses)
        if self._skipped and self.dist.main:
            self._skipped_total += self._skipped
            log.warning(f"note: {self._skipped} more unreadable image reads by iteration {self.iteration} "
                          f"({self._skipped_total} in all; each replaced by the next readable file)")
            self._skipped = 0
        return losses

    def _set_learning_rate(self) -> None:
        """Constant for --epochs, then linear decay to zero over --epochs-decay (the reference schedule)."""
        config = self.config
        factor = 1.0 - max(0, self.epoch + 1 - config.epochs) / (config.epochs_decay + 1)
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = config.lr * group.get("lr_scale", 1.0) * factor

    def _on_interrupt(self, signal_name: str) -> bool:
        """The first Ctrl-C or SIGTERM finishes the current step, saves and exits; True (abort) for a second one."""
        if self.stop_reason.startswith(INTERRUPTED):
            return True
        self.stop_reason = f"{INTERRUPTED} ({signal_name})"
        if self.dist.main:
            log.warning(f"{signal_name}: saving after this step (send it again to abort without saving)")
        return False

    def _print_start(self) -> None:
        c, s = self.config, self.split
        precision = str(self.autocast["dtype"]).removeprefix("torch.") if self.autocast["enabled"] else "fp32"
        log.info(f"training {self.name_a} ({len(s.train_a)} images) <-> {self.name_b} ({len(s.train_b)} images), "
                 f"validating on {len(self.val_a)} + {len(self.val_b)}")
        network = c.preset if self.gen_config.arch == "filter" else f"{c.preset} ngf {self.gen_config.ngf}"  # no widths
        log.info(f"{network}, {c.size}x{c.size} crops, batch {c.batch}, {self.device}{self._threads_text()}, "
                 f"{precision}{f', {self.dist.world} processes' if self.dist.enabled else ''} -> {self.run_dir}")

    def _threads_text(self) -> str:
        """How a CPU run uses its cores, as chosen before PyTorch loaded (cgan.threads)."""
        if self.device.type != "cpu":
            return ""
        policy = os.environ.get("OMP_WAIT_POLICY", "").lower()
        waits = {"passive": "idle threads sleep: other programs keep their share",
                 "active": "idle threads spin"}.get(policy, "idle threads spin, then sleep (OpenMP's default)")
        return f" ({torch.get_num_threads()} threads; {waits})"

    # ---------------------------------------------------------------------- validation, checkpoints
    def _validate_and_checkpoint(self, tag: str) -> None:
        self._log_losses(None)  # what is pending, so that a NaN is caught before anything is saved
        if self.dist.main:
            metrics, grid = self._evaluate()
            self._record_validation(metrics, grid, tag)
        self._last_validated = self.iteration
        self._save_checkpoint()
        if self.config.patience and distributed.any_rank(self.bad_validations >= self.config.patience, self.dist):
            self.stop_reason = self.stop_reason or (f"early stop: {self.config.monitor_metric} did not improve in "
                                                    f"{self.config.patience} validations")

    def validation_metrics(self) -> dict:
        """The validation metrics of the generators kept, now (as at each validation, without saving)."""
        return self._evaluate()[0]

    def _evaluate(self) -> tuple[dict, np.ndarray]:
        """The validation metrics and the sample grid (RGB uint8) of the generators kept."""
        metrics, images = validate(*self.kept_generators, self.val_a, self.val_b, self.truth_a, self.device,
                                   self.autocast, batch=max(1, self.config.batch))
        n = GRID_IMAGES
        grid = sample_grid(self.name_a, self.name_b, self.val_a[:n], images["fake_b"][:n], images["rec_a"][:n],
                           self.val_b[:n], images["fake_a"][:n], images["rec_b"][:n])
        return metrics, grid

    def _record_validation(self, metrics: dict, grid: np.ndarray, tag: str) -> None:
        write_png(self.run_dir / "samples" / f"{tag}.png", grid)
        self.log.add_image("samples", grid, self.iteration)
        self.log.log("val", self.iteration, self.epoch, metrics)
        plot_losses(self.log.records, self.run_dir / "loss_curves.png", self.config.monitor_metric)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()
                          if "_" not in k or k.endswith("_l1") or k.endswith("_psnr") or k == "psnr_gain")
        log.info(f"validation at iteration {self.iteration} (epoch {self.epoch}): {shown}")
        name = self.config.monitor_metric
        better = max if self.config.monitors[name] == "max" else min
        if self.best is None or better(metrics[name], self.best[name]) != self.best[name]:
            self.best = {"iteration": self.iteration, "epoch": self.epoch, **metrics}
            self.bad_validations = 0
            self._save_generators(self.run_dir / "best")
            atomic_write_text(self.run_dir / "best" / "metrics.json", json.dumps(self.best, indent=2))
        else:
            self.bad_validations += 1
        for cb in self.callbacks:
            cb.on_validation(self, metrics)

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
        for net, direction, source, target in ((kept_ab, "AtoB", self.name_a, self.name_b),
                                               (kept_ba, "BtoA", self.name_b, self.name_a)):
            meta = new_meta(self.gen_config, self.config.preset, source, target, direction, **provenance)
            save_model(net, folder / f"G_{direction}.safetensors", meta)

    def _save_checkpoint(self) -> None:
        """The model files, then the resume state; rank 0 only, every write atomic."""
        if self.dist.main:
            self._save_generators(self.run_dir)
            save_state(self.run_dir / "state.safetensors", self._state())
        distributed.barrier(self.dist)

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

    def _progress_state(self) -> dict:
        """Where the run stands, the gradient scaler and the RNG: what every training run's state holds."""
        return {"iteration": self.iteration, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "elapsed": self.elapsed, "best": self.best, "bad_validations": self.bad_validations,
                "scaler": self.scaler.state_dict(), "torch_rng": torch.get_rng_state()}

    def _load_progress(self, state: dict) -> None:
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        self.iteration, self.epoch = state["iteration"], state["epoch"]
        self.batch_in_epoch, self.elapsed = state["batch_in_epoch"], state["elapsed"]
        self.best, self.bad_validations = state["best"], state["bad_validations"]
        self._last_validated = self.iteration


# What a run writes before its first checkpoint: a folder holding only these can be started again.
UNSAVED_RUN_ENTRIES = {"config.yaml", "metrics.jsonl", "tb", "samples", "loss_curves.png"}
RUN_LOCK = ".lock"  # held by the process training into the folder (Trainer._lock_run)


def never_saved(run: Path) -> bool:
    """Whether ``run`` is a run directory that stopped before its first checkpoint (nothing to resume)."""
    names = {p.name for p in run.iterdir()} - {RUN_LOCK}
    return "config.yaml" in names and names <= UNSAVED_RUN_ENTRIES


def clear_run(run: Path) -> None:
    """Remove what a run that never saved wrote (only cgan's own entries: ``never_saved`` checked them)."""
    import shutil

    for name in UNSAVED_RUN_ENTRIES:
        path = run / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
