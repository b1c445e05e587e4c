"""``cgan report``: a run directory as one self-contained HTML page (pictures inlined), readable offline.

Shows what a run learned (the first and the latest sample grids), how (loss and validation
curves, the validation table), what it produced (the model files) and with which settings.
The page is rendered by Jinja2 with autoescaping: every value read from the run (config,
metrics, file names) is escaped, so a hostile run directory cannot put markup into the page.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import os
import stat
from pathlib import Path

from ..errors import CganError
from ..fileio import atomic_write_text, refuse_overwrite
from ..presets import DIRECTIONS

VALIDATION_COLUMNS = ("cycle_l1", "identity_l1", "teacher_psnr", "teacher_l1", "psnr", "psnr_gain", "teacher_gain",
                      "ssim")


@dataclasses.dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclasses.dataclass(frozen=True)
class ReportSection:
    """A section added after the run's own: a paragraph, preformatted text, videos (played in the page: H.264
    or VP9, as cgan writes them) and links, all escaped."""

    title: str
    text: str = ""
    pre: str = ""
    videos: tuple[Link, ...] = ()
    links: tuple[Link, ...] = ()


def _own_file(run: Path, path: Path) -> bool:
    """Whether ``path`` is a regular file of the run itself: not a link (which could point anywhere, and would
    be embedded in a page meant for sharing), not a FIFO or device (reading one can block for ever), and inside
    the run's folder."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
    except OSError:
        return False
    return run.resolve() in path.resolve().parents


def _image(path: Path, caption: str) -> dict:
    return {"data": base64.b64encode(path.read_bytes()).decode("ascii"), "caption": caption}


def _read_run(run: Path) -> tuple[dict, list[dict]]:
    from ..train.config import DistillConfig, TrainConfig
    from ..train.config_files import known_options, load_plain_yaml

    config_path, metrics_path = run / "config.yaml", run / "metrics.jsonl"
    if not run.is_dir() or not _own_file(run, config_path):
        raise CganError(f"{run} is not a run directory written by cgan train (no config.yaml): give one, "
                        f"e.g. cgan report runs/tom2jerry")
    keys = load_plain_yaml(config_path) or {}
    # A distillation run names its teacher; a training run does not.
    config = known_options(keys, config_path, DistillConfig if isinstance(keys, dict) and "teacher" in keys
                           else TrainConfig)
    records = []
    if _own_file(run, metrics_path):
        from ..train.report import read_metrics

        records = read_metrics(metrics_path)
    return config, records


def _models(run: Path) -> list[list]:
    from .info import describe_model

    rows = []
    for direction in DIRECTIONS:
        path = run / f"G_{direction}.safetensors"
        if _own_file(run, path):
            info = describe_model(path, direction, size=256)
            rows.append([path.name, info.domains, info.architecture, f"{info.parameters / 1e6:.2f} M",
                         "-" if info.macs is None else f"{info.macs / 1e9:.1f} G", f"{info.file_size_mb} MB"])
    return rows


def _best(run: Path) -> list[list]:
    best_path = run / "best" / "metrics.json"
    if not _own_file(run, best_path):
        return []
    from ..train.config_files import load_plain_yaml

    best = load_plain_yaml(best_path)  # JSON; runs of earlier versions wrote it as YAML
    return [[k, v] for k, v in best.items()] if isinstance(best, dict) else []


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("cgan", "templates"), autoescape=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["number"] = lambda value: f"{value:.4g}" if isinstance(value, float) else str(value)
    return env


def build_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, overwrite: bool = False,
                 extra_sections: list[ReportSection] = ()) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``RUN_DIR/report.html``), with ``extra_sections``
    at the end."""
    run = Path(run_dir)
    config, records = _read_run(run)
    out = Path(out) if out else run / "report.html"
    refuse_overwrite(out, overwrite)
    train = [r for r in records if r.get("type") == "train"]
    val = [r for r in records if r.get("type") == "val"]
    last = records[-1] if records else {}
    samples = sorted((p for p in (run / "samples").glob("*.png") if _own_file(run, p)),
                     key=lambda p: p.stat().st_mtime)
    shown = ([_image(samples[0], f"first: {samples[0].stem}")] if len(samples) > 1 else []) + \
        ([_image(samples[-1], f"latest: {samples[-1].stem}")] if samples else [])
    columns = [c for c in VALIDATION_COLUMNS if val and c in val[0]]
    page = _environment().get_template("report.html").render(
        run_name=run.name, teacher=config.get("teacher"), one_way=config.get("objective") in ("cut", "fastcut"), name_a=config.get("name_a", "A"),
        name_b=config.get("name_b", "B"), iterations=last.get("iteration", 0), epochs=last.get("epoch", 0),
        written=f"{datetime.datetime.now():%Y-%m-%d %H:%M}", best=_best(run), samples=shown,
        curves=_image(run / "loss_curves.png", "training losses and validation metrics")
        if _own_file(run, run / "loss_curves.png") else None,
        validation={"header": ["iteration", "epoch", *columns],
                    "rows": [[r.get("iteration", ""), r.get("epoch", ""), *(r.get(c, "") for c in columns)]
                             for r in val]} if val else None,
        train_records=len(train), tensorboard=str(run / "tb"), models=_models(run),
        settings=[[k, "" if v is None else v] for k, v in config.items()], sections=list(extra_sections))
    atomic_write_text(out, page)
    return out
