"""The GPU sections of RESULTS.md, from the ``gpu`` part of ``results/all.json`` (``benchmarks/gpu_checks.sh``
on a GPU machine, merged with ``run_all.py --merge``)."""
from __future__ import annotations

from cgan.bench.inference import format_table


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
        "Each call includes the host-to-GPU copy of the batch and the copy of the result back: float32 NCHW, or",
        "in the \"uint8 frames\" rows (where measured) the runtime's own path, uint8 frames through a pinned buffer",
        "and converted on the GPU. Peak MB is GPU memory. fp32 rows run convolutions on TF32 tensor cores",
        "(PyTorch's default), so their % of peak (against the plain fp32 matmul ceiling) can exceed 100%. The",
        "first row's peak memory is cuDNN's workspace while it times its algorithms for a new shape",
        "(cudnn.benchmark).",
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
        "The pipeline keeps up with " f"{min(ratios):.2f} to {max(ratios):.2f} of the model's rate (decoding and "
        "encoding on one reader and one writer thread; with PyTorch on CUDA, frames travel as uint8 and are "
        "converted on the GPU).",
        *one_time_work(g["pipeline"]),
    ]


def one_time_work(pipelines: list[dict]) -> list[str]:
    """For runs measured before the rate after the first frame was: how much longer each took than the model
    alone needs for its frames, the first frame's one-time work (compiling, CUDA graph capture) included."""
    old = [p for p in pipelines if "steady_fps" not in p]
    if not old:
        return []
    extra = [int(p["clip"].split(", ")[1].split()[0]) * (1 / p["pipeline_fps"] - 1 / p["raw_model_fps"]) for p in old]
    return ["", "These runs predate the rate after the first frame: their ratios are whole runs of short clips, and "
            f"each run took {min(extra):.2f} to {max(extra):.2f} s longer than the model alone needs for its frames, "
            "the backend's one-time work on the first frame included."]


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
    compiled = p["variants"].get("float16 NCHW compiled")
    if compiled:
        eager = p["variants"]["float16 NCHW"]
        speedup = eager["graph_ms"] / compiled["graph_ms"]
        return lines + ["", f"Compiled, the fp16 call takes {compiled['graph_ms']:.2f} ms against "
                        f"{eager['graph_ms']:.2f} eager (both replayed as CUDA graphs): {speedup:.2f}x."]
    return lines + [
        "",
        "Instance normalisation (the two batch_norm kernels) and reflection padding, both memory-bound, take",
        "more GPU time than the convolutions, and cuDNN converts layouts around its fp16 convolutions. With",
        "channels_last tensors the whole call is slower still (table above), so the runtime and the trainer",
        "keep NCHW on GPUs. Fusing normalisation, activation and padding (torch.compile, measured above at",
        "the video sizes, or TensorRT) is where the remaining speed is.",
    ]


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
