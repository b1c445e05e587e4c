"""Generator configurations and named presets: what a model file declares, without PyTorch.

Read by the command line, the configs and the runtime of exported models, none of which needs
PyTorch; ``nets.py`` builds the networks from them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import CganError

A_TO_B, B_TO_A = "AtoB", "BtoA"  # which way a generator translates: a run trains both, a model file holds one
DIRECTIONS = (A_TO_B, B_TO_A)
FILTER_OPTIONS = ("identity_start", "colour_map", "edge_map")


@dataclass(frozen=True)
class ArchTraits:
    """What a generator architecture has, declared once: the config checks, training and the tools read it here.

    The fast-start options (identity start, resize upsampling, colour map) need a residual trunk and a final tanh
    layer to act on: the resnet and mobile generators have them, the U-Net does not; the student is built with
    them. The filter is the identity start and the colour map with the edge map alone (filter_net.py)."""

    takes_fast_start: bool  # a config may turn the fast-start options on
    fast_profile: bool  # --fast turns them on (or, for the filter, it has them whatever is asked)
    edge_map: bool  # its colour map can also see the edge map
    encoder_layers: int | None  # its layers before the residual blocks (cut/fastcut contrast them); None: no encoder
    widens: bool = True  # --ngf scales it
    built_in: tuple[str, ...] = ()  # options it always has


ARCH_TRAITS = {
    "resnet": ArchTraits(takes_fast_start=True, fast_profile=True, edge_map=True, encoder_layers=10),
    "unet": ArchTraits(takes_fast_start=False, fast_profile=False, edge_map=False, encoder_layers=None),
    "mobile": ArchTraits(takes_fast_start=True, fast_profile=True, edge_map=True, encoder_layers=10),
    "student": ArchTraits(takes_fast_start=True, fast_profile=False, edge_map=False, encoder_layers=None),
    "filter": ArchTraits(takes_fast_start=True, fast_profile=True, edge_map=True, encoder_layers=None, widens=False,
                         built_in=FILTER_OPTIONS),
}
ARCHES = tuple(ARCH_TRAITS)
# The generators whose colour map the edge map feeds (named in messages).
EDGE_MAP_ARCHES = tuple(a for a, t in ARCH_TRAITS.items() if t.edge_map and t.widens)
UPSAMPLING = ("transpose", "resize", "shuffle")
COLOUR_MAP_WIDTH = 32  # hidden channels of the optional per-pixel colour mapping


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator; stored in every model file."""

    arch: str = "resnet"  # one of ARCHES
    ngf: int = 64  # filters of the first layer; later layers use multiples of it
    n_blocks: int = 9  # residual blocks (resnet, mobile)
    num_downs: int = 8  # stride-2 levels (unet); its size multiple is 2**num_downs
    dropout: bool = False  # dropout in residual / inner U-Net blocks (the reference trains CycleGAN without)
    in_channels: int = 3
    out_channels: int = 3
    # Fast-start options (resnet and mobile); none changes anything for files written without them.
    identity_start: bool = False  # output = tanh(atanh(x) + residual) with the last conv zeroed: starts as x
    upsample: str = "transpose"  # transpose (the paper's), resize (nearest x2, then a 3x3 conv: no checkerboard),
    # or shuffle (a 1x1 conv and a pixel shuffle: the student's)
    colour_map: bool = False  # add a per-pixel colour mapping (1x1 convs, no normalisation) to the output
    edge_map: bool = False  # the colour map also sees each pixel's surroundings (edges.py): needs the colour map

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise CganError(f"unknown generator architecture {self.arch!r}: choose one of {', '.join(ARCHES)}")
        if self.ngf < 1 or self.n_blocks < 0 or self.in_channels < 1 or self.out_channels < 1:
            raise CganError("ngf, channels must be at least 1 and n_blocks at least 0")
        for name, limit in LIMITS.items():  # a model file may declare anything: bound what it can make us build
            if getattr(self, name) > limit:
                raise CganError(f"{name} {getattr(self, name)} is over the limit of {limit}")
        if self.arch == "unet" and self.num_downs < 5:
            raise CganError(f"a U-Net needs num_downs >= 5 (got {self.num_downs})")
        if (self.upsample == "shuffle") != (self.arch == "student") or self.upsample not in UPSAMPLING:
            allowed = "shuffle" if self.arch == "student" else "transpose or resize"
            raise CganError(f"upsampling {self.upsample!r} does not fit the {self.arch} generator: choose {allowed}")
        traits = self.traits
        if traits.built_in:
            if not all(getattr(self, name) for name in traits.built_in):
                raise CganError("the filter generator is the colour map with the edge map and identity start: "
                                "it needs all three")
            return
        fast_start = self.identity_start or self.upsample != "transpose" or self.colour_map
        if fast_start and not traits.takes_fast_start:
            raise CganError(f"identity start, resize upsampling and the colour map are options of the "
                            f"{' and '.join(EDGE_MAP_ARCHES)} generators")
        if self.edge_map and not (self.colour_map and traits.edge_map):
            raise CganError(f"the edge map feeds the colour map of the {' and '.join(EDGE_MAP_ARCHES)} generators: "
                            f"it needs the colour map (--colour-map or --fast)")
        if self.identity_start and self.in_channels != self.out_channels:
            raise CganError("identity start needs as many output channels as input channels")

    @property
    def traits(self) -> ArchTraits:
        return ARCH_TRAITS[self.arch]

    @property
    def size_multiple(self) -> int:
        return {"unet": 2**self.num_downs, "filter": 1}.get(self.arch, 4)

    @property
    def normalization(self) -> str:
        """``instance`` (its statistics depend on each image) or ``none`` (the students: int8 keeps fixed ranges)."""
        return "none" if self.arch in ("student", "filter") else "instance"

    @classmethod
    def from_dict(cls, values: dict) -> "GeneratorConfig":
        """Values read from a file: every option of the type its default has (a bool is not an int here)."""
        if not isinstance(values, dict):
            raise CganError(f"generator options are a {type(values).__name__}, not an object")
        fields = {f.name: type(f.default) for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise CganError(f"unknown generator options {unknown}: the file needs a newer cgan (pip install -U cgan)")
        for name, value in values.items():
            if type(value) is not fields[name]:
                kind = {"int": "a whole number", "bool": "true or false", "str": "text"}[fields[name].__name__]
                raise CganError(f"generator option {name} is {value!r}, not {kind}")
        return cls(**values)


# The most a generator may declare: well above every preset (ngf 64, 9 blocks, 8 downsamplings). A model file's
# weights are checked against its declared shapes before anything is allocated (modelfile.load_model); these
# bounds keep options typed on a command line or in a config from asking for absurd networks.
LIMITS = {"ngf": 512, "n_blocks": 64, "num_downs": 10, "in_channels": 16, "out_channels": 16}

# Named presets: thin entries, each a set of GeneratorConfig values.
PRESETS: dict[str, dict] = {
    "resnet9": dict(arch="resnet", ngf=64, n_blocks=9),  # the CycleGAN paper's generator for 256x256
    "resnet6": dict(arch="resnet", ngf=64, n_blocks=6),  # the paper's generator for 128x128
    "unet256": dict(arch="unet", ngf=64, num_downs=8),
    "unet128": dict(arch="unet", ngf=64, num_downs=7),
    "mobile": dict(arch="mobile", ngf=32, n_blocks=9),  # depthwise-separable blocks, ~16x fewer MACs than resnet9
    # Students for ``cgan distill`` (cgan/student_net.py): no normalisation, so int8 keeps its ranges. Widths chosen
    # by measured CPU latency, not MACs (benchmarks/RESULTS.md).
    "student": dict(arch="student", ngf=16, n_blocks=4, identity_start=True, upsample="shuffle", colour_map=True),
    "student-tiny": dict(arch="student", ngf=8, n_blocks=4, identity_start=True, upsample="shuffle", colour_map=True),
    # A per-pixel mapping of each pixel and its surroundings, no trunk (filter_net.py): photo filters in minutes.
    "filter": dict(arch="filter", ngf=1, n_blocks=0, **dict.fromkeys(FILTER_OPTIONS, True)),
}


def preset_traits(preset: str) -> ArchTraits:
    """The traits of a preset's generator architecture."""
    return ARCH_TRAITS[PRESETS[preset]["arch"]]


def preset_has_fast_start(preset: str) -> bool:
    """Whether --fast turns the preset's fast-start options on (the filter has them built in)."""
    return preset_traits(preset).fast_profile


def preset_config(preset: str, **overrides) -> GeneratorConfig:
    """The config of a named preset; overrides that are None keep the preset's value."""
    if preset not in PRESETS:
        raise CganError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return GeneratorConfig(**values)
