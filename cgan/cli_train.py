"""``cgan train`` and ``cgan distill``: their flags, one per config field, generated from tables.

Defaults live in TrainConfig and are shown from there, and the choices are the ones TrainConfig
validates against, so the flags and the library cannot disagree.
"""
from __future__ import annotations

import click

from .errors import EXIT_INTERRUPTED
from .interrupt import INTERRUPTED
from .presets import DIRECTIONS, PRESETS
from .cli_options import JSON_SUMMARY, print_json
from .threads import share_cpu_with_other_programs
from .train.config import GAN_LOSSES, MONITORS, OBJECTIVES, PREPROCESS, TrainConfig
from .train.fast import FAST_PROFILE
from .train.config import DistillConfig

# (flag, click type, help); a None type is an on/off flag, "switch" a --x/--no-x pair.

TRAIN_OPTIONS = [
    ("--data", click.Path(), "Folder with trainA/ trainB/ [testA/ testB/]."),
    ("--a", click.Path(), "Folder of domain A images (any layout, recursive)."),
    ("--b", click.Path(), "Folder of domain B images."),
    ("--name-a", str, "Name of domain A, stored in the model files (default: from the folder name)."),
    ("--name-b", str, "Name of domain B."),
    ("--out", click.Path(), "Run directory (default: runs/<a>2<b>, numbered if taken)."),
    ("--preset", click.Choice(list(PRESETS)), "Generator preset."),
    ("--ngf", int, "Generator filters in the first layer (default: the preset's)."),
    ("--ndf", int, "Discriminator filters in the first layer."),
    ("--n-layers-d", int, "PatchGAN layers (3 sees 70x70 patches)."),
    ("--fast", None, "Settings for a useful model in minutes: "
     + " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v:g}" if isinstance(v, float) else f" {v}")
                for k, v in FAST_PROFILE.items()) + " (each can still be given)."),
    ("--identity-start", "switch", "Generators start as the identity mapping (resnet, mobile): no noise at first."),
    ("--upsample", click.Choice(["transpose", "resize"]), "Upsampling: transposed conv (the paper's) or resize + conv."),
    ("--colour-map", "switch", "Generators also learn a per-pixel colour mapping (resnet, mobile): tone curves "
     "that depend on absolute colour."),
    ("--edge-map", "switch", "The colour map also sees each pixel's surroundings (the image blurred by 2 "
     "pixels, gradient magnitudes at two scales): detail and outline filters become per-pixel mappings."),
    ("--size", int, "Training crop size."),
    ("--load-size", int, "Resize before cropping (default: size * 286 / 256)."),
    ("--preprocess", click.Choice(PREPROCESS), "Preprocessing."),
    ("--no-flip", None, "No random horizontal flips."),
    ("--batch", int, "Batch size."),
    ("--epochs", int, "Epochs at the initial learning rate."),
    ("--epochs-decay", int, "Epochs of linear decay to zero after that. Where --max-time or --max-iters ends the run "
     "first, the schedule is fitted to that bound: the same shares of its time or steps (0: a constant rate)."),
    ("--max-iters", int, "Stop after this many iterations in all."),
    ("--max-time", str, "Stop after this much training time in all, e.g. 30m, 2h, 1h30m."),
    ("--lr", float, "Adam learning rate."),
    ("--colour-map-lr", float, "The colour map's learning rate, as a multiple of --lr."),
    ("--beta1", float, "Adam beta1."),
    ("--objective", click.Choice(OBJECTIVES),
     "cyclegan (two generators, cycle loss), cut / fastcut (one generator, patchwise contrastive loss), or gan "
     "(one generator, the adversarial loss alone: for --preset filter, which cannot lose structure)."),
    ("--gan-loss", click.Choice(GAN_LOSSES), "Adversarial loss."),
    ("--lambda-cycle", float, "Weight of the cycle-consistency loss."),
    ("--lambda-identity", float, "Weight of the identity loss, relative to --lambda-cycle (0 turns it off)."),
    ("--pool", int, "Size of the fake-image history pool (0 turns it off)."),
    ("--lambda-nce", float, "cut/fastcut: weight of the PatchNCE loss (default: 1 for cut, 10 for fastcut)."),
    ("--nce-layers", str, "cut/fastcut: generator layers whose features are contrasted, e.g. 0,4,8,12,16 "
     "(default: the input, both downsamplings and residual blocks 3 and 7; not the input with a colour map)."),
    ("--nce-t", float, "cut/fastcut: temperature of the contrastive softmax."),
    ("--num-patches", int, "cut/fastcut: patches sampled per layer and image."),
    ("--lambda-texture", float, "cut/fastcut/gan: weight of a second discriminator that sees grey images with random "
     "channel weights, judging outlines and texture apart from colour (0: off; README, 'Which objective')."),
    ("--lambda-identity-b", float, "gan: weight of an identity loss on B, L1(G(b), b): the generator leaves images "
     "that already look like B alone, which keeps the tone the target keeps (default: 1; 0: off)."),
    ("--ema", float, "Validate and save a moving average of the generator weights with this decay, e.g. 0.999."),
    ("--compile", None, "torch.compile the networks (slow start, faster steps)."),
    ("--workers", int, "Data-loading processes (default: half the CPU cores, at most 4)."),
    ("--device", str, "auto, cpu, cuda or cuda:N."),
    ("--val-truth", click.Path(), "Paired ground truth for the A validation images (same names): adds PSNR and SSIM."),
    ("--val-fraction", float, "Fraction held out for validation when there is no testA/ testB/."),
    ("--val-images", int, "Validation images per domain."),
    ("--val-size", int, "Side of the validation views (default: --size)."),
    ("--patience", int, "Stop after this many validations without improvement (0: never)."),
    ("--monitor", click.Choice(list(MONITORS)),
     "Validation metric for best/ and early stopping (default: psnr with --val-truth, else cycle_l1)."),
    ("--save-every", int, "Also save every N iterations (0: at epoch ends only)."),
    ("--log-every", int, "Iterations between logged losses."),
    ("--seed", int, "Random seed (initialisation, data order, crops, pools)."),
]


def _options(table: list, config_class: type):
    """A decorator adding one click option per table row; defaults shown from ``config_class``, none set (None
    means not given, so that a YAML file, a profile or a resumed run can supply the value)."""
    from dataclasses import fields

    defaults = {f.name: f.default for f in fields(config_class)}

    def decorate(command):
        for flag, kind, text in reversed(table):
            name = flag[2:].replace("-", "_")
            shown = f" [default: {defaults[name]}]" if defaults.get(name) not in (None, False) else ""
            if kind is None:
                command = click.option(flag, name, is_flag=True, default=None, help=text)(command)
            elif kind == "switch":  # --x/--no-x, so that a profile's choice can be undone
                command = click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=text + shown)(command)
            else:
                command = click.option(flag, name, type=kind, default=None, help=text + shown)(command)
        return command

    return decorate


_BY_FLAG = {row[0]: row for row in TRAIN_OPTIONS}
DISTILL_OPTIONS = [
    ("--data", click.Path(), "Folder with trainA/ [testA/]: the teacher's input images."),
    ("--a", click.Path(), "Folder of the teacher's input images (any layout, recursive)."),
    _BY_FLAG["--out"][:2] + ("Run directory (default: runs/<source>2<target>-<preset>, numbered if taken).",),
    ("--direction", click.Choice(DIRECTIONS), "Which generator of a teacher run directory."),
    ("--preset", click.Choice([name for name, values in PRESETS.items() if values["arch"] == "student"]),
     "Student preset."),
    _BY_FLAG["--ngf"],
    ("--lambda-feature", float, "Weight of matching the teacher's activations (0 turns it off)."),
    ("--jitter", float, "Colour jitter of the inputs: saturation, contrast and brightness changes up to this."),
    *(_BY_FLAG[flag] for flag in ("--size", "--load-size", "--preprocess", "--no-flip", "--batch", "--epochs",
                                  "--epochs-decay", "--max-iters", "--max-time", "--lr", "--beta1", "--compile",
                                  "--workers", "--device")),
    ("--val-truth", click.Path(), "Paired ground truth for the validation images (same names): adds PSNR and SSIM "
                                  "of student and teacher."),
    *(_BY_FLAG[flag] for flag in ("--val-fraction", "--val-images", "--val-size", "--patience")),
    ("--monitor", click.Choice(list(DistillConfig.monitors)),
     "Validation metric for best/ and early stopping (default: psnr with --val-truth, else teacher_psnr)."),
    *(_BY_FLAG[flag] for flag in ("--save-every", "--log-every", "--seed")),
]


AMP = click.option("--amp/--no-amp", "amp", default=None,
                   help="Mixed precision: bf16 on CPUs that support it, fp16 on CUDA [default: on].")
CONFIG = click.option("--config", "config_file", type=click.Path(), help="YAML file of options; flags override it.")
RESUME = click.option("--resume", type=click.Path(), help="Continue a run directory exactly where it stopped.")


@click.command()
@_options(TRAIN_OPTIONS, TrainConfig)
@AMP
@CONFIG
@RESUME
@JSON_SUMMARY
def train(config_file: str | None, resume: str | None, as_json: bool, **options) -> int:
    """Train a CycleGAN on two folders of unpaired images.

    Writes a run directory: config.yaml, metrics.jsonl, samples/ (grids), tb/ (TensorBoard),
    loss_curves.png, G_AtoB.safetensors and G_BtoA.safetensors (latest), best/, and the resume state.
    Ctrl-C saves and exits; --resume continues.

    \b
    Examples:
      cgan train --a tom/ --b jerry/ --preset resnet6 --ngf 32 --size 64 --max-iters 200
      cgan train --data horse2zebra/ --max-time 2h --patience 5
      cgan train --resume runs/tom2jerry --max-iters 400
      cgan train --a photos/ --b paintings/ --fast --objective fastcut --size 128 --max-time 30m
      cgan train --a photos/ --b comics/ --preset filter --objective gan --fast --size 128 --max-time 10m
      torchrun --nproc-per-node 2 -m cgan train --data horse2zebra/
    """
    share_cpu_with_other_programs()  # before PyTorch loads
    from .train import train as run_training

    result = run_training(resume=resume, config_file=config_file, **options)
    if as_json:
        print_json(result.to_dict())
    return EXIT_INTERRUPTED if result.stop_reason.startswith(INTERRUPTED) else 0


@click.command()
@click.argument("teacher", type=click.Path())
@_options(DISTILL_OPTIONS, DistillConfig)
@AMP
@CONFIG
@RESUME
@JSON_SUMMARY
def distill(teacher: str, config_file: str | None, resume: str | None, as_json: bool, **options) -> int:
    """Distil TEACHER (a run directory or model file) into a small student that runs in real time on CPUs.

    The student learns to reproduce the teacher's translations of its own input images (random crops, flips
    and colour jitter): an L1 loss on the teacher's outputs plus matched activations. It is an ordinary model
    file (G_AtoB.safetensors, or G_BtoA for a BtoA teacher) that names its teacher; export it with
    --precision int8 for the fastest CPU path. The run directory is laid out as cgan train's.

    \b
    Examples:
      cgan distill runs/tom2jerry --a tom/ --max-time 10m
      cgan distill runs/tom2jerry --a tom/ --preset student-tiny --out runs/tom2jerry-tiny
      cgan distill runs/tom2jerry --resume runs/tom2jerry-student --max-time 20m
    """
    share_cpu_with_other_programs()  # before PyTorch loads
    from .train import distill as run_distillation

    result = run_distillation(teacher, resume=resume, config_file=config_file, **options)
    if as_json:
        print_json(result.to_dict())
    return EXIT_INTERRUPTED if result.stop_reason.startswith(INTERRUPTED) else 0
