"""Training options: one dataclass whose field names are the ``cgan train`` flags (dashes for underscores).

Values come from the defaults, then a YAML file (``--config``), then the flags given. The
resolved config is saved in the run directory as ``config.yaml``.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..devices import check_device_name
from ..errors import CganError
from ..images import smallest_side
from ..presets import A_TO_B, ARCH_TRAITS, PRESETS, preset_config, preset_traits
from .durations import parse_duration

PREPROCESS = ("resize_crop", "scale_width_crop", "crop", "none")
# What each annotation in the configs admits, and how an error names it.
# The largest values the numeric options may take: each costs memory in proportion (the discriminator's width,
# its depth, the crop's side), and past these a run needs more than any machine cgan trains on.
UPPER_BOUNDS = {"ngf": 512, "ndf": 512, "n_layers_d": 8, "size": 4096, "load_size": 8192, "val_size": 4096,
                "val_images": 1024, "batch": 1024, "workers": 64, "num_patches": 4096}
MAX_PIXELS_PER_STEP = 2**24  # a batch of 256 crops of 256x256, or 16 of 1024x1024
_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "None": (type(None),)}
_TYPE_WORDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false", "None": "empty"}
GAN_LOSSES = ("lsgan", "vanilla", "hinge")
# cyclegan: the paper's two generators and cycle loss; cut and fastcut: one generator with a patchwise contrastive
# loss on its own encoder features (Park et al., ECCV 2020), fastcut without the identity term and a heavier NCE;
# gan: one generator and the adversarial loss alone, for generators that cannot lose structure (--preset filter).
OBJECTIVES = ("cyclegan", "cut", "fastcut", "gan")
CONTRASTIVE = ("cut", "fastcut")
NCE_DEFAULT_WEIGHT = {"cut": 1.0, "fastcut": 10.0}
# gan's identity loss on B: at 1 the filter holds held-out colour grades that it loses without it (mean +12.00 dB
# after 10 minutes against +6.10, one grade falling to -0.67), for 0.9 dB less on held-out stylisations
# (+5.59 against +6.48); README, "Which objective"; benchmarks/RESULTS.md.
IDENTITY_B_DEFAULT_WEIGHT = 1.0
CYCLEGAN_ONLY = ("lambda_cycle", "lambda_identity", "pool")  # the cycle's weights and the history of fakes
MONITORS = {"cycle_l1": "min", "identity_l1": "min", "psnr": "max", "ssim": "max"}  # cut/fastcut: no cycle_l1

# Options that may change when a run is resumed: they bound or observe the run, not what it learns.
RESUMABLE = {"epochs", "epochs_decay", "max_iters", "max_time", "patience", "save_every", "workers", "device",
             "log_every", "compile"}


# ``--fast``: what measured best on the quality task in 10 CPU minutes (benchmarks/RESULTS.md). Applied under
# whatever the YAML file and the flags say, so any of it can still be changed.
# Crops of 64 are cut from images loaded at the paper's 286, so the model learns at the scale it will run at.
# Batches of 2 take 1.3x the images per second of single images on a 2-core CPU.
# Generators with an encoder whose layer outputs cut/fastcut contrast (presets.ARCH_TRAITS: encoder_layers).
NCE_ARCHES = tuple(arch for arch, traits in ARCH_TRAITS.items() if traits.encoder_layers)


@dataclass
class RunConfig:
    """The options every training run has (``cgan train`` and ``cgan distill``): data, preset, preprocessing,
    optimisation, speed, observation. Field names are the flags, with underscores."""

    monitors: ClassVar[dict[str, str]] = MONITORS  # the metrics --monitor takes, and which way is better
    command: ClassVar[str] = "train"  # the command whose flags these are
    # data
    data: str | None = None  # holds trainA/ trainB/ [testA/ testB/]
    a: str | None = None  # or any two folders
    out: str | None = None  # run directory (default runs/<a>2<b>, numbered if taken)
    val_truth: str | None = None  # paired ground truth for the A validation images (same file names)
    val_fraction: float = 0.05  # held out for validation when there is no testA/testB
    val_images: int = 64  # validation images per domain (the sample grids show the first 8)
    val_size: int | None = None  # side of the validation views (default: --size)
    # networks
    preset: str = "resnet9"
    ngf: int | None = None  # default: the preset's
    # preprocessing
    size: int = 256  # training crop
    load_size: int | None = None  # default: size * 286 / 256, the reference's ratio
    preprocess: str = "resize_crop"
    no_flip: bool = False
    # optimisation
    batch: int = 1
    epochs: int = 100  # at the initial learning rate
    epochs_decay: int = 100  # then linear decay to zero
    max_iters: int | None = None
    max_time: str | None = None  # e.g. 90s, 30m, 2h, 1h30m
    lr: float = 2e-4
    beta1: float = 0.5
    # speed
    amp: bool = True  # bf16 autocast on CPUs that support it, fp16 + gradient scaling on CUDA
    compile: bool = False
    workers: int | None = None  # default: half the CPU cores, at most 4
    device: str = "auto"
    # observation and checkpoints
    patience: int = 0  # validations without improvement before stopping; 0 = never stop early
    monitor: str | None = None  # default: psnr with --val-truth, else cycle_l1
    save_every: int = 0  # also save every N iterations; 0 = at epoch ends only
    log_every: int = 10  # iterations between logged training losses
    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def check_types(self) -> None:
        """Each option has its annotated type (values from YAML files arrive untyped): one line names every
        bad key. Whole numbers are accepted where decimals are expected; true/false is not a number."""
        bad = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            allowed = tuple(t for name in str(field.type).split("|") for t in _TYPES[name.strip()])
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                words = " or ".join(_TYPE_WORDS[name.strip()] for name in str(field.type).split("|"))
                shown = repr(value) if len(repr(value)) < 40 else f"a {type(value).__name__}"
                bad.append(f"--{field.name.replace('_', '-')} must be {words}, not {shown}")
            elif isinstance(value, float) and not math.isfinite(value):
                bad.append(f"--{field.name.replace('_', '-')} must be a finite number, not {value}")
        if bad:
            raise CganError("; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else ""))

    def validate(self) -> None:
        self.check_types()
        if self.preset not in PRESETS:
            raise CganError(f"unknown --preset {self.preset!r}: choose one of {', '.join(PRESETS)}")
        if self.preprocess not in PREPROCESS:
            raise CganError(f"unknown --preprocess {self.preprocess!r}: choose one of {', '.join(PREPROCESS)}")
        if self.monitor is not None and self.monitor not in self.monitors:
            raise CganError(f"unknown --monitor {self.monitor!r}: choose one of {', '.join(self.monitors)}")
        if self.monitor in ("psnr", "ssim") and not self.val_truth:
            raise CganError(f"--monitor {self.monitor} needs paired ground truth: give --val-truth DIR")
        check_device_name(self.device)
        for name in ("size", "batch", "log_every", "val_images", "val_size", "load_size", "ngf"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise CganError(f"--{name.replace('_', '-')} must be at least 1")
        for name, most in UPPER_BOUNDS.items():
            value = getattr(self, name, None)
            if value is not None and value > most:
                raise CganError(f"--{name.replace('_', '-')} {value} is more than {most}, the most cgan trains with "
                                f"(memory grows with it): choose a smaller value")
        if self.batch * self.size * self.size > MAX_PIXELS_PER_STEP:
            raise CganError(f"--batch {self.batch} of {self.size}x{self.size} crops is {self.batch * self.size ** 2:,} "
                            f"pixels a step, more than the {MAX_PIXELS_PER_STEP:,} that fit in memory: use a smaller "
                            f"--batch or --size")
        for name in ("epochs", "epochs_decay", "patience", "save_every", "seed", "workers"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise CganError(f"--{name.replace('_', '-')} must not be negative")
        if not 0.0 <= self.beta1 < 1.0:
            raise CganError("--beta1 must be in [0, 1)")
        self.check_sizes()
        if self.epochs + self.epochs_decay < 1:
            raise CganError("--epochs plus --epochs-decay must be at least 1")
        if self.max_iters is not None and self.max_iters < 1:
            raise CganError("--max-iters must be at least 1")
        if not 0.0 <= self.val_fraction < 1.0:
            raise CganError("--val-fraction must be in [0, 1)")
        if self.lr <= 0:
            raise CganError("--lr must be positive")
        if self.preprocess == "none" and self.batch > 1:
            raise CganError("--preprocess none keeps each image's own size, so it needs --batch 1")
        parse_duration(self.max_time)

    def check_sizes(self) -> None:
        """The crop and validation sizes fit the preset's generator: a multiple of its size multiple, and at
        least its smallest input (a U-Net halves the image num_downs times; a ResNet needs 2x2 after its two
        downsamplings for reflection padding)."""
        generator = preset_config(self.preset, **({"ngf": self.ngf} if self.ngf else {}))
        multiple = generator.size_multiple
        smallest = smallest_side(multiple)
        for flag, value in (("--size", self.size), ("--val-size", self.resolved_val_size)):
            if value % multiple or value < smallest:
                fits = smallest if value < smallest else (value // multiple + 1) * multiple
                raise CganError(f"{flag} {value} does not fit the {self.preset} generator, which takes multiples of "
                                f"{multiple} from {smallest} up: use {flag} {fits}, or another --preset")
        if self.preprocess in ("resize_crop", "scale_width_crop") and self.resolved_load_size < self.size:
            raise CganError(f"--load-size {self.resolved_load_size} is smaller than --size {self.size}: the crop must "
                            f"fit in the loaded image")

    @property
    def resolved_val_size(self) -> int:
        return self.val_size or self.size

    @property
    def monitor_metric(self) -> str:
        return self.monitor or ("psnr" if self.val_truth else "cycle_l1")

    @property
    def resolved_load_size(self) -> int:
        return self.load_size or round(self.size * 286 / 256)

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class TrainConfig(RunConfig):
    """``cgan train``: a CycleGAN's two domains, its networks, losses and the fast-start options."""

    b: str | None = None  # domain B's folder, with --a
    name_a: str | None = None  # domain names stored in the model files (default: from the folder names)
    name_b: str | None = None
    fast: bool = False  # start from FAST_PROFILE (applied by resolve_config)
    ndf: int = 64
    n_layers_d: int = 3
    identity_start: bool = False  # generators start as the identity mapping (resnet and mobile)
    upsample: str = "transpose"  # transpose (the paper's) or resize (no checkerboard)
    colour_map: bool = False  # generators get a per-pixel colour mapping beside the convolutions (resnet, mobile)
    colour_map_lr: float = 1.0  # the colour map's learning rate, as a multiple of --lr
    edge_map: bool = False  # the colour map also sees each pixel's surroundings (cgan/edges.py)
    gan_loss: str = "lsgan"
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # relative to lambda_cycle, as in the reference code
    pool: int = 50
    ema: float = 0.0  # validate and save a moving average of the generators' weights with this decay; 0 = off
    objective: str = "cyclegan"  # see OBJECTIVES
    lambda_nce: float | None = None  # cut/fastcut: default NCE_DEFAULT_WEIGHT
    nce_layers: str | None = None  # cut/fastcut: comma-separated generator layer indices (default: nce_layer_list)
    nce_t: float = 0.07  # the paper's temperature
    num_patches: int = 256  # the paper's patches per layer
    lambda_texture: float = 0.0  # cut/fastcut/gan: weight of a second discriminator on grey views (train/texture.py)
    lambda_identity_b: float | None = None  # gan: weight of L1(G(b), b) (train/gan.py); IDENTITY_B_DEFAULT_WEIGHT

    def validate(self) -> None:
        super().validate()
        traits = preset_traits(self.preset)
        if not traits.widens and self.ngf is not None:
            raise CganError(f"--ngf does not apply to --preset {self.preset}: it has no convolutions to widen")
        for name in traits.built_in:  # the filter is these options: on, whatever was given
            setattr(self, name, True)
        if self.gan_loss not in GAN_LOSSES:
            raise CganError(f"unknown --gan-loss {self.gan_loss!r}: choose one of {', '.join(GAN_LOSSES)}")
        for name in ("ndf", "n_layers_d"):
            if getattr(self, name) < 1:
                raise CganError(f"--{name.replace('_', '-')} must be at least 1")
        if 2 ** self.n_layers_d > self.size:
            raise CganError(f"--n-layers-d {self.n_layers_d} halves a {self.size}x{self.size} crop to nothing: use at "
                            f"most --n-layers-d {max(1, self.size.bit_length() - 2)}")
        if self.pool < 0:
            raise CganError("--pool must not be negative")
        if self.colour_map_lr <= 0:
            raise CganError("--lr and --colour-map-lr must be positive")
        if self.colour_map_lr != 1.0 and not self.colour_map:
            raise CganError("--colour-map-lr sets the colour map's learning rate: it needs --colour-map (or --fast)")
        if self.edge_map and not self.colour_map:
            raise CganError("--edge-map feeds the colour map: it needs --colour-map (or --fast)")
        if not 0.0 <= self.ema < 1.0:
            raise CganError("--ema must be in [0, 1): a decay such as 0.999, or 0 for none")
        if self.objective not in OBJECTIVES:
            raise CganError(f"unknown --objective {self.objective!r}: choose one of {', '.join(OBJECTIVES)}")
        if self.objective != "cyclegan" and self.monitor == "cycle_l1":
            raise CganError(f"--objective {self.objective} has no cycle: --monitor identity_l1 or psnr")
        if self.objective not in CONTRASTIVE:
            given = [f for f in ("lambda_nce", "nce_layers") if getattr(self, f) is not None]
            given += ["lambda_texture"] if self.lambda_texture and self.objective == "cyclegan" else []
            if given:
                objectives = "cut, fastcut or gan" if given[0] == "lambda_texture" else "cut or fastcut"
                raise CganError(f"--{given[0].replace('_', '-')} is an option of --objective {objectives}")
        if self.lambda_texture < 0:
            raise CganError("--lambda-texture must not be negative (0 turns the texture discriminator off)")
        if self.lambda_identity_b is not None and self.lambda_identity_b < 0:
            raise CganError("--lambda-identity-b must not be negative (0 turns the identity loss on B off)")
        if self.lambda_identity_b and self.objective != "gan":
            other = "--lambda-identity" if self.objective == "cyclegan" else "cut's NCE_idt"
            raise CganError(f"--lambda-identity-b is an option of --objective gan ({other} plays its part for "
                            f"--objective {self.objective})")
        if self.objective not in CONTRASTIVE:
            return
        arch = PRESETS[self.preset]["arch"]
        if arch not in NCE_ARCHES:
            raise CganError(f"--objective {self.objective} contrasts the generator's encoder features, which the "
                            f"{' and '.join(NCE_ARCHES)} generators have and {self.preset} has not: choose --preset "
                            f"resnet9, resnet6 or mobile")
        if self.nce_t <= 0 or self.num_patches < 1 or (self.lambda_nce is not None and self.lambda_nce < 0):
            raise CganError("--nce-t and --num-patches must be positive, --lambda-nce not negative")
        _ = self.nce_layer_list  # reading it checks the layers against the preset

    @property
    def resolved_lambda_nce(self) -> float:
        return NCE_DEFAULT_WEIGHT.get(self.objective, 0.0) if self.lambda_nce is None else self.lambda_nce

    @property
    def resolved_lambda_identity_b(self) -> float:
        if self.lambda_identity_b is not None:
            return self.lambda_identity_b
        return IDENTITY_B_DEFAULT_WEIGHT if self.objective == "gan" else 0.0

    @property
    def monitor_metric(self) -> str:
        if self.objective == "cyclegan":
            return super().monitor_metric
        return self.monitor or ("psnr" if self.val_truth else "identity_l1")

    @property
    def nce_layer_list(self) -> list[int]:
        """Indices into the generator's layers (``model``) whose outputs are contrasted: the reference's 0, 4, 8,
        12, 16 for nine blocks (the padded input, both downsamplings, blocks 3 and 7), blocks that exist only.

        With a colour map the input layer is left out: contrasting raw pixels holds every colour where it was,
        the change the colour map is there to make (on the stylise task FastCUT --fast gained +0.01 dB after 2
        minutes with it, +1.9 without; benchmarks/RESULTS.md)."""
        config = preset_config(self.preset, **({"ngf": self.ngf} if self.ngf else {}))
        blocks, encoder = config.n_blocks, config.traits.encoder_layers  # stem (4) and two downsamplings (3+3)
        encoder_end = encoder + blocks  # after the last residual block the decoder begins
        if self.nce_layers is None:
            return ([] if self.colour_map else [0]) + [4, 8] + [encoder + k for k in (2, 6) if k < blocks]
        try:
            layers = sorted({int(part) for part in self.nce_layers.split(",")})
        except ValueError:
            raise CganError(f"cannot read --nce-layers {self.nce_layers!r}: give indices like 0,4,8,12,16") from None
        if not layers or layers[0] < 0 or layers[-1] >= encoder_end:
            raise CganError(f"--nce-layers must lie in the encoder, 0 to {encoder_end - 1} for {self.preset}")
        return layers

    @property
    def domain_names(self) -> tuple[str, str]:
        """--name-a/--name-b, else from the folders: ``horse2zebra/`` -> horse, zebra; ``--a tom/`` -> tom."""
        if self.data:
            parts = Path(os.path.abspath(self.data)).name.split("2")
            default = parts if len(parts) == 2 and all(parts) else ("A", "B")
        elif not (self.a and self.b):
            raise CganError("give the images: --data DIR (with trainA/ trainB/) or --a DIR_A --b DIR_B")
        else:
            default = (Path(os.path.abspath(self.a)).name or "A", Path(os.path.abspath(self.b)).name or "B")
        return self.name_a or default[0], self.name_b or default[1]


DISTILL_MONITORS = {"teacher_psnr": "max", "teacher_l1": "min", "psnr": "max", "ssim": "max"}


@dataclass
class DistillConfig(RunConfig):
    """``cgan distill``: the teacher, the student preset and the distillation losses; defaults for a CPU."""

    monitors: ClassVar[dict[str, str]] = DISTILL_MONITORS
    command: ClassVar[str] = "distill"
    preset: str = "student"
    size: int = 128
    batch: int = 4
    epochs: int = 50
    epochs_decay: int = 50
    lr: float = 1e-3  # a regression onto fixed targets takes a higher rate than a GAN
    beta1: float = 0.9
    teacher: str | None = None  # a run directory or model file
    direction: str = A_TO_B  # which generator of a teacher run directory
    lambda_feature: float = 1.0  # weight of the matched-activations term (0 turns it off)
    jitter: float = 0.1  # colour jitter of the inputs (saturation, contrast, brightness)

    def validate(self) -> None:
        super().validate()
        if not self.teacher:
            raise CganError("give the teacher: a run directory or model file written by cgan train")
        if self.lambda_feature < 0:
            raise CganError("--lambda-feature must not be negative")
        if not 0.0 <= self.jitter < 1.0:
            raise CganError("--jitter must be in [0, 1)")

    @property
    def monitor_metric(self) -> str:
        return self.monitor or ("psnr" if self.val_truth else "teacher_psnr")


