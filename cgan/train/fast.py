"""``--fast``: a useful model in minutes (the README's Training section says what each part does and measured)."""
from __future__ import annotations

import logging

from ..devices import cuda_visible
from ..presets import PRESETS, preset_config, preset_has_fast_start, preset_traits
from .config import TrainConfig

CPU_FAST_NETWORK = {"preset": "resnet6", "ngf": 32}  # what --fast trains on a CPU unless told otherwise

FAST_PROFILE = {"identity_start": True, "upsample": "resize", "colour_map": True, "colour_map_lr": 3.0, "size": 64,
                "load_size": 286, "batch": 2, "lambda_identity": 0.0, "ema": 0.999}


def fast_profile(values: dict) -> dict:
    """The part of FAST_PROFILE that applies under ``values`` (the options given, which still override it).

    On a CPU with neither --preset nor --ngf given it also picks the small network (resnet6 ngf 32: the
    paper's resnet9 ngf 64 takes about 28 s for its first step on a 2-core CPU), and says so.
    """
    profile = dict(FAST_PROFILE)
    if "preset" not in values and "ngf" not in values and not _cuda_in_reach(values.get("device", "auto")):
        profile.update(CPU_FAST_NETWORK)
        logging.getLogger(__name__).warning(
            "note: --fast on a CPU trains the small network (--preset resnet6 --ngf 32); give --preset or --ngf "
            "to choose another")
    preset = profile.get("preset", values.get("preset", TrainConfig.preset))
    if preset in PRESETS and not preset_has_fast_start(preset):
        del profile["identity_start"], profile["upsample"], profile["colour_map"]
    if values.get("preprocess") == "none":  # whole images of different sizes do not stack into batches
        del profile["batch"]
    if preset in PRESETS and profile["size"] % preset_config(preset).size_multiple:  # a U-Net's crop stays its own
        del profile["size"], profile["load_size"]
    if not {**profile, **values}.get("colour_map") or (preset in PRESETS and preset_traits(preset).built_in):
        # a preset without it, or --fast --no-colour-map; the filter is its colour map, and learns it at the common
        # rate: three times that led and then drifted on the stylise task (benchmarks/RESULTS.md)
        del profile["colour_map_lr"]
    return profile


def _cuda_in_reach(device: str) -> bool:
    """Whether training will run on a CUDA GPU (``auto`` takes one where PyTorch sees it)."""
    return device.startswith("cuda") or (device == "auto" and cuda_visible())
