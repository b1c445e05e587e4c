"""Replaying a generator as CUDA graphs: one launch per batch instead of one per kernel.

A ResNet generator is about a hundred small kernels; at video sizes a fast GPU finishes each
faster than Python can launch the next, so launch overhead, not arithmetic, bounds it. A graph
is captured once per input shape (a stream's frames all share one) and replayed after that.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch


class CudaGraphRunner:
    """Calls ``net`` through a captured graph per input shape, keeping the ``max_shapes`` most recent.

    The returned tensor is the graph's own output buffer: the next call overwrites it, so callers
    copy it (to the host, usually) before calling again.
    """

    def __init__(self, net: Callable[[torch.Tensor], torch.Tensor], max_shapes: int = 4) -> None:
        self.net = net
        self.max_shapes = max_shapes
        self.graphs: OrderedDict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = OrderedDict()

    def _capture(self, x: torch.Tensor) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]:
        static_input = x.clone()  # keeps x's strides, which the graph is captured for
        # Warm-up on a side stream, as capture requires: cuDNN picks its kernels and the allocator fills
        # its cache here, outside the graph.
        side = torch.cuda.Stream(x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self.net(static_input)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_output = self.net(static_input)
        return graph, static_input, static_output

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype, x.device, x.stride())
        entry = self.graphs.get(key)
        if entry is None:
            if len(self.graphs) >= self.max_shapes:
                self.graphs.popitem(last=False)  # its memory pool is freed with it
            entry = self.graphs[key] = self._capture(x)
        else:
            self.graphs.move_to_end(key)
        graph, static_input, static_output = entry
        static_input.copy_(x)
        graph.replay()
        return static_output
