"""``cgan report``: a run directory as one self-contained HTML page (pictures inlined), readable offline.

Shows what a run learned (the first and the latest sample grids), how (loss and validation
curves, the validation table), what it produced (the model files) and with which settings.
"""
from __future__ import annotations

import base64
import datetime
import html
import json
import os
from pathlib import Path

import yaml

from .errors import CganError
from .fileio import atomic_write_text, refuse_overwrite
from .train.config import TrainConfig, load_yaml

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 2px 10px; border-bottom: 1px solid #eee; }
th { text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #ddd; } figure { margin: 1em 0; } figcaption { color: #666; }
.muted { color: #666; }
"""
VALIDATION_COLUMNS = ("cycle_l1", "identity_l1", "teacher_psnr", "teacher_l1", "psnr", "psnr_gain", "teacher_gain",
                      "ssim")


def _image(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(rows: list[list], header: list[str] | None = None) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return f'<td class="n">{value:.4g}</td>'
        if isinstance(value, int) and not isinstance(value, bool):
            return f'<td class="n">{value}</td>'
        return f"<td>{html.escape(str(value))}</td>"

    head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>" if header else ""
    return "<table>" + head + "".join("<tr>" + "".join(map(cell, row)) + "</tr>" for row in rows) + "</table>"


def _read_run(run: Path) -> tuple[dict, list[dict]]:
    config_path, metrics_path = run / "config.yaml", run / "metrics.jsonl"
    if not run.is_dir() or not config_path.is_file():
        raise CganError(f"{run} is not a run directory written by cgan train (no config.yaml): give one, "
                        f"e.g. cgan report runs/tom2jerry")
    from .train.distillation import DistillConfig

    try:
        keys = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError:
        keys = {}
    # A distillation run names its teacher; a training run does not.
    config = load_yaml(config_path, DistillConfig if isinstance(keys, dict) and "teacher" in keys else TrainConfig)
    try:
        records = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()] \
            if metrics_path.is_file() else []
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CganError(f"{metrics_path} is damaged ({type(e).__name__})") from None
    return config, records


def _models(run: Path) -> str:
    from .info import describe_model

    rows = []
    for direction in ("AtoB", "BtoA"):
        path = run / f"G_{direction}.safetensors"
        if path.is_file():
            info = describe_model(path, direction)
            rows.append([path.name, info["domains"], info["architecture"], f"{info['parameters'] / 1e6:.2f} M",
                         f"{info['macs_at_256x256'] / 1e9:.1f} G", f"{info['file_size_mb']} MB"])
    if not rows:
        return '<p class="muted">No model files yet.</p>'
    return _table(rows, ["file", "domains", "architecture", "parameters", "MACs at 256x256", "size"])


def _best(run: Path) -> list[str]:
    best_path = run / "best" / "metrics.json"
    if not best_path.is_file():
        return []
    best = yaml.safe_load(best_path.read_text()) or {}
    return ["<h2>Best validation</h2>" + _table([[k, v] for k, v in best.items()])]


def build_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, overwrite: bool = False,
                 extra_sections: list[tuple[str, str]] = ()) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``RUN_DIR/report.html``); ``extra_sections`` are
    (title, HTML) pairs appended at the end."""
    run = Path(run_dir)
    config, records = _read_run(run)
    out = Path(out) if out else run / "report.html"
    refuse_overwrite(out, overwrite)
    name_a, name_b = config.get("name_a", "A"), config.get("name_b", "B")
    distilled = "teacher" in config
    train = [r for r in records if r.get("type") == "train"]
    val = [r for r in records if r.get("type") == "val"]
    last = records[-1] if records else {}
    title = (f"a student of {html.escape(str(config['teacher']))}" if distilled
             else f"{html.escape(name_a)} &harr; {html.escape(name_b)}")
    parts = [f"<h1>{title}: {html.escape(run.name)}</h1>",
             f'<p class="muted">{last.get("iteration", 0)} iterations, {last.get("epoch", 0)} epochs; report '
             f"written {datetime.datetime.now():%Y-%m-%d %H:%M}.</p>"]

    parts += _best(run)
    samples = sorted((run / "samples").glob("*.png"), key=lambda p: p.stat().st_mtime)
    rows = ("the input, the teacher's translation and the student's" if distilled else
            "the input, its translation and its reconstruction, for each direction")
    parts.append(f"<h2>Translations</h2><p>Rows: {rows}, on the same validation images throughout.</p>")
    if samples:
        if len(samples) > 1:
            parts.append(_image(samples[0], f"first: {samples[0].stem}"))
        parts.append(_image(samples[-1], f"latest: {samples[-1].stem}"))
    else:
        parts.append('<p class="muted">No sample grids yet (they are written at each validation).</p>')

    if (run / "loss_curves.png").is_file():
        parts.append("<h2>Curves</h2>" + _image(run / "loss_curves.png", "training losses and validation metrics"))
    if val:
        columns = [c for c in VALIDATION_COLUMNS if c in val[0]]
        parts.append("<h2>Validation</h2>" + _table([[r["iteration"], r["epoch"], *(r.get(c, "") for c in columns)]
                                                     for r in val], ["iteration", "epoch", *columns]))
    if train:
        parts.append(f'<p class="muted">{len(train)} training-loss records in metrics.jsonl; TensorBoard: '
                     f"<code>tensorboard --logdir {html.escape(str(run / 'tb'))}</code></p>")
    parts.append("<h2>Models</h2>" + _models(run))
    parts.append("<h2>Settings</h2>" + _table([[k, "" if v is None else v] for k, v in config.items()]))
    for title, body in extra_sections:
        parts.append(f"<h2>{html.escape(title)}</h2>{body}")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cgan: {html.escape(run.name)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
    atomic_write_text(out, page)
    return out
