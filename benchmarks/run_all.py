"""``make bench``: run every benchmark and write benchmarks/RESULTS.md from the numbers.

    python benchmarks/run_all.py                 # everything (about 30 minutes on a 2-core CPU)
    python benchmarks/run_all.py --quick         # shorter repeats and a 2-minute quality run
    python benchmarks/run_all.py --only pipeline # measure one section again, keep the others
    python benchmarks/run_all.py --merge gpu-logs/all.json  # add the GPU section measured on a GPU machine
                                                 # (benchmarks/gpu_checks.sh there)
    python benchmarks/run_all.py --render        # rewrite RESULTS.md from the stored results

Raw results go to benchmarks/results/*.json; RESULTS.md is generated from them, so it always
shows the latest run with its command, machine, date and versions.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from gpu_profile import profile_generator  # noqa: E402
from pipeline_speed import measure_flicker  # noqa: E402
from quality import run_quality  # noqa: E402
from quality_curves import draw as draw_curves  # noqa: E402
from quality_curves import label as variant_label  # noqa: E402
from train_speed import loss_agreement as measure_agreement  # noqa: E402
from train_speed import measure as measure_training  # noqa: E402

from cgan.bench.inference import benchmark, format_table, pipeline_fps  # noqa: E402
from cgan.fileio import atomic_write_text  # noqa: E402
from cgan.modelfile import new_meta, save_model  # noqa: E402
from cgan.nets import build_generator, preset_config  # noqa: E402
from cgan.sampledata import build_unpaired_dataset  # noqa: E402
from cgan.train.config import FAST_PROFILE  # noqa: E402


def paper_generator(folder: Path) -> Path:
    """resnet9 ngf 64 with weights at a trained model's scale (speed does not depend on their values)."""
    torch.manual_seed(0)
    config = preset_config("resnet9")
    net = build_generator(config)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2)
    return save_model(net, folder / "resnet9.safetensors", new_meta(config, "resnet9", "photo", "graded"))


def inference_section(folder: Path, quick: bool) -> dict:
    model = paper_generator(folder)
    print("inference (resnet9 ngf 64) ...", flush=True)
    result = benchmark(str(model), sizes="256,512" if quick else "256,512,720p", batches=[1],
                       max_seconds=10 if quick else 30, pipeline=False, device="cpu")
    batch4 = benchmark(str(model), sizes="256", batches=[4], max_seconds=10 if quick else 30, pipeline=False,
                       device="cpu")
    result["rows"] += batch4["rows"]
    return result


def pipeline_section(folder: Path, quick: bool) -> list:
    print("video pipeline ...", flush=True)
    small = build_generator(preset_config("resnet6", ngf=32))
    model = save_model(small, folder / "resnet6.safetensors", new_meta(small.config, "resnet6"))
    return [pipeline_fps(str(model), half, device="cpu") for half in (False, True)]


def training_section(folder: Path, quick: bool) -> dict:
    print("training speed ...", flush=True)
    data = build_unpaired_dataset(folder / "data", n_train=40, n_test=8, size=288)
    rows = []
    for name, batch, blocks, iters in [("small", 1, 5, 8), ("small", 4, 3, 4), ("paper", 1, 3, 3), ("paper", 4, 2, 2)]:
        if quick:
            blocks, iters = 2, min(iters, 3)
        row = measure_training(name, batch, blocks, iters, data, amp=True)
        print(f"  {name} batch {batch}: {row['speedup']:.2f}x", flush=True)
        rows.append(row)
    print("loss curves, bf16 against fp32 ...", flush=True)
    agreement = measure_agreement(data, HERE / "results" / "loss_agreement.png", 100 if quick else 300)
    return {"rows": rows, "loss_agreement": agreement}


def quality_section(folder: Path, quick: bool) -> dict:
    minutes = 2 if quick else 10
    checkpoints = [m for m in (2, 5, 10) if m <= minutes]
    print("quality task, the paper's defaults ...", flush=True)
    paper = run_quality(minutes, checkpoints)
    print("quality task, --fast ...", flush=True)
    trained = folder / "quality_G_AtoB.safetensors"
    fast = run_quality(minutes, checkpoints, keep_model=trained, fast=True)
    variants = [json.loads(p.read_text()) for p in sorted((HERE / "results" / "fast_start").glob("*.json"))]
    draw_curves([paper, *variants, fast], HERE / "results" / "time_to_quality.png")
    print("flicker ...", flush=True)
    return {"quality": paper, "fast": fast, "flicker": measure_flicker(str(trained), 320, 240, 24 if quick else 48)}


def gpu_section(folder: Path, quick: bool) -> dict:
    """Inference, the video pipeline and training speed on the GPU, each against PyTorch fp32 eager there."""
    model = paper_generator(folder)
    print(f"GPU inference (resnet9 ngf 64) on {torch.cuda.get_device_name(0)} ...", flush=True)
    seconds = 3 if quick else 10
    result = benchmark(str(model), ["torch", "onnxruntime", "tensorrt"], sizes="256,512,720p,1080p", batches=[1],
                       max_seconds=seconds, pipeline=False, device="cuda")
    result["rows"] += benchmark(str(model), ["torch"], sizes="256", batches=[8], max_seconds=seconds,
                                pipeline=False, device="cuda")["rows"]
    print("GPU profile of one 720p call ...", flush=True)
    result["profile"] = profile_generator(720, 1280)
    print("GPU video pipeline (resnet9 ngf 64, 1280x720) ...", flush=True)
    result["pipeline"] = [pipeline_fps(str(model), half, 1280, 720, 96, device="cuda") for half in (False, True)]
    print("GPU training speed ...", flush=True)
    data = build_unpaired_dataset(folder / "data", n_train=40, n_test=8, size=288)
    result["training"] = []
    for name, batch in [("small", 1), ("small", 4), ("paper", 1), ("paper", 4)]:
        for channels_last in (True, False):
            row = measure_training(name, batch, 3, 4 if quick else 10, data, amp=True, device="cuda",
                                   channels_last=channels_last)
            print(f"  {name} batch {batch} {row['layout']}: {row['speedup']:.2f}x", flush=True)
            result["training"].append(row)
    return result


SECTIONS = {"inference": inference_section, "pipeline": pipeline_section, "training": training_section,
            "quality": quality_section, "gpu": gpu_section}
OPTIONAL = {"gpu"}  # measured only where a CUDA GPU is present; elsewhere the last results are kept


def run(quick: bool, only: list[str], previous: dict) -> dict:
    results = dict(previous)
    measured = results.setdefault("measured", {})
    with tempfile.TemporaryDirectory() as tmp:
        for name in only:
            if name == "gpu" and not torch.cuda.is_available():
                print("gpu: no CUDA GPU here, keeping the last GPU results", flush=True)
                continue
            results[name] = SECTIONS[name](Path(tmp), quick)
            measured[name] = f"{datetime.date.today().isoformat()}, `{' '.join(['benchmarks/run_all.py', *sys.argv[1:]])}`"
    return results


def pipeline_table(pipelines: list[dict]) -> list[str]:
    lines = ["| backend | clip | model alone (fps) | pipeline (fps) | pipeline / model |", "|---|---|---|---|---|"]
    for p in pipelines:
        lines.append(f"| {p['backend']} | {p['clip']} | {p['raw_model_fps']:.2f} | {p['pipeline_fps']:.2f} | "
                     f"**{p['ratio']:.2f}** |")
    return lines


def _variant_row(result: dict) -> str:
    """A table row: the settings, the gain at 2, 5 and 10 minutes, and the iterations in 10 minutes."""
    at = {s["minutes"]: s for s in result["scores"]}
    cells = [f"{at[m]['gain_db']:+.2f} dB" if m in at else "-" for m in (2, 5, 10)]
    return f"| {variant_label(result)} | {' | '.join(cells)} | {at.get(10, {}).get('iterations', '-')} |"


def markdown(r: dict) -> str:
    inference = r["inference"]
    m = inference["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (`benchmarks/run_all.py`). The machines are shared and noisy: every",
        "comparison is a ratio measured in one run, from medians of repeats. Sections measured: "
        + "; ".join(f"{name} {when}" for name, when in r["measured"].items()) + ".",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), bf16 instructions: "
        f"{'yes' if m['cpu_bf16'] else 'no'}, GPU: {m['gpu'] or 'none'}; Python {m['python']}, {versions}.",
        "",
        "Measured ceilings (matrix multiply): " + ", ".join(f"{k} {v:.0f} GFLOP/s"
                                                           for k, v in inference["ceilings_gflops"].items()) + ".",
        "",
        "## Inference: resnet9 ngf 64 (49.6 G MACs at 256x256), every backend against PyTorch fp32 eager",
        "",
        format_table(inference["rows"]),
        "",
        "% of peak counts the convolutions as direct multiply-adds against the matmul ceiling of the same",
        "precision; oneDNN runs fp32 3x3 convolutions with Winograd kernels that need fewer multiplications,",
        "so fp32 rows can exceed 100%. PSNR vs fp32 compares each output with PyTorch fp32's on the same input.",
        "Backends not available here: " + ("; ".join(f"{k} ({v})" for k, v in inference["skipped"].items()) or "none") + ".",
        "",
        "## Video pipeline: end to end against the model alone (resnet6 ngf 32, batch 1)",
        "",
        *pipeline_table(r["pipeline"]),
        "",
        "## Training speed: cgan's step against the plain fp32 eager textbook step",
        "",
        "Same networks (70x70 PatchGAN ndf 64), same batches; data loading excluded from both. The textbook step",
        "is the reference CycleGAN procedure written plainly (`TextbookStep` in `train_speed.py`).",
        "",
        "| config | batch | textbook fp32 (s/iter) | cgan (s/iter) | cgan precision | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for t in r["training"]["rows"]:
        lines.append(f"| {t['preset']} ngf {t['ngf']}, {t['size']}x{t['size']} | {t['batch']} | "
                     f"{t['textbook_s_per_iter']:.3f} | {t['cgan_s_per_iter']:.3f} | {t['cgan_precision']} | "
                     f"**{t['speedup']:.2f}x** |")
    lines += [
        "",
        "Where a step's time goes (torch.profiler, resnet6 ngf 32 at 64x64): convolution backward about 45%,",
        "convolution forward about 20%, the rest normalisation, padding and the optimiser. Kept: bf16 autocast",
        "(0.145 -> 0.110 s/iter at 64x64, 5.9 -> 3.6 s/iter at 256x256) and fused Adam on the CPU",
        "(0.110 -> 0.096 s/iter; foreach Adam is a per-tensor loop on CPUs). Measured and left to GPUs only:",
        "channels_last (0.110 -> 0.116 s/iter at 64x64 and 3.64 -> 3.85 at 256x256 on this CPU).",
        "",
        "Loss curves of the small config trained from the same seed in fp32 and with cgan's bf16 autocast",
        "(`results/loss_agreement.png`); mean of the last 100 iterations:",
        "",
        "| loss | fp32 | bf16 autocast |",
        "|---|---|---|",
    ]
    for name, v in r["training"]["loss_agreement"].items():
        lines.append(f"| {name} | {v['fp32_last_100']:.3f} | {v['bf16_last_100']:.3f} |")
    lines += ["", "![loss curves, fp32 and bf16](results/loss_agreement.png)"]
    q, fast = r["quality"]["quality"], r["quality"].get("fast")
    lines += [
        "",
        f"## Quality task: {q['task']}, resnet6 ngf 32 at 128x128: the paper's settings and `--fast`",
        "",
        "PSNR and SSIM of G(x) against the known answer T(x) on 32 held-out photo crops; gain = PSNR - PSNR(x, T(x)).",
        "`--fast` = " + " ".join(f"`{k}={v}`" for k, v in FAST_PROFILE.items() if k != "load_size")
        + " (crops cut from the task's 128x128 photos).",
        "",
        "| settings | minutes | iterations | PSNR (dB) | gain over doing nothing (dB) | SSIM |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in (("paper", q), ("--fast", fast)):
        for s in (result or {}).get("scores", []):
            lines.append(f"| {name} | {s['minutes']:g} | {s['iterations']} | {s['psnr']:.2f} | {s['gain_db']:+.2f} | "
                         f"{s['ssim']:.3f} |")
    lines += [
        "",
        "With the CycleGAN paper's settings the generator starts from noise: after 10 CPU minutes its",
        "translations are still blurry and checkerboarded and score below doing nothing, as the reference",
        "code does on this task (about -4.5 dB). `--fast` starts from the identity, upsamples without",
        "checkerboard, adds a per-pixel colour map to the generator (the convolutional path cannot see",
        "absolute colour: instance norm removes it) that learns at three times the rate of the rest, trains",
        "on small crops in batches of two (1.3x the images per second of single images here) without the",
        "identity loss, and keeps a moving average of the generator weights: better than doing nothing from",
        "the first minutes on.",
    ]
    final = (fast or {}).get("scores", [])[-1:]
    if final and final[0]["minutes"] >= 10:
        gain = final[0]["gain_db"]
        lines.append(f"After {final[0]['minutes']:g} minutes `--fast` gains {gain:+.2f} dB: the target of +6 dB is "
                     + ("met." if gain >= 6 else "not met in this run."))
    analyses = [json.loads(p.read_text()) for p in sorted((HERE / "results" / "error_analysis").glob("*.json"))]
    if analyses:
        rows = [("x (doing nothing)", "do_nothing"),
                ("the best single cubic colour map of x (what a pure colour change can reach)", "best_colour_map_of_x"),
                ("G(x)", "generator"),
                ("G(x) with each image's mean colour error removed", "after_removing_each_images_mean_error"),
                ("G(x) after the best global affine colour correction", "after_best_global_affine_colour_fix"),
                ("G(x) after the best global cubic colour correction", "after_best_global_cubic_colour_fix"),
                ("G(x) against its own best colour map of x (how much G(x) is a colour change)",
                 "output_against_its_best_colour_map_of_x")]
        lines += [
            "",
            "### What the remaining error is (`python benchmarks/error_analysis.py MODEL`, MODEL from "
            "`python benchmarks/quality.py --minutes 10 fast=true --keep-model MODEL`)",
            "",
            "PSNR (dB) against T(x) on the held-out pairs after least-squares colour corrections of the output",
            "(fitted on those pairs: they show what kind of error is left, they are not a method).",
            "",
            "| output | " + " | ".join(e["label"] for e in analyses) + " |",
            "|---|" + "---|" * len(analyses),
        ]
        for text, key in rows:
            lines.append(f"| {text} | " + " | ".join(f"{e[key]:.2f}" for e in analyses) + " |")
        lines += [
            "",
            "Both generators change colours and leave structure alone, as T does. Without the colour map even the",
            "best global colour correction leaves much error: instance norm right after the generator's stem",
            "removes global brightness and contrast (tests/test_nets.py shows it), so its convolutions cannot",
            "learn a tone curve on absolute colour, and the learned change varies from image to image. With it,",
            "one fixed colour correction would lift G(x) by several dB: what is left is a smooth, global",
            "miscalibration of the learned colour map, which the adversarial signal pins down slowly (the curve",
            "still rises at 10 minutes). Hence the colour map's own, higher learning rate (`colour_map_lr`).",
        ]
    long_runs = {p.stem: json.loads(p.read_text()) for p in sorted((HERE / "results" / "long_run").glob("*.json"))}
    if long_runs:
        lines += [
            "",
            "### 60 minutes: `--fast` against the paper's settings (`benchmarks/long_run.sh`)",
            "",
            "Each run pinned to one of the two cores with one thread, beside another run on the other core, so",
            "each had the same compute; minutes are each run's own training time. The rows other than the",
            "paper's and `--fast` are earlier versions of `--fast`: before the colour map (and before the moving",
            "average's warm-up), and with the colour map but in batches of one at the common learning rate.",
            "",
            "| settings | " + " | ".join(f"{s['minutes']:g} min" for s in next(iter(long_runs.values()))["scores"]) + " |",
            "|---|" + "---|" * len(next(iter(long_runs.values()))["scores"]),
        ]
        for name, result in sorted(long_runs.items(), key=lambda item: (item[0] != "paper", item[0] == "fast")):
            cells = [f"{s['gain_db']:+.2f} dB ({s['iterations']} it)" for s in result["scores"]]
            lines.append(f"| {variant_label(result)} | {' | '.join(cells)} |")
    second = [json.loads(p.read_text()) for p in sorted((HERE / "results" / "second_task").glob("*.json"))]
    second.sort(key=lambda v: (variant_label(v) != "paper defaults", variant_label(v) == "--fast"))
    if second:
        lines += [
            "",
            f"### A second task of another kind: {second[0]['task']} (an edge-preserving stylisation, "
            "`python benchmarks/quality.py --task stylise ...`)",
            "",
            "| settings | gain at 2 min | at 5 min | at 10 min | iterations in 10 min | CPU threads |",
            "|---|---|---|---|---|---|",
        ]
        for v in second:
            lines.append(f"{_variant_row(v)} {v.get('threads', 2)} |")
        if any(v.get("threads") == 1 for v in second):
            lines += ["", "One thread: pinned to one core while another run used the other (half the compute of the rest)."]
    variants = [json.loads(p.read_text()) for p in sorted((HERE / "results" / "fast_start").glob("*.json"))]
    if variants:
        lines += [
            "",
            "### Each change on its own and together (`python benchmarks/quality.py --minutes 10 --checkpoints 2,5,10 "
            "NAME=VALUE ...`)",
            "",
            "| variant | gain at 2 min | at 5 min | at 10 min | iterations in 10 min |",
            "|---|---|---|---|---|",
        ]
        for v in variants:
            lines.append(_variant_row(v))
        lines += [
            "",
            "Rows without `colour_map` were measured before the moving average got its warm-up (its decay is",
            "min(ema, (1 + step) / (10 + step)), so early on it averages over the run so far, not 1000 steps).",
            "One run's scores move from run to run by about 0.5 dB at 10 minutes and more early on (the raw",
            "weights of the same settings scored -1.1 dB and +1.8 dB at 2 minutes in two runs). The moving average",
            "(`ema`) steadies them: every two-core run with it scored +0.5 to +1.0 dB at 2 minutes, and in the",
            "60-minute runs it scored from 0.6 dB below to 1.7 dB above the raw weights from 10 minutes on",
            "(`gain_db_without_average` in the JSON files).",
        ]
        with_map = [v for v in [*variants, fast or {}]
                    if v.get("settings", {}).get("colour_map") or v.get("settings", {}).get("fast")]
        pairs = [(s["gain_db"], s["gain_db_without_average"]) for v in with_map for s in v["scores"]
                 if s["minutes"] == 10 and "gain_db_without_average" in s]
        if pairs:
            lines += [
                "With the colour map the curve still climbs at 10 minutes, where the average and the raw weights",
                "stay within about 0.5 dB of each other, either way (average / raw weights at 10 minutes, each run: "
                + ", ".join(f"{a:+.2f} / {r:+.2f}" for a, r in pairs) + " dB).",
            ]
        lines += ["", "![time to quality](results/time_to_quality.png)"]
    f = r["quality"]["flicker"]
    lines += [
        "",
        "## Flicker with and without `--temporal` (the quality task's generator, a 320x240 panning clip)",
        "",
        "Mean absolute difference between consecutive frames (0-255). The motion-compensated figure first warps",
        "the previous output by the input's optical flow, so it counts change that is not motion (the input",
        "clip's own figure is the error of the flow).",
        "",
        "| frames | consecutive MAD | motion-compensated MAD |",
        "|---|---|---|",
    ]
    for name in ("input", "plain", "temporal"):
        lines.append(f"| {name} | {f[name]['consecutive_mad']:.2f} | {f[name]['motion_compensated_mad']:.2f} |")
    if "gpu" in r:
        lines += gpu_markdown(r["gpu"])
    lines.append("")
    return "\n".join(lines)


def gpu_markdown(g: dict) -> list[str]:
    m = g["machine"]
    lines = [
        "",
        f"## GPU: {m['gpu']}",
        "",
        f"Host: {m['cpu']}, {m['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ". "
        "Measured ceilings (matrix multiply): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in
                                                            g["ceilings_gflops"].items() if k.startswith("cuda")) + ".",
        "",
        "### Inference: resnet9 ngf 64, against PyTorch CUDA fp32 eager",
        "",
        "Each call includes the host-to-GPU copy of the batch and the copy of the result back, as in the",
        "runtime. Peak MB is GPU memory. fp32 rows run convolutions on TF32 tensor cores (PyTorch's default),",
        "so their % of peak (against the plain fp32 matmul ceiling) can exceed 100%. The first row's peak memory",
        "is cuDNN's workspace while it times its algorithms for a new shape (cudnn.benchmark).",
        "",
        format_table(g["rows"]),
        "",
        "Backends not available there: " + ("; ".join(f"{k} ({v})" for k, v in g["skipped"].items()) or "none") + ".",
        "",
        "### Video pipeline on the GPU (resnet9 ngf 64, batch 1)",
        "",
        *pipeline_table(g["pipeline"]),
        "",
        "Here the host side, not the GPU, sets the pace: decoding, padding and normalising, then cropping and",
        "encoding 720p frames (one reader and one writer thread) keep up with about half the model's rate.",
    ]
    if "profile" in g:
        p = g["profile"]
        lines += [
            "",
            f"### Where a 720p call's GPU time goes (`benchmarks/gpu_profile.py`, {p['gflop']:.0f} GFLOP per call)",
            "",
            "Model alone (input already on the GPU), CUDA-event medians:",
            "",
            "| precision and layout | eager (ms) | CUDA graph (ms) | TFLOP/s |",
            "|---|---|---|---|",
        ]
        for name, v in p["variants"].items():
            lines.append(f"| {name} | {v['eager_ms']:.2f} | {v['graph_ms']:.2f} | {v['tflops_graph']:.0f} |")
        lines += [
            "",
            f"Transfers of the fp32 frame: upload {p['upload_pageable_ms']:.2f} ms from pageable memory "
            f"({p['upload_pinned_ms']:.2f} ms pinned), download {p['download_ms']:.2f} ms.",
            f"Kernels of {p['profiled']}, share of GPU time:",
            "",
            "| share | calls per image | kernel |",
            "|---|---|---|",
        ]
        for k in p["kernels"][:8]:
            lines.append(f"| {100 * k['share']:.1f}% | {k['calls_per_image']:g} | `{k['name'][:70]}` |")
        lines += [
            "",
            "Instance normalisation (the two batch_norm kernels) and reflection padding, both memory-bound, take",
            "more GPU time than the convolutions, and cuDNN converts layouts around its fp16 convolutions. With",
            "channels_last tensors the whole call is slower still (table above), so the runtime and the trainer",
            "keep NCHW on GPUs. Fusing normalisation, activation and padding (TensorRT, or torch.compile) is where",
            "the remaining speed is.",
        ]
    lines += [
        "",
        "### Training speed on the GPU: cgan's step (fp16 autocast, gradient scaling, fused Adam) in both memory",
        "layouts, against the textbook fp32 eager NCHW step (PyTorch's default Adam)",
        "",
        "| config | batch | textbook fp32 (s/iter) | cgan (s/iter) | cgan precision | cgan layout | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in g["training"]:
        lines.append(f"| {t['preset']} ngf {t['ngf']}, {t['size']}x{t['size']} | {t['batch']} | "
                     f"{t['textbook_s_per_iter']:.4f} | {t['cgan_s_per_iter']:.4f} | {t['cgan_precision']} | "
                     f"{t.get('layout', 'NHWC')} | **{t['speedup']:.2f}x** |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--merge", type=Path, default=None,
                        help="take the GPU section from another machine's results/all.json and rewrite RESULTS.md")
    parser.add_argument("--render", action="store_true", help="rewrite RESULTS.md from the stored results only")
    parser.add_argument("--only", default=None,
                        help=f"sections to measure again ({', '.join(SECTIONS)}); the others keep their last results")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else ([] if args.merge or args.render else list(SECTIONS))
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {', '.join(sorted(unknown))}")
    (HERE / "results").mkdir(exist_ok=True)
    stored = HERE / "results" / "all.json"
    previous = json.loads(stored.read_text()) if stored.is_file() else {}
    if set(only) >= set(SECTIONS) - OPTIONAL:  # a full run starts afresh, keeping only what it cannot measure here
        previous = {k: v for k, v in previous.items() if k in OPTIONAL or k == "measured"}
        previous["measured"] = {k: v for k, v in previous.get("measured", {}).items() if k in OPTIONAL}
    missing = set(SECTIONS) - OPTIONAL - set(only) - set(previous)
    if missing:
        parser.error(f"no earlier results for {', '.join(sorted(missing))}: run them too")
    if args.merge:
        other = json.loads(args.merge.read_text())
        if "gpu" not in other:
            parser.error(f"{args.merge} holds no GPU section")
        previous["gpu"] = other["gpu"]
        previous.setdefault("measured", {})["gpu"] = other["measured"]["gpu"]
    results = run(args.quick, only, previous)
    atomic_write_text(stored, json.dumps(results, indent=2))
    atomic_write_text(HERE / "RESULTS.md", markdown(results))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
