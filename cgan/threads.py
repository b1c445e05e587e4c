"""How training shares the CPU with the user's other programs.

PyTorch's CPU kernels run on GNU OpenMP threads that, by default, spin while they wait for each other. Beside another
multi-threaded program on the same cores, a spinning thread burns the time slice that the thread it waits for
needs, and both programs slow down far more than a fair share of the cores would: the filter profile kept 0.32 to
0.33 of its alone speed beside another training or a numpy matmul on 2 cores, and 0.57 to 0.58 with waiting threads
that sleep (OMP_WAIT_POLICY=PASSIVE), no slower alone (benchmarks/contention.py, RESULTS.md). The thread count
stays PyTorch's (one per core): one thread kept more of its own alone speed (0.76 to 0.79) but was slower in
absolute terms both alone (452 against 250 ms a step) and beside other work (571 to 597 against 429 to 439 ms).

OpenMP reads its settings once, when PyTorch's library loads, so they are set before the first ``import torch``.
"""
from __future__ import annotations

import os
import sys

# What training processes start with; a value the user set in the environment wins.
TRAINING_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}
OPT_OUT = "CGAN_THREADS"  # CGAN_THREADS=off leaves PyTorch's defaults (the benchmark's baseline)


def share_cpu_with_other_programs() -> bool:
    """Set ``TRAINING_ENVIRONMENT`` where the user has not; False when it is too late (PyTorch already loaded, as in
    a program that imported it before calling ``cgan.train``) or ``CGAN_THREADS=off`` says not to."""
    if os.environ.get(OPT_OUT, "").lower() == "off" or "torch" in sys.modules:
        return False
    for name, value in TRAINING_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return True


def describe_thread_use() -> str:
    """How a CPU run uses its cores, as chosen before PyTorch loaded: its thread count and what idle threads do."""
    import torch

    policy = os.environ.get("OMP_WAIT_POLICY", "").lower()
    waits = {"passive": "idle threads sleep: other programs keep their share",
             "active": "idle threads spin"}.get(policy, "idle threads spin, then sleep (OpenMP's default)")
    return f"{torch.get_num_threads()} threads; {waits}"
