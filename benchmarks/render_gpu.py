"""The GPU sections of RESULTS.md, from the ``gpu`` part of ``results/all.json`` (``benchmarks/gpu_checks.sh``
on a GPU machine, merged with ``run_all.py --merge``)."""
from __future__ import annotations

from cgan.bench.inference import format_table

from .prose import prose


def gpu_sections(g: dict) -> list[str]:
    return [*gpu_inference(g), *gpu_profile(g.get("profile")), *gpu_training(g)]


def pipeline_table(pipelines: list[dict]) -> list[str]:
    """End to end, and after the first frame (results from before that was measured show '-' there)."""
    lines = ["| backend | clip | model alone (fps) | pipeline (fps) | after the first frame (fps) | first frame (s) "
             "| pipeline / model |", "|---|---|---|---|---|---|---|"]
    for p in pipelines:
        steady = f"{p['steady_fps']:.2f} | {p['first_frame_s']:.2f}" if "steady_fps" in p else "- | -"
        lines.append(f"| {p['backend']} | {p['clip']} | {p['raw_model_fps']:.2f} | {p['pipeline_fps']:.2f} | "
                     f"{steady} | **{p['ratio']:.2f}** |")
    return lines


def gpu_inference(g: dict) -> list[str]:
    m = g["machine"]
    ratios = [p["ratio"] for p in g["pipeline"]]
    return [
        "",
        f"## GPU: {m['gpu']}",
        "",
        f"Host: {m['cpu']}, {m['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ". "
        "Measured ceilings (matrix multiply): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in
                                                            g["ceilings_gflops"].items() if k.startswith("cuda")) + ".",
        "",
        "### Inference: resnet9 ngf 64, against PyTorch CUDA fp32 eager",
        "",
        *prose("gpu_inference"),
        "",
        format_table(g["rows"]),
        "",
        *(["torch.compile (inductor) against the same baseline, at the video sizes; compiled once per shape first:",
           "", format_table(g["compiled_rows"]), ""] if g.get("compiled_rows") else []),
        *gpu_students(g.get("students", [])),
        "Backends not available there: " + ("; ".join(f"{k} ({v})" for k, v in g["skipped"].items()) or "none") + ".",
        "",
        "### Video pipeline on the GPU (resnet9 ngf 64, batch 1)",
        "",
        *pipeline_table(g["pipeline"]),
        "",
        *prose("gpu_pipeline", ratios=ratios, extra=one_time_work(g["pipeline"])),
    ]


def one_time_work(pipelines: list[dict]) -> list[float]:
    """For runs measured before the rate after the first frame was: how much longer each took than the model
    alone needs for its frames, the first frame's one-time work (compiling, CUDA graph capture) included."""
    old = [p for p in pipelines if "steady_fps" not in p]
    return [int(p["clip"].split(", ")[1].split()[0]) * (1 / p["pipeline_fps"] - 1 / p["raw_model_fps"]) for p in old]


def gpu_students(students: list[dict]) -> list[str]:
    """The distilled students' presets (cgan distill) at the video sizes, each against its own fp32 eager."""
    lines = []
    for student in students:
        lines += [f"Student `{student['preset']}` (`cgan distill`) at the video sizes, against its own fp32 eager:",
                  "", format_table(student["rows"]), ""]
    return lines


def gpu_profile(p: dict | None) -> list[str]:
    if not p:
        return []
    lines = [
        "",
        f"### Where a 720p call's GPU time goes (`benchmarks/gpu_profile.py`, {p['gflop']:.0f} GFLOP per call)",
        "",
        "Model alone (input already on the GPU), CUDA-event medians:",
        "",
        "| variant | without a CUDA graph (ms) | with a CUDA graph (ms) | TFLOP/s |",
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
    return lines + ["", *prose("gpu_profile", compiled=p["variants"].get("float16 NCHW compiled"),
                                eager=p["variants"]["float16 NCHW"])]


def gpu_training(g: dict) -> list[str]:
    lines = [
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
