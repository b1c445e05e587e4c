import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cgan.cli import cli
from cgan.errors import CganError
from cgan.export import export_onnx
from cgan.modelfile import load_model, new_meta, read_exported_meta, save_model
from cgan.nets import build_generator, preset_config
from cgan.runtime.translator import Translator
from cgan.sampledata import build_unpaired_dataset
from cgan.train import distill, train

TINY = {"workers": 0, "size": 32, "batch": 2, "log_every": 1, "epochs": 2, "epochs_decay": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build_unpaired_dataset(tmp_path_factory.mktemp("data"), n_train=6, n_test=4, size=40)


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("teacher") / "run"
    return train(data=str(data), out=str(run), preset="resnet6", ngf=4, ndf=8, size=32, max_iters=2, workers=0,
                 fast=True, device="cpu").run_dir


def _losses(run):
    return {r["iteration"]: [r["pixel"], r["feature"]] for r in map(json.loads, (run / "metrics.jsonl").read_text()
                                                                      .splitlines()) if r["type"] == "train"}


def test_a_student_is_an_ordinary_model_file_that_names_its_teacher(data, teacher, tmp_path):
    result = distill(str(teacher), data=str(data), out=str(tmp_path / "s"), max_iters=4,
                     val_truth=str(data / "testA_truth"), **TINY)
    run = result.run_dir
    for name in ("config.yaml", "metrics.jsonl", "loss_curves.png", "G_AtoB.safetensors", "best/G_AtoB.safetensors",
                 "state.safetensors", "samples/iter_0000004.png"):
        assert (run / name).is_file(), name
    student = load_model(run)
    assert student.meta.preset == "student" and student.meta.normalization == "none"
    assert str(teacher / "G_AtoB.safetensors") in student.meta.provenance["teacher"]
    assert {"teacher_psnr", "psnr_gain", "teacher_gain"} <= set(result.best)
    image = np.random.default_rng(0).integers(0, 255, (36, 44, 3), dtype=np.uint8)
    assert Translator(run, device="cpu")(image).shape == image.shape
    for precision, extra in (("fp32", {}), ("int8", {"calib": str(data / "trainA")})):
        path, report = export_onnx(run, tmp_path / f"s.{precision}.onnx", precision=precision, **extra)
        assert read_exported_meta(path)[1]["export"]["precision"] == precision
        assert Translator(path, backend="onnxruntime")(image).shape == image.shape
    assert report.psnr_db > 30  # int8 against fp32, on held-back calibration images
    from cgan.bench.inference import benchmark

    rows = benchmark(str(run / "G_AtoB.safetensors"), backends=["torch", "onnxruntime", "openvino"], sizes="32",
                     batches=[1], pipeline=False, max_seconds=0.1, device="cpu", calib=str(data / "trainA")).to_dict()["rows"]
    int8 = [r for r in rows if r["precision"] == "int8"]
    assert rows[0]["images_per_s"] > 0 and int8 and all(r["psnr_vs_fp32"] > 30 for r in int8)
    from cgan.apps.report import build_report

    page = build_report(run).read_text()
    assert "a student of" in page and "teacher_psnr" in page and "the teacher's translation" in page


def test_a_new_student_starts_as_the_identity_and_has_no_normalisation():
    for preset in ("student", "student-tiny"):
        net = build_generator(preset_config(preset))
        x = torch.rand(2, 3, 32, 48) * 1.8 - 0.9
        assert torch.allclose(net(x), x, atol=1e-5)
        assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in net.modules())


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(data, teacher, tmp_path):
    # a constant rate: the part's bound (3 steps) would fit the schedule to itself
    constant = {**TINY, "epochs": 4, "epochs_decay": 0}
    whole = distill(str(teacher), data=str(data), out=str(tmp_path / "whole"), max_iters=6, **constant)
    part = distill(str(teacher), data=str(data), out=str(tmp_path / "part"), max_iters=3, **constant)
    resumed = distill(str(teacher), resume=str(part.run_dir), max_iters=6)
    a, b = _losses(whole.run_dir), _losses(resumed.run_dir)
    assert sorted(b) == list(range(1, 7))
    for it in range(1, 7):
        assert a[it] == pytest.approx(b[it], rel=1e-5, abs=1e-6), it
    wa, wb = load_model(whole.run_dir).state_dict(), load_model(resumed.run_dir).state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


def test_teachers_that_cannot_teach_get_one_line(data, teacher, tmp_path):
    run = CliRunner().invoke
    _one_line_error(run(cli, ["distill", str(tmp_path / "missing"), "--a", str(data / "trainA")]), "not found")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes((teacher / "G_AtoB.safetensors").read_bytes()[:500])
    _one_line_error(run(cli, ["distill", str(corrupt), "--a", str(data / "trainA")]), "corrupt")
    config = preset_config("unet128", ngf=4)
    unet = save_model(build_generator(config), tmp_path / "unet.safetensors", new_meta(config, "unet128"))
    _one_line_error(run(cli, ["distill", str(unet), "--a", str(data / "trainA")]), "unet128", "resnet and mobile")
    _one_line_error(run(cli, ["distill", str(teacher), "--a", str(data / "trainA"), "--preset", "resnet6"]),
                    "--preset")
    _one_line_error(run(cli, ["distill", str(teacher)]), "--a DIR")


def test_cli_distill_then_int8_export(data, teacher, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(cli, ["distill", str(teacher), "--a", str(data / "trainA"), "--out", str(out),
                                      "--max-iters", "2", "--size", "32", "--workers", "0", "--device", "cpu",
                                      "--preset", "student-tiny"])
    assert result.exit_code == 0, result.output
    assert load_model(out).meta.preset == "student-tiny"
    no_calib = CliRunner().invoke(cli, ["export", str(out), "--precision", "int8"])
    _one_line_error(no_calib, "--calib DIR")
    teacher_int8 = CliRunner().invoke(cli, ["export", str(teacher), "--precision", "int8", "--calib",
                                            str(data / "trainA")])
    _one_line_error(teacher_int8, "instance normalisation", "cgan distill")
    done = CliRunner().invoke(cli, ["export", str(out), "--precision", "int8", "--calib", str(data / "trainA"),
                                    "-o", str(tmp_path / "s.onnx")])
    assert done.exit_code == 0 and "dB PSNR against fp32" in done.output, done.output


def test_int8_calibration_needs_images(tmp_path):
    from cgan.export.int8 import calibration_inputs, split_calibration

    with pytest.raises(CganError, match="folder not found"):
        calibration_inputs(str(tmp_path / "none"), 4, 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CganError, match="at least 2"):
        calibration_inputs(str(tmp_path / "empty"), 4, 8)
    inputs = [np.full((1, 3, 4, 4), i, np.float32) for i in range(8)]
    held, used = split_calibration(inputs)
    assert [int(x[0, 0, 0, 0]) for x in held] == [0, 4] and len(used) == 6
