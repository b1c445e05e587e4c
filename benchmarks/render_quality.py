"""RESULTS.md's quality sections: the quality task at the paper's settings and ``--fast``, what the remaining error
is, 60-minute runs, a second task, and each change of ``--fast`` on its own (``benchmarks/quality.py`` and the
result folders it fills)."""
from __future__ import annotations

from .prose import prose
from .quality_curves import label as variant_label
from .result_files import read_folder, read_recorded


def variant_row(result: dict) -> str:
    """A table row: the settings, the gain at 2, 5 and 10 minutes, and the iterations in 10 minutes."""
    at = {s["minutes"]: s for s in result["scores"]}
    cells = [f"{at[m]['gain_db']:+.2f} dB" if m in at else "-" for m in (2, 5, 10)]
    return f"| {variant_label(result)} | {' | '.join(cells)} | {at.get(10, {}).get('iterations', '-')} |"


def quality(q: dict) -> list[str]:
    paper, fast = q["quality"], q.get("fast")
    reference = read_recorded("quality_reference")
    profile = {k: v for k, v in (fast or {}).get("settings", {}).items()
               if k in ("identity_start", "upsample", "colour_map", "colour_map_lr", "size", "batch",
                        "lambda_identity", "ema")}
    lines = [
        "",
        f"## Quality task: {paper['task']}, resnet6 ngf 32 at 128x128: the paper's settings and `--fast`",
        "",
        *prose("quality", profile=" ".join(f"`{k}={v}`" for k, v in profile.items())),
        "",
        "| settings | minutes | iterations | PSNR (dB) | gain over doing nothing (dB) | SSIM |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in (("paper", paper), ("--fast", fast)):
        for s in (result or {}).get("scores", []):
            lines.append(f"| {name} | {s['minutes']:g} | {s['iterations']} | {s['psnr']:.2f} | {s['gain_db']:+.2f} | "
                         f"{s['ssim']:.3f} |")
    return lines + quality_prose(reference, fast)


def quality_prose(reference: dict, fast: dict | None) -> list[str]:
    iterations = reference["images_per_second_by_batch"]["iterations"]
    batch2_rate = 2 * iterations["2"] / iterations["1"]  # images per second of batches of 2 over single images
    final = (fast or {}).get("scores", [])[-1:]
    return ["", *prose("quality_reading", reference=reference, batch2_rate=batch2_rate,
                       final=final[0] if final and final[0]["minutes"] >= 10 else None)]


ERROR_ROWS = [("x (doing nothing)", "do_nothing"),
              ("the best single cubic colour map of x (what a pure colour change can reach)", "best_colour_map_of_x"),
              ("x through a cubic colour map fitted to each image alone", "best_colour_map_of_x_per_image"),
              ("G(x)", "generator"),
              ("G(x) with each image's mean colour error removed", "after_removing_each_images_mean_error"),
              ("G(x) after the best global affine colour correction", "after_best_global_affine_colour_fix"),
              ("G(x) after the best global cubic colour correction", "after_best_global_cubic_colour_fix"),
              ("G(x) with T(x)'s near-black pixels (its drawn outlines) copied in", "with_the_truths_outlines"),
              ("G(x) against its own best colour map of x (how much G(x) is a colour change)",
               "output_against_its_best_colour_map_of_x")]

def gain_of(e: dict, key: str) -> str:
    return f"{e[key] - e['do_nothing']:+.2f} dB"


def stylise_reading(e: dict, others: list[dict]) -> list[str]:
    """What the stylise analysis of ``e`` says, from its numbers, and a line on each of ``others``."""
    return prose("stylise_reading", e=e, gain=lambda key, run=e: gain_of(run, key),
                 drawn=[run for run in (e, *others) if "truths_outlines_drawn" in run])


def error_analysis(analyses: list[dict]) -> list[str]:
    if not analyses:
        return []
    lines = prose("error_analysis")
    for task in dict.fromkeys(e["task"] for e in analyses):
        runs = [e for e in analyses if e["task"] == task]
        lines += ["", f"{task}:", "", "| output | " + " | ".join(e["label"] for e in runs) + " |",
                  "|---|" + "---|" * len(runs)]
        for text, key in (row for row in ERROR_ROWS if any(row[1] in e for e in runs)):
            lines.append(f"| {text} | " + " | ".join(f"{e[key]:.2f}" if key in e else "-" for e in runs) + " |")
        readings = {"colour-grade": lambda: prose("colour_grade_reading"),
                    "stylise": lambda: stylise_reading(runs[0], runs[1:])}
        lines += readings[task]() if task in readings else []
    return lines


def long_runs(runs: list[dict]) -> list[str]:
    if not runs:
        return []
    minutes = [s["minutes"] for s in runs[0]["scores"]]
    lines = [
        *prose("long_runs"),
        "",
        "| settings | " + " | ".join(f"{m:g} min" for m in minutes) + " |",
        "|---|" + "---|" * len(minutes),
    ]
    order = {"paper defaults": 0, "--fast": 2}
    for result in sorted(runs, key=lambda v: order.get(variant_label(v), 1)):
        cells = [f"{s['gain_db']:+.2f} dB ({s['iterations']} it)" for s in result["scores"]]
        lines.append(f"| {variant_label(result)} | {' | '.join(cells)} |")
    return lines


def second_task(runs: list[dict]) -> list[str]:
    if not runs:
        return []
    runs = sorted(runs, key=lambda v: (variant_label(v) != "paper defaults", variant_label(v) == "--fast"))
    lines = [
        "",
        f"### A second task of another kind: {runs[0]['task']} (an edge-preserving stylisation, "
        "`python -m benchmarks.quality --task stylise ...`)",
        "",
        "| settings | gain at 2 min | at 5 min | at 10 min | iterations in 10 min | CPU threads |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"{variant_row(v)} {v.get('threads', 2)} |" for v in runs]
    if any(v.get("threads") == 1 for v in runs):
        lines += ["", "One thread: pinned to one core while another run used the other (half the compute of the rest)."]
    return lines


def variants(runs: list[dict], fast: dict | None) -> list[str]:
    if not runs:
        return []
    lines = [
        "",
        "### Each change on its own and together (`python -m benchmarks.quality --minutes 10 --checkpoints 2,5,10 "
        "NAME=VALUE ...`)",
        "",
        "| variant | gain at 2 min | at 5 min | at 10 min | iterations in 10 min |",
        "|---|---|---|---|---|",
        *(variant_row(v) for v in runs),
        "",
        *average_prose(runs, fast),
        "",
        "![time to quality](results/time_to_quality.png)",
    ]
    return lines


def average_prose(runs: list[dict], fast: dict | None) -> list[str]:
    """What the moving average of the weights does to the scores, from the runs that recorded both."""
    with_ema = [v for v in runs if v["settings"].get("ema") and v.get("threads", 2) == 2]
    early = [s["gain_db"] for v in with_ema for s in v["scores"] if s["minutes"] == 2]
    differences = [s["gain_db"] - s["gain_db_without_average"] for v in read_folder("long_run") for s in v["scores"]
                   if s["minutes"] >= 10 and s.get("gain_db_without_average") is not None]
    with_map = [v for v in [*runs, fast or {}]
                if v.get("settings", {}).get("colour_map") or v.get("settings", {}).get("fast")]
    pairs = [(s["gain_db"], s["gain_db_without_average"]) for v in with_map for s in v["scores"]
             if s["minutes"] == 10 and "gain_db_without_average" in s]
    return prose("average", early=early, differences=differences, pairs=pairs)
