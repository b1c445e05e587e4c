"""The training loop every objective shares: the run folder and its lock, resume, the epochs of steps with one progress
bar, loss logging and NaN stops, the learning-rate schedule, Ctrl-C and SIGTERM, validation bookkeeping (best
model, early stopping) and atomic checkpoints that a kill at any instant leaves resumable.

Read ``TrainingLoop.fit`` top to bottom. An objective (CycleGAN in trainer.py, CUT/FastCUT/GAN in contrastive.py,
distillation in distillation.py) subclasses it and says which networks it trains and how a step computes its
losses: the abstract methods below.
"""
from __future__ import annotations

import abc
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from ..devices import autocast_settings, device_kind, pick_device
from ..errors import CganError, first_line
from ..fileio import FileLock, atomic_write_text, safe_component
from ..interrupt import INTERRUPTED, stop_on_interrupt
from ..threads import describe_thread_use
from . import distributed
from .bounds import refuse_spent_bounds, step_bound
from .callbacks import Callback, TrainResult
from .config import RunConfig
from .durations import parse_duration
from .loss_average import LossAverage
from .data import find_data, load_views, training_loader
from .progress import RunProgress
from .report import RunLog, plot_losses, write_png
from .run_folder import claim_run_folder, lock_run
from .state import load_state, save_state
from ..nets import preset_config

log = logging.getLogger(__name__)


class TrainingLoop(abc.ABC):
    """Trains an objective's networks on unpaired folders until its bounds, and keeps the run resumable.

    An objective sets ``loss_names`` (what a step returns, in order) and ``shown_losses`` (on the progress bar),
    defines ``train_step(real_a, real_b)`` (one step; or overrides ``_step``), and implements the abstract methods:
    its networks, how they are wrapped for speed and ranks, its optimisers, its validation, what it saves and its
    resume state. ``_setup_data`` and ``_print_start`` may be overridden where the data differ (``cgan distill``).
    """

    loss_names: tuple[str, ...]
    shown_losses: tuple[str, ...]

    def __init__(self, config: RunConfig, callbacks: list[Callback] | tuple = (), resume: str | None = None) -> None:
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

    def _setup_progress(self) -> None:
        """Where the run stands: a new run starts here, a resumed one overwrites it from its state."""
        self.iteration, self.epoch, self.batch_in_epoch, self.elapsed = 0, 0, 0, 0.0
        self.best: dict | None = None
        self.bad_validations = 0
        self.stop_reason = ""
        self._losses = LossAverage(self.loss_names)
        self._skipped_total = 0
        self._last_validated = -1

    def _lock_run(self, run: Path) -> None:
        """Hold ``run`` for this process alone until ``fit`` ends (rank 0; run_folder.py)."""
        if self.dist.main and run.is_dir():
            self._run_lock = lock_run(run)

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
        """The run folder of a new run (rank 0 claims it, the others are told), with the settings it runs with."""
        path = ""
        if self.dist.main:
            run, self._run_lock = claim_run_folder(self.config.out, Path("runs") / self._default_run_name())
            resolved = {"out": str(run), "name_a": self.name_a, "name_b": self.name_b}  # what the defaults became
            config = {**self.config.to_dict(), **{k: v for k, v in resolved.items() if hasattr(self.config, k)}}
            atomic_write_text(run / "config.yaml", yaml.safe_dump(config, sort_keys=False))
            path = str(run)
        return Path(distributed.share_from_main(path, self.dist))

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
            # (inside the try: the run folder's lock is released below)
            refuse_spent_bounds(config, elapsed=self.elapsed, iteration=self.iteration, max_time=max_time)
            progress = self._run_progress(max_time)
            with stop_on_interrupt(self._on_interrupt):
                while not self.stop_reason:
                    if self.epoch >= config.total_epochs:
                        self.stop_reason = f"finished {config.total_epochs} epochs"
                        break
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

    def _run_progress(self, max_time: float | None) -> RunProgress:
        """The bar of the whole run: steps out of --max-iters or the epochs, or out of what fits in --max-time."""
        return RunProgress(iteration=self.iteration, elapsed=self.elapsed, time_bound=max_time, enabled=self.dist.main,
                           step_bound=step_bound(self.config, epoch_length=self.sampler.epoch_length))

    def _run_epoch(self, started: float, max_time: float | None, progress: RunProgress) -> bool:
        """Train through the rest of this epoch; False if stopped before its end."""
        config = self.config
        self.sampler.set_epoch(self.epoch, start=self.batch_in_epoch * config.batch)
        progress.set_epoch(self.epoch + 1, config.total_epochs)
        for batch in self.loader:
            self._set_learning_rate(max_time)
            self._losses.add(self._step(batch), int(batch["skipped"].sum()))
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
        """One optimisation step on a loader batch; returns the losses (``loss_names``) as one tensor. Objectives
        trained on unpaired A and B batches define ``train_step(real_a, real_b)``, which this calls; one whose
        batches differ (``cgan distill``) overrides this instead."""
        return self.train_step(batch["A"], batch["B"])

    def _log_losses(self, progress: RunProgress | None) -> dict | None:
        """Average the losses since the last call, stop on NaN, and log them; ``progress`` shows a few."""
        losses = self._losses.take()
        if losses is None:
            return None
        if not all(math.isfinite(v) for v in losses.values()):
            bad = ", ".join(k for k, v in losses.items() if not math.isfinite(v))
            raise CganError(f"loss became NaN or infinite ({bad}) by iteration {self.iteration}: the last good "
                            f"checkpoint in {self.run_dir} is kept; resume it with a lower --lr, or with --no-amp")
        losses["lr"] = self.optimizers[0].param_groups[0]["lr"]
        if self.dist.main:
            if progress is not None:
                progress.show_losses({k: v for k, v in losses.items() if k in self.shown_losses})
            self.log.log("train", self.iteration, self.epoch, losses)
        if self._losses.skipped and self.dist.main:
            self._skipped_total += self._losses.skipped
            log.warning(f"note: {self._losses.skipped} more unreadable image reads by iteration {self.iteration} "
                        f"({self._skipped_total} in all; each replaced by the next readable file)")
            self._losses.skipped = 0
        return losses

    def _set_learning_rate(self, max_time: float | None) -> None:
        """Constant for --epochs, then linear decay to zero over --epochs-decay (the reference schedule).

        A run that --max-time or --max-iters ends before its epochs would otherwise stop at the full rate, its decay
        never reached: there the same schedule is fitted to the bound (as Ultralytics fits its schedule to ``time``).
        The rate holds for the epochs' share of the run, epochs / (epochs + epochs-decay) of the time or steps, then
        falls linearly to zero at the bound. With --epochs-decay 0 it stays constant.
        """
        config = self.config
        factor = 1.0 - max(0, self.epoch + 1 - config.epochs) / (config.epochs_decay + 1)
        constant_share = config.epochs / config.total_epochs
        if constant_share < 1:
            done = max(self.elapsed / max_time if max_time else 0.0,
                       self.iteration / config.max_iters if config.max_iters else 0.0)
            factor = min(factor, 1.0 - max(0.0, min(done, 1.0) - constant_share) / (1.0 - constant_share))
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
        network = f"{c.preset} ngf {self.gen_config.ngf}" if self.gen_config.traits.widens else c.preset
        threads = f" ({describe_thread_use()})" if self.device.type == "cpu" else ""
        log.info(f"{network}, {c.size}x{c.size} crops, batch {c.batch}, {self.device}{threads}, "
                 f"{precision}{f', {self.dist.world} processes' if self.dist.enabled else ''} -> {self.run_dir}")

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

    def _save_checkpoint(self) -> None:
        """The model files, then the resume state; rank 0 only, every write atomic."""
        if self.dist.main:
            self._save_generators(self.run_dir)
            save_state(self.run_dir / "state.safetensors", self._state())
        distributed.barrier(self.dist)

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

    # ---------------------------------------------------------------- what an objective provides
    @abc.abstractmethod
    def _setup_networks(self) -> None:
        """Build the networks, their optimisers and anything they keep between steps (pools, weight averages)."""

    @abc.abstractmethod
    def _wrap_for_speed_and_ranks(self) -> None:
        """Wrap the networks for torch.compile and DistributedDataParallel, as the objective calls them."""

    @property
    @abc.abstractmethod
    def optimizers(self) -> tuple[torch.optim.Optimizer, ...]:
        """Every optimiser; the schedule sets their learning rates, the first one's is logged."""

    @abc.abstractmethod
    def _evaluate(self) -> tuple[dict, np.ndarray]:
        """The validation metrics and the sample grid (RGB uint8) of the networks kept."""

    @abc.abstractmethod
    def _save_generators(self, folder: Path) -> None:
        """Write the model files of the generators kept into ``folder``."""

    @abc.abstractmethod
    def _state(self) -> dict:
        """Everything a resume needs (``_progress_state()`` and the objective's networks and optimisers)."""

    @abc.abstractmethod
    def _load_state(self, state: dict) -> None:
        """Restore ``_state``'s result (refusing another objective's run), then ``_load_progress``."""
