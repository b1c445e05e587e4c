"""How the student presets were chosen: CPU speed of candidate shapes, not their MAC counts.

    python -m benchmarks.student_candidates --json results/student_candidates.json

Each candidate is the student's layout (cgan/student_net.py: a full-resolution stem, stride-2
levels, plain residual blocks, pixel-shuffle or resize upsampling, no normalisation) at one
width, depth and block kind, measured at batch 1 in PyTorch fp32 and OpenVINO fp32 and bf16, at
256x256 and 640x480, with untrained weights (speed does not depend on their values).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from cgan.bench.inference import time_runs
from cgan.bench.machine import describe_machine
from cgan.nets import count_macs

# name: (width, stride-2 levels, residual blocks, depthwise-separable blocks, upsampling)
CANDIDATES = {
    "w16 d2 b4 (student)": (16, 2, 4, False, "shuffle"),
    "w16 d2 b4 separable": (16, 2, 4, True, "shuffle"),
    "w8 d2 b4 (student-tiny)": (8, 2, 4, False, "shuffle"),
    "w16 d1 b3": (16, 1, 3, False, "shuffle"),
    "w24 d2 b3": (24, 2, 3, False, "shuffle"),
    "w16 d2 b4 resize": (16, 2, 4, False, "resize"),
}


class Block(nn.Module):
    def __init__(self, channels: int, separable: bool) -> None:
        super().__init__()

        def conv() -> nn.Module:
            if separable:
                return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
                                     nn.Conv2d(channels, channels, 1))
            return nn.Conv2d(channels, channels, 3, padding=1)

        self.body = nn.Sequential(conv(), nn.ReLU(True), conv())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def candidate(width: int, levels: int, blocks: int, separable: bool, upsample: str) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(True)]
    channels = width
    for _ in range(levels):
        layers += [nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), nn.ReLU(True)]
        channels *= 2
    layers += [Block(channels, separable) for _ in range(blocks)]
    for _ in range(levels):
        if upsample == "shuffle":
            layers += [nn.Conv2d(channels, 2 * channels, 1), nn.PixelShuffle(2), nn.ReLU(True)]
        else:
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(channels, channels // 2, 3, padding=1), nn.ReLU(True)]
        channels //= 2
    layers.append(nn.Conv2d(channels, 3, 3, padding=1))
    return nn.Sequential(*layers).eval()


def rate(run, x) -> float:
    return 1 / statistics.median(time_runs(lambda: run(x), max_seconds=5))


def measure(net: nn.Module, height: int, width: int) -> dict:
    import openvino as ov

    x = torch.rand(1, 3, height, width) * 2 - 1
    with torch.no_grad():
        result = {"torch fp32": rate(net, x)}
    converted = ov.convert_model(net, example_input=x)
    for hint, label in (("f32", "openvino fp32"), ("bf16", "openvino bf16")):
        request = ov.Core().compile_model(converted, "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                              "INFERENCE_PRECISION_HINT": hint}).create_infer_request()
        result[label] = rate(lambda a: request.infer({0: a}), x.numpy())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for name, shape in CANDIDATES.items():
        net = candidate(*shape)
        row = {"candidate": name, "macs_256": count_macs(net, 256, 256),
               "at_256": measure(net, 256, 256), "at_640x480": measure(net, 480, 640)}
        rows.append(row)
        print(f"{name:>26}: {row['macs_256'] / 1e9:.2f} G MACs; images/s at 256x256 "
              + ", ".join(f"{k} {v:.0f}" for k, v in row["at_256"].items()) + "; at 640x480 "
              + ", ".join(f"{k} {v:.0f}" for k, v in row["at_640x480"].items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(),
                                         "command": "python -m benchmarks.student_candidates", "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
