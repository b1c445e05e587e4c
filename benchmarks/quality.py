"""The quality task with a known answer: how good is a generator after N minutes of CPU training?

Domain A: random crops of real photos shipped with scikit-image and matplotlib. Domain B: other
crops through a fixed filter T (``colour-grade`` or ``stylise``, documented in cgan/sampledata.py).
Held-out photos give pairs (x, T(x)). The A->B generator is scored by PSNR and SSIM of G(x)
against T(x) at given minutes of training, next to the do-nothing score PSNR(x, T(x)).

    python -m benchmarks.quality --minutes 10 --checkpoints 2,5,10
    python -m benchmarks.quality --minutes 10 identity_start=true upsample=resize size=64 lambda_identity=0
    python -m benchmarks.quality --minutes 10 fast=true            # the --fast profile
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch

from cgan.sampledata import build_unpaired_dataset
from cgan.train import Callback, TrainConfig, trainer_for
from cgan.train.config import CONTRASTIVE
from cgan.train.config_files import resolve_config
from cgan.train.fast import FAST_PROFILE
from cgan.train.evaluate import psnr, translate_in_batches


class ScoreAt(Callback):
    """Scores the A->B generator on the held-out pairs when training time (or the iteration count, with
    ``by_iterations``) passes each checkpoint."""

    def __init__(self, checkpoints: list[float], by_iterations: bool = False) -> None:
        self.pending = sorted(checkpoints)
        self.by_iterations = by_iterations
        self.scores: list[dict] = []
        self.scoring_seconds = 0.0

    def on_step_end(self, trainer, losses) -> None:
        if not self.pending:
            return
        minutes = (trainer.elapsed - self.scoring_seconds) / 60
        if (trainer.iteration if self.by_iterations else minutes) >= self.pending[0]:
            checkpoint = self.pending.pop(0)
            self.score(trainer, minutes if self.by_iterations else checkpoint)

    def score(self, trainer, minutes: float) -> None:
        started = time.monotonic()
        metrics = trainer.validation_metrics()
        score = {"minutes": minutes, "iterations": trainer.iteration, "psnr": metrics["psnr"], "ssim": metrics["ssim"],
                 "psnr_do_nothing": metrics["psnr_do_nothing"], "gain_db": metrics["psnr_gain"]}
        if trainer.averages:  # the raw weights too, to show what the average adds
            raw = translate_in_batches(trainer.g_ab, trainer.val_a, 8, trainer.device, trainer.autocast)
            score["gain_db_without_average"] = psnr(raw, trainer.truth_a).mean().item() - metrics["psnr_do_nothing"]
        self.scores.append(score)
        print(f"  {minutes:>5g} min, {trainer.iteration:>6} iterations: PSNR {metrics['psnr']:.2f} dB "
              f"(gain {metrics['psnr_gain']:+.2f} dB over doing nothing), SSIM {metrics['ssim']:.3f}"
              + (f"; without the average {score['gain_db_without_average']:+.2f} dB" if 'gain_db_without_average' in score
                 else ""),
              flush=True)
        self.scoring_seconds += time.monotonic() - started


def run_quality(minutes: float, checkpoints: list[float], task="colour-grade", seed: int = 0,
                keep_model: Path | None = None, by_iterations: bool = False,
                scorer_class: type[ScoreAt] = ScoreAt, **options) -> dict:
    """Train under a wall-clock budget on the task (a name of sampledata.FILTERS or a task family's draw); the
    scores at each checkpoint (minutes).

    ``keep_model`` receives the final A->B generator; ``scorer_class`` (a ScoreAt) may score more."""
    with tempfile.TemporaryDirectory() as tmp:
        data = build_unpaired_dataset(Path(tmp) / "data", n_train=300, n_test=32, size=128, task=task, seed=seed)
        # The task's photos are 128x128 and so is the test: crops are cut from them at that scale.
        # The learning-rate schedule is a user's: --max-time fits the default epochs' shares to the budget, so the
        # rate holds for the first half and falls to zero at the end (results before 2026-12-07 held it constant:
        # epochs_decay=0 in their settings).
        settings = dict(preset="resnet6", ngf=32, ndf=32, load_size=128, val_images=32, val_size=128,
                        log_every=100, epochs=TrainConfig.epochs, epochs_decay=TrainConfig.epochs_decay, seed=seed)
        if options.get("preset") == "filter":  # nothing in it to widen
            settings["ngf"] = None
        if not options.get("fast"):
            settings["size"] = 128  # else the profile's crop size
        settings.update(options)
        # The budget: minutes of training, or with by_iterations the last checkpoint's iteration count.
        budget = {"max_iters": int(max(checkpoints))} if by_iterations else {"max_time": f"{minutes * 60 + 1}s"}
        config = resolve_config({**settings, "data": str(data), "out": str(Path(tmp) / "run"),
                                 "val_truth": str(data / "testA_truth"), **budget})
        # Recorded with the scores: what was set here, and what --fast filled in.
        settings = {k: v for k, v in config.to_dict().items() if k in settings or k in FAST_PROFILE and config.fast}
        if config.objective in CONTRASTIVE:  # the contrasted layers follow from the network when not given
            settings["nce_layers"] = ",".join(map(str, config.nce_layer_list))
        if config.objective == "gan":  # its default has changed: results before 2026-12-07 have 0 and no entry
            settings["lambda_identity_b"] = config.resolved_lambda_identity_b
        scorer = scorer_class(checkpoints if by_iterations else [m for m in checkpoints if m <= minutes],
                              by_iterations)
        trainer = trainer_for(config, [scorer])
        trainer.fit()
        if scorer.pending and not by_iterations:  # the budget ended a hair before the last checkpoint
            scorer.score(trainer, scorer.pending.pop(0))
        if keep_model is not None:
            shutil.copyfile(trainer.run_dir / "G_AtoB.safetensors", keep_model)
    return {"task": getattr(task, "name", task), "minutes": minutes, "seed": seed, "threads": torch.get_num_threads(), "settings": settings,
            "scores": scorer.scores}


def parse_options(items: list[str]) -> dict:
    """TrainConfig values given as name=value: numbers, true/false, lists; anything else is text (objective=fastcut)."""
    options = {}
    for item in items:
        name, value = item.split("=", 1)
        try:
            options[name.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            options[name.replace("-", "_")] = value
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--checkpoints", default="2,5,10", help="minutes (or iterations with --by-iterations)")
    parser.add_argument("--by-iterations", action="store_true",
                        help="checkpoints and budget in iterations: compares settings across machines")
    parser.add_argument("--task", default="colour-grade")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep-model", type=Path, help="where to copy the final A->B generator")
    parser.add_argument("options", nargs="*", help="extra TrainConfig values as name=value (e.g. lambda_identity=0)")
    args = parser.parse_args()
    options = parse_options(args.options)
    result = run_quality(args.minutes, [float(m) for m in args.checkpoints.split(",")], args.task, args.seed,
                         keep_model=args.keep_model, by_iterations=args.by_iterations, **options)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
