"""Time-to-quality curves: PSNR gain over doing nothing against minutes of CPU training, one line per variant.

    python -m benchmarks.quality_curves results/quality_*.json -o results/time_to_quality.png

Each input is a JSON written by ``quality.py --json`` (or ``results/all.json``: its paper and --fast runs).
``make bench`` draws results/time_to_quality.png from its own runs and results/fast_start/*.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from cgan.presets import FILTER_OPTIONS
from cgan.train.fast import FAST_PROFILE


def label(result: dict) -> str:
    defaults = {"preset", "ngf", "ndf", "size", "load_size", "val_images", "val_size", "log_every", "epochs",
                "epochs_decay", "seed"}
    settings = result["settings"]
    if settings.get("epochs_decay"):  # a learning rate that decays within the run: say when
        defaults -= {"epochs", "epochs_decay"}
    if settings.get("seed"):  # a repeat on other crops of the photos, from another start
        defaults -= {"seed"}
    if settings.get("preset", "resnet6") != "resnet6":  # another network than the benchmark's
        defaults -= {"preset"}
    if settings.get("fast"):  # and what was changed on top of what --fast sets on this preset
        profile = dict(FAST_PROFILE)
        if settings.get("preset") == "filter":  # always its options, its colour map at the common rate (train/config.py)
            profile.update({"colour_map_lr": 1.0, **dict.fromkeys(FILTER_OPTIONS, True)})
        changed = {k: v for k, v in settings.items()
                   if (k in profile and k != "load_size" and v != profile[k])
                   or (k not in defaults and k not in profile and k != "fast")}
        return " ".join(["--fast", *(f"{k}={v}" for k, v in changed.items())])
    changed = {k: v for k, v in settings.items() if k not in defaults or (k == "size" and v != 128)}
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "paper defaults"


def draw(results: list[dict], out: Path) -> None:
    """One line per result (a ``quality.py --json`` dict), PSNR gain against minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for result in results:
        scores = result["scores"]
        ax.plot([s["minutes"] for s in scores], [s["gain_db"] for s in scores], marker="o", label=label(result))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axhline(6, color="green", linewidth=0.8, linestyle="--", label="target: +6 dB at 10 min")
    ax.set_xlabel("minutes of training (2-core CPU)")
    ax.set_ylabel("PSNR gain over doing nothing (dB)")
    ax.set_title(f"{results[0]['task']} task, resnet6 ngf 32, 128x128 test crops")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=Path("time_to_quality.png"))
    args = parser.parse_args()
    results = []
    for path in args.results:
        result = json.loads(path.read_text())
        if "quality" in result:  # results/all.json: the paper's settings and --fast
            results += [r for r in (result["quality"]["quality"], result["quality"].get("fast")) if r]
        else:
            results.append(result)
    draw(results, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
