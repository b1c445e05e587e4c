"""The filter's LiteRT file with ``--edge-map``'s features as litert-torch converts PyTorch's form (replicate padding
as GATHER_ND, the channel sum as SUM) and in the converter's XNNPACK form (slices and concatenations, a 1x1
convolution of ones: export/litert_convert.py), side by side in one process, the rounds alternating: images per
second at 256x256 and 640x480, and each file's PSNR against PyTorch in fp32 and in XNNPACK's emulated fp16
arithmetic. Needs litert-torch (``pip install "cgan[tflite]"``).

    python -m benchmarks.litert_edges --json benchmarks/results/litert_edges.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .formats import model_file

SIZES = ((256, 256), (480, 640))
FORMS = {"PyTorch's form (GATHER_ND, SUM)": False, "XNNPACK form (slices, 1x1 convolution)": True}


def write(model: Path, size: tuple[int, int], xnnpack_form: bool, path: Path) -> Path:
    import litert_torch

    from cgan.export.litert_convert import convertible
    from cgan.modelfile import load_model

    net = load_model(model, "AtoB").eval()
    if xnnpack_form:
        net = convertible(net)
    litert_torch.convert(net, (torch.zeros(1, 3, *size),)).export(str(path))
    return path


def rate(runner, x: np.ndarray, seconds: float) -> float:
    """Images per second: the median call over ``seconds``."""
    from cgan.bench.inference import time_runs

    return 1 / statistics.median(time_runs(lambda: runner.run(x[0]), min_seconds=seconds, max_seconds=seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.5, help="per file and round")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/litert_edges.json"))
    args = parser.parse_args()
    from cgan.bench.machine import describe_machine
    from cgan.export.litert_convert import fp16_arithmetic_outputs
    from cgan.export.verify import check_inputs, psnr_of
    from cgan.fileio import atomic_write_text
    from cgan.modelfile import load_model
    from cgan.tflite_file import TfliteRunner

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = model_file(folder, "filter")  # (weights off the identity start: an output unlike its input)
        net = load_model(model, "AtoB").eval()
        rows, timed = [], []  # (a row, the runner and input it times)
        for h, w in SIZES:
            x = check_inputs([(1, 3, h, w)], saturated=True)[0]
            with torch.no_grad():
                expected = net(x).numpy()
            for form, xnnpack_form in FORMS.items():
                path = write(model, (h, w), xnnpack_form, folder / f"{h}x{w}-{int(xnnpack_form)}.tflite")
                runner = TfliteRunner(path, threads=2)
                emulated = fp16_arithmetic_outputs(str(path), x.numpy())
                fp16 = None if emulated is None else psnr_of(np.abs(emulated - expected))
                rows.append({"form": form, "size": f"{w}x{h}", "rates": [], "psnr_fp16_arithmetic": fp16,
                             "psnr_fp32": psnr_of(np.abs(runner.run(x.numpy()[0])[None] - expected))})
                timed.append((rows[-1], runner, x.numpy()))
        for _ in range(args.rounds):
            for row, runner, x in timed:
                row["rates"].append(rate(runner, x, args.seconds))
    for row in rows:
        row["images_per_s"] = statistics.median(row["rates"])
        print(f"{row['size']} {row['form']}: {row['images_per_s']:.1f} images/s, {row['psnr_fp32']:.1f} dB, "
              f"fp16 arithmetic {row['psnr_fp16_arithmetic']}", flush=True)
    result = {"measured": time.strftime("%Y-%m-%d"), "machine": describe_machine(), "rows": rows,
              "command": f"python -m benchmarks.litert_edges --rounds {args.rounds} --seconds {args.seconds:g}"}
    atomic_write_text(args.json, json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
