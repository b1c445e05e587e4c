"""``--compile``: the generator compiled by torch.compile (inductor), once per input shape.

Instance normalisation, reflection padding, activations and residual adds are memory-bound and,
run eagerly, each reads and writes the whole activation; inductor fuses them around the
convolutions. Compiling takes seconds to minutes, so each new shape says so, and inductor's
caches live under cgan's cache folder so that a second run of the same shape starts fast.
"""
from __future__ import annotations

import os
import time
from typing import Callable

import click
import torch

from ..cache import cache_root


def compiled_forward(net: torch.nn.Module, quiet: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net`` compiled for fixed shapes (frames of a stream share one): a new shape compiles again, with a line
    on stderr that says for what and how long it took."""
    # Read by inductor when it first compiles; a user's own setting wins.
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_root() / "inductor"))
    compiled = torch.compile(net, dynamic=False, fullgraph=True)
    shapes: set[tuple] = set()

    def forward(x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype, x.device)
        if key in shapes:
            return compiled(x)
        if not quiet:
            click.echo(f"compiling for {'x'.join(map(str, x.shape))} ...", err=True, nl=False)
        started = time.perf_counter()
        y = compiled(x)
        shapes.add(key)
        if not quiet:
            click.echo(f" {time.perf_counter() - started:.0f} s", err=True)
        return y

    return forward
