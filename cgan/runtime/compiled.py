"""``--compile``: the generator compiled by torch.compile (inductor), once per input shape.

Instance normalisation, reflection padding, activations and residual adds are memory-bound and,
run eagerly, each reads and writes the whole activation; inductor fuses them around the
convolutions. Compiling takes seconds to minutes, so each new shape says so, and inductor's
caches live under cgan's cache folder so that a second run of the same shape starts fast.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Callable

import torch

from ..cache import cache_root

log = logging.getLogger(__name__)


def compiled_forward(net: torch.nn.Module, quiet: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net`` compiled for fixed shapes (frames of a stream share one): a new shape compiles again, with messages
    (logging, which the command line shows) that say for what and how long it took."""
    # Read by inductor when it first compiles; a user's own setting wins.
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_root() / "inductor"))
    compiled = torch.compile(net, dynamic=False, fullgraph=True)
    shapes: set[tuple] = set()

    def forward(x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype, x.device)
        if key in shapes:
            return compiled(x)
        shape = "x".join(map(str, x.shape))
        if not quiet:
            log.info(f"compiling for {shape} ...")
        started = time.perf_counter()
        y = compiled(x)
        shapes.add(key)
        if not quiet:
            log.info(f"compiled for {shape} in {time.perf_counter() - started:.0f} s")
        return y

    return forward
