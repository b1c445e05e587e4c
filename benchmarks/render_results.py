"""RESULTS.md from the result files alone: ``results/all.json`` (what ``make bench`` measured), the
quality runs in ``results/{fast_start,second_task,long_run,error_analysis}/`` and the one-off
measurements in ``results/recorded/``. Every number on the page comes from one of them; what the numbers
say is Markdown in ``findings/`` (prose.py), and each renderer builds its section's tables.

    python -m benchmarks.run_all --render    # rewrite RESULTS.md from the stored results
"""
from __future__ import annotations

import json
from pathlib import Path

from .prose import prose
from .render_contention import contention
from .render_families import families, family_ceilings
from .render_formats import formats
from .render_no_bf16 import no_bf16
from .render_gpu import gpu_sections, pipeline_table
from .render_objectives import drift_trace, objectives, objectives_beyond_10, stylise_ceiling
from .render_quality import error_analysis, long_runs, quality, second_task, variants
from .render_students import student_candidates, student_pipeline, students
from .render_web import web_speed
from .result_files import RESULTS, read_folder, read_recorded

from cgan.bench.inference import format_table
from cgan.nets import build_generator, count_macs, preset_config


def render(r: dict) -> str:
    """The whole page, section by section."""
    sections = [header(r), inference(r["inference"]), pipeline(r["pipeline"]), training(r["training"]),
                quality(r["quality"]), error_analysis(read_folder("error_analysis")),
                long_runs(read_folder("long_run")), second_task(read_folder("second_task")),
                variants(read_folder("fast_start"), r["quality"].get("fast")), flicker(r["quality"]["flicker"]),
                *(students(result) for result in read_folder("distill")),
                student_candidates(RESULTS / "student_candidates.json"),
                student_pipeline(RESULTS / "student_pipeline.json"), compiled_on_cpu(RESULTS / "compile_cpu.json"),
                soak(RESULTS / "soak.json"), host_pipeline(RESULTS / "host_pipeline.json"),
                objective_speed(RESULTS / "objective_speed.json"),
                objectives(read_folder("objectives")), objectives_beyond_10(read_folder("objectives_long")),
                drift_trace(RESULTS / "drift_trace.json"), stylise_ceiling(RESULTS / "stylise_ceiling.json"),
                families(read_folder("families")),
                family_ceilings(read_folder("family_ceiling"), read_folder("families")),
                safety_cost(RESULTS / "safety_cost.json"), contention(RESULTS / "contention.json"),
                formats(RESULTS / "formats.json"), litert_edges(RESULTS / "litert_edges.json"),
                no_bf16(RESULTS / "no_bf16.json"),
                float_output(RESULTS / "float_output.json"), web_speed(RESULTS / "web_speed.json")]
    if "gpu" in r:
        sections.append(gpu_sections(r["gpu"]))
    return "\n".join(line for section in sections for line in section) + "\n"


def header(r: dict) -> list[str]:
    m = r["inference"]["machine"]
    return prose("header", m=m, measured="; ".join(f"{name} {when}" for name, when in r["measured"].items()),
                 versions=", ".join(f"{k} {v}" for k, v in m["versions"].items()),
                 ceilings=", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in r["inference"]["ceilings_gflops"].items()))


def inference(result: dict) -> list[str]:
    # The benchmark's own model (run_all.paper_generator): its MAC count follows from the architecture.
    macs = count_macs(build_generator(preset_config("resnet9")), 256, 256)
    return [
        "",
        f"## Inference: resnet9 ngf 64 ({macs / 1e9:.1f} G MACs at 256x256), every backend against PyTorch fp32 eager",
        "",
        format_table(result["rows"]),
        "",
        *prose("inference"),
        *fastest_paths(result["rows"]),
        "Backends not available here: "
        + ("; ".join(f"{k} ({v})" for k, v in result["skipped"].items()) or "none") + ".",
    ]


def fastest_paths(rows: list[dict]) -> list[str]:
    """Which backend and precision wins at each size and batch, and by how much over PyTorch fp32 eager."""
    cases: dict[tuple, dict] = {}
    for row in rows:
        key = (row["size"], row["batch"])
        if key not in cases or row["images_per_s"] > cases[key]["images_per_s"]:
            cases[key] = row
    return ["Fastest path on this CPU: " + "; ".join(
        f"{size}, batch {batch}: {r['backend']} {r['precision']} ({r['speedup']:.2f}x"
        + (f", {r['psnr_vs_fp32']:.1f} dB)" if r["psnr_vs_fp32"] is not None else ")")
        for (size, batch), r in cases.items()) + "."]


def pipeline(pipelines: list[dict]) -> list[str]:
    return ["", "## Video pipeline: end to end against the model alone (resnet6 ngf 32, batch 1)", "",
            *pipeline_table(pipelines)]


def training(result: dict) -> list[str]:
    lines = [
        "",
        "## Training speed: cgan's step against the plain fp32 eager textbook step",
        "",
        *prose("training"),
        "",
        "| config | batch | textbook fp32 (s/iter) | cgan (s/iter) | cgan precision | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for t in result["rows"]:
        lines.append(f"| {t['preset']} ngf {t['ngf']}, {t['size']}x{t['size']} | {t['batch']} | "
                     f"{t['textbook_s_per_iter']:.3f} | {t['cgan_s_per_iter']:.3f} | {t['cgan_precision']} | "
                     f"**{t['speedup']:.2f}x** |")
    lines += training_choices(read_recorded("cpu_training_choices"))
    lines += [
        "",
        *prose("training_loss_agreement"),
        "",
        "| loss | fp32 | bf16 autocast |",
        "|---|---|---|",
    ]
    for name, v in result["loss_agreement"].items():
        lines.append(f"| {name} | {v['fp32_last_100']:.3f} | {v['bf16_last_100']:.3f} |")
    return lines + ["", "![loss curves, fp32 and bf16](results/loss_agreement.png)"]


def training_choices(c: dict) -> list[str]:
    """Why the trainer runs bf16 autocast, fused Adam and NCHW on CPUs (results/recorded/cpu_training_choices.json)."""
    seconds = c["seconds_per_iteration"]
    return ["", *prose("training_choices", c=c, share=c["step_time_share_at_64"], small=seconds["64x64"],
                       large=seconds["256x256"])]


def flicker(f: dict) -> list[str]:
    lines = [
        *prose("flicker"),
        "",
        "| frames | consecutive MAD | motion-compensated MAD |",
        "|---|---|---|",
    ]
    for name in ("input", "plain", "temporal"):
        lines.append(f"| {name} | {f[name]['consecutive_mad']:.2f} | {f[name]['motion_compensated_mad']:.2f} |")
    return lines


def compiled_on_cpu(path: Path) -> list[str]:
    """``--compile`` (torch.compile) on the CPU against eager and OpenVINO, from one ``cgan benchmark`` run."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    rows = {(r["backend"], r["precision"], r["size"]): r for r in d["rows"]}
    sizes = list(dict.fromkeys(r["size"] for r in d["rows"]))
    ratios = "; ".join(f"{size}: {rows['torch compiled', 'bf16', size]['images_per_s'] / rows['torch', 'bf16', size]['images_per_s']:.2f}x"
                       for size in sizes if ("torch compiled", "bf16", size) in rows and ("torch", "bf16", size) in rows)
    return [*prose("compiled_on_cpu", d=d, ratios=ratios), "", format_table(d["rows"])]


def soak(path: Path) -> list[str]:
    """Memory and frame rate over a long stream (benchmarks/soak.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    windows = d["windows"]
    return [*prose("soak", d=d), "",
            "| frames | resident MB | frames/s in the window |", "|---|---|---|",
            *(f"| {w['frames']} | {w['rss_mb']:.0f} | {w['fps']:.1f} |" for w in windows)]


def host_pipeline(path: Path) -> list[str]:
    """What the host sustains around a fast model (benchmarks/host_pipeline.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    lines = [*prose("host_pipeline", d=d), "",
             "| clip | decode to RGB (ms/frame) | encode, OpenCV converts | encode, encoder converts | "
             "copy model: fps, OpenCV / encoder | wait model (ms) | its ideal fps | wait model: fps, OpenCV / encoder |",
             "|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        st, fps = r["stage_ms"], r["pipeline_fps"]
        wait = (f"{r['model_ms']:.1f} | {1000 / r['model_ms']:.1f} | **{fps['wait, converted by OpenCV']:.1f}** / "
                f"{fps['wait, converted by encoder']:.1f}") if r["model_ms"] else "- | - | -"
        lines.append(f"| {r['clip']} | {st['decode to RGB']:.1f} | {st['encode, converted by OpenCV']:.1f} | "
                     f"{st['encode, converted by encoder']:.1f} | **{fps['copy, converted by OpenCV']:.1f}** / "
                     f"{fps['copy, converted by encoder']:.1f} | {wait} |")
    return lines


def objective_speed(path: Path) -> list[str]:
    """Step time and peak memory per objective (benchmarks/objective_speed.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    return [*prose("objective_speed", d=d), "",
            "| objective | ms per step | spread | x cyclegan | peak resident MB |", "|---|---|---|---|---|",
            *(f"| {r['objective']} | {1000 * r['s_per_step']:.0f} | {1000 * r['spread'][0]:.0f}-"
              f"{1000 * r['spread'][1]:.0f} | **{r['speedup_vs_cyclegan']:.2f}x** | {r['peak_mb']:.0f} |"
              for r in d["rows"])]


def safety_cost(path: Path) -> list[str]:
    """What the guards against hostile model files cost (benchmarks/safety_cost.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    lines = [*prose("safety_cost", d=d), "",
             "| model | file | graph check | ONNX Runtime: plain / guarded | OpenVINO uint8: plain / guarded |",
             "|---|---|---|---|---|"]
    for row in d["rows"]:
        calls = [f"{row[e]['plain_ms']:.2f} / {row[e]['guarded_ms']:.2f} ms "
                 f"({row[e]['guarded_ms'] / row[e]['plain_ms']:.3f}x)" if e in row else "-"
                 for e in ("onnxruntime", "openvino")]
        lines.append(f"| {row['model']} | {row['file_mb']} MB | {row['graph_check_ms']:.0f} ms | {' | '.join(calls)} |")
    return lines


def litert_edges(path: Path) -> list[str]:
    """The filter's LiteRT file with --edge-map's features in PyTorch's form and in the XNNPACK form
    (benchmarks/litert_edges.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())

    def db(value: float | None) -> str:
        return "not emulated here" if value is None else f"{value:.1f} dB"

    return [*prose("litert_edges", d=d), "",
            "| frame | features converted as | images/s | rounds | PSNR, fp32 | PSNR, fp16 arithmetic (emulated) |",
            "|---|---|---|---|---|---|",
            *(f"| {r['size']} | {r['form']} | **{r['images_per_s']:.1f}** | "
              f"{', '.join(f'{v:.1f}' for v in r['rates'])} | {db(r['psnr_fp32'])} | {db(r['psnr_fp16_arithmetic'])} |"
              for r in d["rows"])]


def float_output(path: Path) -> list[str]:
    """A float output turned into an image by NumPy and by OpenCV (benchmarks/float_output.py)."""
    if not path.is_file():
        return []
    d = json.loads(path.read_text())
    spread = max(max(runs) / min(runs) for r in d["translate"] for runs in r["runs"].values())
    return [*prose("float_output", d=d), "",
            "| frame | NumPy (ms) | OpenCV (ms) | ratio |", "|---|---|---|---|",
            *(f"| {c['size']} | {c['numpy_ms']:.2f} | {c['opencv_ms']:.2f} | **{c['numpy_ms'] / c['opencv_ms']:.1f}x** |"
              for c in d["conversion"]),
            "", "| model | path | end to end, NumPy (frames/s) | end to end, OpenCV | runs, NumPy / OpenCV |",
            "|---|---|---|---|---|",
            *(f"| {r['model']} | {r['path']} | {r['numpy_fps']:.1f} | {r['opencv_fps']:.1f} | "
              f"{', '.join(f'{f:.1f}' for f in r['runs']['numpy'])} / {', '.join(f'{f:.1f}' for f in r['runs']['opencv'])} |"
              for r in d["translate"]),
            "", *prose("float_output_reading", d=d, spread=spread)]
