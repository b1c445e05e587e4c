"""One progress bar for a whole training run, with its rate and ETA.

A run is bounded by steps (--max-iters, or the epochs times the steps in one) and by time (--max-time): the bar
counts steps out of whichever bound comes first, where the time bound becomes the steps expected to fit in it at
the rate of this session so far. The epoch is shown in the label, the latest losses after the bar.
"""
from __future__ import annotations

import math
import sys

from tqdm import tqdm

from ..log import progress_bars_shown


class RunProgress:
    def __init__(self, *, iteration: int, elapsed: float, step_bound: int | None, time_bound: float | None,
                 enabled: bool) -> None:
        self.step_bound, self.time_bound = step_bound, time_bound
        self._start_iteration, self._start_elapsed = iteration, elapsed
        self.bar = tqdm(total=step_bound, initial=iteration, unit="step", dynamic_ncols=True,
                        disable=not (enabled and progress_bars_shown()),
                        mininterval=0.1 if sys.stderr.isatty() else 10.0)  # a log file gets a line every 10 s

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Label the bar with the epoch under way (1-based)."""
        self.bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)

    def expected_total(self, iteration: int, elapsed: float) -> int | None:
        """The step the run will stop at: the step bound, or the steps that fit in the time left at this session's
        rate so far, whichever is fewer (None while neither is known)."""
        total = self.step_bound
        spent, done = elapsed - self._start_elapsed, iteration - self._start_iteration
        if self.time_bound is not None and spent > 0 and done > 0:
            in_time = iteration + math.ceil(max(0.0, self.time_bound - elapsed) * done / spent)
            total = in_time if total is None else min(total, in_time)
        return None if total is None else max(total, iteration)

    def advance(self, iteration: int, elapsed: float) -> None:
        """One more step done: ``iteration`` steps in all, ``elapsed`` seconds of training over the whole run."""
        total = self.expected_total(iteration, elapsed)
        if total != self.bar.total:
            self.bar.total = total
        self.bar.update(iteration - self.bar.n)

    def show_losses(self, losses: dict[str, float]) -> None:
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)

    def close(self) -> None:
        self.bar.close()
