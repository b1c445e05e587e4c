"""``cgan demo``: the product end to end on data built from sample photos that ship with installed packages."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CganError
from ..sampledata import build_unpaired_dataset, write_panning_clip
from .info import describe_model, format_description
from .report import Link, ReportSection, build_report

if TYPE_CHECKING:
    from ..runtime.pipeline import Summary

log = logging.getLogger(__name__)


# The fastest profile that learns the demo's colour grade: on a 2-core EPYC the filter (1,443 weights) passes doing
# nothing by step 480 and reaches +3.41 dB by step 900 (about 45 s there, the learning rate decaying over the second
# half), where resnet6 --fast was still 0.5 dB below doing nothing after 480 steps and 7 minutes. Steps, not seconds,
# bound it: a busy or slow machine takes longer but shows the same translation. Without the identity loss on B: it
# holds held-out grades over 10 minutes (its default), but in the demo's 900 steps it holds the filter near the
# identity (at best +1.26 dB, at step 600).
DEMO_PROFILE = {"preset": "filter", "objective": "gan", "fast": True, "size": 64, "lambda_identity_b": 0}
DEMO_STEPS = 900


def run_demo(out: str | os.PathLike = "demo-out", overwrite: bool = False, train_steps: int = DEMO_STEPS,
             train_time: str | None = None) -> Path:
    """Build a small unpaired data set, train the filter on it for ``train_steps`` steps (or ``train_time``),
    report its measured gain, describe the best model, export it to ONNX, translate a generated video clip with it
    and write an HTML report of it all; return ``out``."""
    from ..export import export_onnx
    from ..train import train

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise CganError(f"{out} already exists: choose another --out or pass --overwrite")
        shutil.rmtree(out)
    log.info(f"[1/6] building an unpaired photo -> colour-grade data set in {out / 'data'}")
    data = build_unpaired_dataset(out / "data", n_train=120, n_test=8, size=96)
    log.info(f"      {sum(1 for _ in data.rglob('*.png'))} images: trainA/ trainB/ testA/ testB/ and testA_truth/")
    bound = f"for {train_time}" if train_time else f"for {train_steps} steps"
    log.info(f"[2/6] training a photo filter photo -> graded {bound} (--preset filter --objective gan --fast: "
             f"a learnt colour map of each pixel and its surroundings, 64x64 crops of the 96x96 photos)")
    bounds = {"max_time": train_time} if train_time else {"max_iters": train_steps}
    result = train(data=str(data), out=str(out / "run"), name_a="photo", name_b="graded", load_size=96,
                   val_truth=str(data / "testA_truth"), log_every=20, **DEMO_PROFILE, **bounds)
    gain = _say_gain(result)
    log.info("[3/6] the best generator (by PSNR against the known answer)")
    model = result.run_dir / "best" / "G_AtoB.safetensors"
    log.info(f"\ncgan info {model}")
    log.info(format_description(describe_model(model)))
    log.info("[4/6] exporting it to ONNX (dynamic batch, height and width), verified against PyTorch")
    shapes = [(1, 3, 96, 96), (2, 3, 64, 128), (1, 3, 240, 320)]
    onnx_path, report = export_onnx(model, out / "photo2graded.onnx", verify_shapes=shapes)
    for line in report.lines():
        log.info(line)
    log.info("[5/6] translating a generated 320x240 clip (a camera panning across a photo)")
    clip = out / "clip.mp4"
    write_panning_clip(clip, 320, 240, frames=48)
    run = _translate(onnx_path, clip, out / "clip_graded.mp4")
    log.info("[6/6] writing the report")
    sections = [
        ReportSection("Gain", text=gain),
        ReportSection("Export", pre="\n".join(report.lines())),
        ReportSection("Video", text=f"A 320x240 clip, input | output, with {run.backend}: {run.text()}.",
                      videos=(Link("clip_graded.mp4", "clip_graded.mp4"),)),
    ]
    page = build_report(result.run_dir, out / "report.html", extra_sections=sections)
    log.info(f"\n{gain}")
    log.info(f"look at: {page} (the whole run on one page), {out / 'clip_graded.mp4'} (input | output), "
             f"tensorboard --logdir {result.run_dir / 'tb'}")
    log.info("next: a full generator (changes of shape or texture) with cgan train --fast --objective fastcut, and "
             "a real-time student of it with cgan distill")
    return out


def _say_gain(result) -> str:
    """The measured gain of the best generator over doing nothing, said plainly, and printed."""
    best = result.best or {}
    gain = best.get("psnr_gain")
    if gain is None:
        text = "no validation ran, so the gain over doing nothing is not known: train for more steps"
    elif gain > 0:
        text = (f"the filter is better than doing nothing: +{gain:.2f} dB PSNR against the known answer on the "
                f"held-out photos (best at step {best['iteration']} of {result.iterations})")
    else:
        text = (f"the filter is not yet better than doing nothing ({gain:+.2f} dB PSNR against the known answer on "
                f"the held-out photos after {result.iterations} steps): train it longer, e.g. cgan train --resume "
                f"{result.run_dir} --max-iters {max(2 * result.iterations, DEMO_STEPS)}")
    log.info(f"      {text}")
    return text[0].upper() + text[1:] + "."


def _translate(model: Path, clip: Path, out: Path) -> Summary:
    from .translate import translate

    summary = translate(model, str(clip), str(out), batch=1, side_by_side=True)
    log.info(f"      {summary.fps:.1f} frames/s end to end with {summary.backend}")
    return summary
