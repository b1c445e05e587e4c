"""``cgan export --format web``: a folder that translates the visitor's camera in their own browser.

The folder holds ``index.html`` and its script (``cgan/templates/web/``), the model as ONNX (exported and verified
by ONNX Runtime in Python, as ``--format onnx`` is), ``model.json`` (what the page needs of the model's metadata),
and onnxruntime-web's WebAssembly and WebGPU builds (``cgan/ort_web.py``; a visitor fetches one). It is written
beside its final place and renamed into it (``fileio.atomic_folder``), so a folder is complete or absent. Served with ``cgan serve`` (or any static host sending the
cross-origin isolation headers) the model runs on several threads.
"""
from __future__ import annotations

import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Callable

from .. import __version__
from ..errors import CganError
from ..fileio import atomic_folder, refuse_overwrite
from ..formats import exported_format
from ..modelfile import read_meta, resolve_model_path
from ..ort_web import ORT_WEB_VERSION, PAGE_RUNTIME_FILES, ort_web_files
from .onnx import export_onnx
from .options import ExportOptions, export_options
from .verify import ExportReport, ShapeCheck, stage_reporter

PAGE_FILES = ("index.html", "cgan-web.js")
STAGES = [f"onnxruntime-web {ORT_WEB_VERSION}'s WebAssembly and WebGPU files", "ONNX, verified against PyTorch",
          "the page"]


def export_web(model: str | os.PathLike, out: str | os.PathLike | None = None, options: ExportOptions | None = None,
               *, ort_web: str | os.PathLike | None = None, on_check: Callable[[ShapeCheck], None] | None = None,
               on_stage: Callable[[str, int, int], None] | None = None, **fields) -> tuple[Path, ExportReport]:
    """Write ``model``'s page folder at ``out`` (default: ``NAME-web/`` beside the model file); return the folder
    and the ONNX file's verification report. ``ort_web`` is a local copy of onnxruntime-web (else the registry's,
    checked and cached)."""
    options = export_options(options, **fields)
    if options.batch not in (None, 1):
        raise CganError("--format web translates one frame at a time: leave --batch out")
    if options.size is not None:
        raise CganError("--format web takes frames of any size (each camera has its own): leave --size out")
    if exported_format(model):
        raise CganError(f"{model} is an exported model: --format web needs the .safetensors model file (or run "
                        f"directory) it came from")
    model_path = resolve_model_path(model, options.direction)
    out = Path(out) if out else model_path.with_name(f"{model_path.stem}-web")
    refuse_overwrite(out, options.overwrite)
    stage = stage_reporter(STAGES, on_stage)
    runtime = ort_web_files(ort_web) if ort_web is not None else None  # a wrong local copy fails before any work
    stage(STAGES[0])
    runtime = runtime or ort_web_files()
    with atomic_folder(out) as staging:
        stage(STAGES[1])
        onnx_path, report = export_onnx(model_path, staging / "model.onnx",
                                        export_options(options, batch=1, overwrite=True), on_check=on_check)
        stage(STAGES[2])
        _write_page(staging, model_path, onnx_path, options)
        (staging / "ort").mkdir()
        for name in PAGE_RUNTIME_FILES:
            shutil.copyfile(runtime / name, staging / "ort" / name)
    report.path = out
    report.format = "web"
    return out, report


def _write_page(folder: Path, model_path: Path, onnx_path: Path, options: ExportOptions) -> None:
    meta = read_meta(model_path)
    pages = resources.files("cgan") / "templates" / "web"
    for name in PAGE_FILES:
        (folder / name).write_bytes((pages / name).read_bytes())
    description = {
        "name": f"{meta.source_domain} -> {meta.target_domain}",
        "model": onnx_path.name, "model_mb": round(onnx_path.stat().st_size / 2**20, 1),
        "input": "input", "output": "output", "size_multiple": meta.size_multiple, "precision": options.precision,
        "preset": meta.preset, "cgan_version": __version__, "onnxruntime_web": ORT_WEB_VERSION,
    }
    (folder / "model.json").write_text(json.dumps(description, indent=2))

