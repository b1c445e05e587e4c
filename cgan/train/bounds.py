"""Where a run must stop: --max-time, --max-iters and the epochs, counted over the whole run, resumes included."""
from __future__ import annotations

import math

from ..errors import CganError
from .config import RunConfig


def refuse_spent_bounds(config: RunConfig, *, elapsed: float, iteration: int, max_time: float | None) -> None:
    """A resumed run whose --max-time or --max-iters is already spent would stop after one step: say so, and how
    to give it more."""
    if max_time is not None and elapsed >= max_time:
        raise CganError(f"this run has trained for {elapsed / 60:.1f} minutes, its --max-time "
                        f"{config.max_time} (counted over the whole run, resumes included): give a later bound "
                        f"to continue, e.g. --max-time {math.ceil(elapsed / 60) * 2}m")
    if config.max_iters is not None and iteration >= config.max_iters:
        raise CganError(f"this run has trained {iteration} iterations, its --max-iters {config.max_iters} "
                        f"(counted over the whole run): give a higher one to continue, e.g. --max-iters "
                        f"{iteration * 2}")


def step_bound(config: RunConfig, *, epoch_length: int) -> int:
    """The steps the whole run may take: the epochs' steps, or --max-iters if fewer."""
    bound = config.total_epochs * math.ceil(epoch_length / config.batch)
    return bound if config.max_iters is None else min(bound, config.max_iters)
