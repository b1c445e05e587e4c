"""What the tests of the export formats share: a CLI call, the one-line error every refusal must be, the PSNR of two
8-bit images, small generators of three kinds away from their identity start, and an exported file's translation
of a photo against PyTorch's."""
import math
from pathlib import Path

import cv2
import numpy as np
import torch
from click.testing import CliRunner

from cgan.cli import cli
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config

KINDS = (("student-tiny", None), ("filter", None), ("resnet6", 4))  # a student, the filter, a resnet (preset, ngf)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output, result.output
    for word in words:
        assert word in lines[-1], lines[-1]


def psnr_8bit(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255 ** 2 / mse) if mse else float("inf")


def save_generators(folder: Path, jitter: float = 0.05) -> None:
    """``KINDS`` as model files in ``folder`` (domains tom -> jerry), weights moved off the identity start by
    ``jitter``, so that an output is not its input and a format that loses precision shows it."""
    for preset, ngf in KINDS:
        config = preset_config(preset, **({"ngf": ngf} if ngf else {}))
        torch.manual_seed(0)
        net = build_generator(config)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * jitter)
        save_model(net, folder / f"{preset}.safetensors", new_meta(config, preset, "tom", "jerry"))


def translation_psnr_against_pytorch(exported: Path, model: Path, folder: Path, backend_word: str) -> float:
    """``cgan translate`` of the first test photo in ``folder/data/testA`` through ``exported`` (whose runtime the
    command must name: ``backend_word``) and through ``model`` on PyTorch: the PSNR of the two 8-bit results."""
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    ours, reference = folder / f"{exported.name}.png", folder / f"{model.stem}-torch.png"
    done = run("translate", "--model", exported, "--source", photo, "--out", ours, "--overwrite")
    assert done.exit_code == 0 and backend_word in done.output, done.output
    done = run("translate", "--model", model, "--backend", "torch", "--source", photo, "--out", reference,
               "--overwrite")
    assert done.exit_code == 0, done.output
    return psnr_8bit(cv2.imread(str(ours)), cv2.imread(str(reference)))
