"""``cgan export --format ncnn``: the round trip (export, info, translate, compared with PyTorch) for a student, the
filter and a resnet, and the one line each refused param file gets."""
import re
import sys

import pytest
from format_round_trip import one_line_error, run, save_generators, translation_psnr_against_pytorch

from cgan.sampledata import build_unpaired_dataset

pytest.importorskip("ncnn")
pytest.importorskip("pnnx")

MIN_PSNR = {"fp32": 40.0, "fp16": 35.0}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Photos to translate, and the three kinds of generator."""
    root = tmp_path_factory.mktemp("ncnn")
    build_unpaired_dataset(root / "data", n_train=4, n_test=2, size=96)
    save_generators(root)
    return root


@pytest.mark.parametrize("preset,precision", [("student-tiny", "fp32"), ("filter", "fp16"), ("resnet6", "fp32")])
def test_an_ncnn_pair_exports_describes_itself_and_translates_like_pytorch(folder, preset, precision):
    model, param = folder / f"{preset}.safetensors", folder / f"{preset}.{precision}.ncnn.param"
    done = run("export", model, "--format", "ncnn", "--precision", precision, "-o", param,
                "--size", "dynamic")
    assert done.exit_code == 0, done.output
    assert all(param.with_name(f"{preset}.{precision}.ncnn{s}").is_file() for s in (".param", ".bin", ".json"))
    assert "PSNR" in done.output and "verified" in done.output.splitlines()[-1]

    info = run("info", "--model", param)
    assert info.exit_code == 0, info.output
    assert f"ncnn, exported {precision}" in info.output and "tom -> jerry" in info.output
    assert "param check     passed" in info.output

    assert translation_psnr_against_pytorch(param, model, folder, "ncnn") >= MIN_PSNR[precision]


@pytest.fixture(scope="module")
def good_pair(folder):
    param = folder / "good.ncnn.param"
    assert run("export", folder / "student-tiny.safetensors", "--format", "ncnn", "-o", param).exit_code == 0
    return param


def _altered(good_pair, tmp_path, change):
    param = tmp_path / "altered.ncnn.param"
    param.write_text(change(good_pair.read_text()))
    for suffix in (".bin", ".json"):
        (tmp_path / f"altered.ncnn{suffix}").write_bytes(good_pair.with_name(f"good.ncnn{suffix}").read_bytes())
    return param


@pytest.mark.parametrize("change,words", [
    (lambda t: t.replace("TanH ", "Noop ", 1), ["'Noop'", "refusing"]),
    (lambda t: re.sub(r"(Convolution\s+\S+\s+1 1 \S+ \S+) 0=\d+", r"\1 0=100000", t, count=1), ["beyond"]),
    (lambda t: re.sub(r"(PixelShuffle\s+\S+\s+1 1 \S+ \S+) 0=2", r"\1 0=1000", t, count=1), ["beyond"]),
    (lambda t: t.replace("7767517", "7767518", 1), ["not an ncnn param file"]),
    (lambda t: t.replace(" 0=7 1=1 2=1.0", " 0=7 1=1 2=nan", 1), ["not a finite number"]),
    (lambda t: t + "ReLU relu_extra 1 1 in0 extra_out\n", ["not an ncnn param file"]),
])
def test_a_hostile_param_file_gets_one_line_before_ncnn_reads_it(good_pair, tmp_path, folder, change, words):
    param = _altered(good_pair, tmp_path, change)
    assert param.read_text() != good_pair.read_text()
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    one_line_error(run("translate", "--model", param, "--source", photo, "--out", tmp_path / "o.png"), *words)
    one_line_error(run("info", "--model", param), *words)
    assert not (tmp_path / "o.png").exists()


def test_a_pair_without_its_weights_or_sidecar_gets_one_line(good_pair, tmp_path, folder):
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    param = _altered(good_pair, tmp_path, lambda t: t)
    (tmp_path / "altered.ncnn.bin").unlink()
    one_line_error(run("translate", "--model", param, "--source", photo, "--out", tmp_path / "o.png"),
                    "altered.ncnn.bin")
    (tmp_path / "altered.ncnn.json").unlink()
    one_line_error(run("translate", "--model", param, "--source", photo, "--out", tmp_path / "o.png"),
                    "altered.ncnn.json")


def test_what_ncnn_export_cannot_do_and_a_missing_package_each_get_one_line(folder, tmp_path, monkeypatch):
    student = folder / "student-tiny.safetensors"
    one_line_error(run("export", student, "--format", "ncnn", "--precision", "int8", "--calib",
                         folder / "data" / "trainA", "-o", tmp_path / "s.ncnn.param"), "--format openvino")
    one_line_error(run("export", student, "--format", "ncnn", "-o", tmp_path / "s.param"), ".ncnn.param")
    monkeypatch.setitem(sys.modules, "pnnx", None)
    one_line_error(run("export", student, "--format", "ncnn", "-o", tmp_path / "s.ncnn.param"),
                    'pip install "cgan[ncnn]"')
    assert not list(tmp_path.iterdir())
