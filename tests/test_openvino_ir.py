"""``cgan export --format openvino``: the IR round trip (export, info, translate, compared with PyTorch) for a
student, the filter and a resnet at each precision, and the one line each refused IR gets."""
import json
import re
import sys

import numpy as np
import pytest
from format_round_trip import one_line_error, run, save_generators, translation_psnr_against_pytorch

from cgan.bench.inference import benchmark
from cgan.errors import CganError
from cgan.sampledata import build_unpaired_dataset

pytest.importorskip("openvino")
pytest.importorskip("nncf")

MIN_PSNR = {"fp32": 40.0, "fp16": 35.0, "int8": 30.0}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Photos to translate and calibrate on, and the three kinds of generator."""
    root = tmp_path_factory.mktemp("ir")
    build_unpaired_dataset(root / "data", n_train=12, n_test=2, size=96)
    save_generators(root)
    return root


@pytest.mark.parametrize("preset,precision", [("student-tiny", "int8"), ("filter", "fp32"), ("resnet6", "fp16")])
def test_an_ir_exports_describes_itself_and_translates_like_pytorch(folder, preset, precision):
    model, xml = folder / f"{preset}.safetensors", folder / f"{preset}.{precision}.xml"
    calib = ["--calib", folder / "data" / "trainA"] if precision == "int8" else []
    done = run("export", model, "--format", "openvino", "--precision", precision, "-o", xml, *calib)
    assert done.exit_code == 0, done.output
    assert xml.is_file() and xml.with_suffix(".bin").is_file()
    assert "PSNR" in done.output and "verified" in done.output.splitlines()[-1]
    stages = [line.split("] ")[1].split(" (")[0] for line in done.output.splitlines() if line.startswith("[")]
    assert stages[1] == "converting to OpenVINO IR" and stages[-1] == "verifying in OpenVINO against PyTorch"
    assert ("quantising int8" in stages) == (precision == "int8")

    info = run("info", "--model", xml)
    assert info.exit_code == 0, info.output
    assert "OpenVINO IR, exported " + precision in info.output and "tom -> jerry" in info.output
    assert "graph check     passed" in info.output
    macs = lambda text: re.search(r"macs at 256x256 (.*)", text).group(1)  # noqa: E731
    if preset != "filter":  # (PyTorch's count leaves out the filter's fixed edge kernels; graphs count them)
        assert macs(info.output) == macs(run("info", "--model", model).output)  # the IR's graph, counted alike

    assert translation_psnr_against_pytorch(xml, model, folder, "OpenVINO") >= MIN_PSNR[precision]


@pytest.fixture(scope="module")
def good_ir(folder):
    xml = folder / "good.xml"
    assert run("export", folder / "student-tiny.safetensors", "--format", "openvino", "-o", xml).exit_code == 0
    return xml


def test_cgan_benchmark_measures_an_ir(good_ir):
    result = benchmark(str(good_ir), sizes="32", batches=[1], pipeline=False, max_seconds=0.2, device="cpu")
    assert result.rows and result.rows[0].backend == "openvino cpu" and "onnxruntime" in result.skipped


def _altered(good_ir, tmp_path, change, name="altered.xml"):
    """A copy of the good IR pair with its XML text changed by ``change``."""
    xml = tmp_path / name
    xml.write_text(change(good_ir.read_text()))
    xml.with_suffix(".bin").write_bytes(good_ir.with_suffix(".bin").read_bytes())
    return xml


@pytest.mark.parametrize("change,words", [
    (lambda t: t.replace('type="Tanh"', 'type="Loop"', 1), ["'Loop'", "refusing"]),
    (lambda t: re.sub(r'offset="\d+" size="(\d+)"', r'offset="99999999" size="\1"', t, count=1), ["outside its .bin"]),
    (lambda t: re.sub(r'size="(\d+)"', lambda m: f'size="{int(m.group(1)) * 2}"', t, count=1), ["declares"]),
    (lambda t: t.replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE net [<!ENTITY a "aaaa">]>'),
     ["document type"]),
    (lambda t: re.sub(r"<cgan>.*?</cgan>", "", t, flags=re.S), ["without cgan's metadata", "--format openvino"]),
    (lambda t: t.replace('shape="?,3,?,?"', 'shape="64,3,4096,4096"', 1), ["larger than any frame"]),
    (lambda t: t.replace("<layers>", "<layers", 1), ["not readable XML"]),
])
def test_a_hostile_ir_gets_one_line_before_openvino_runs_it(good_ir, tmp_path, folder, change, words):
    xml = _altered(good_ir, tmp_path, change)
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    one_line_error(run("translate", "--model", xml, "--source", photo, "--out", tmp_path / "o.png"), *words)
    one_line_error(run("info", "--model", xml), *words)
    assert not (tmp_path / "o.png").exists()


def test_an_ir_without_its_bin_and_an_unknown_suffix_each_get_one_line(good_ir, tmp_path, folder):
    lonely = tmp_path / "lonely.xml"
    lonely.write_text(good_ir.read_text())
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    one_line_error(run("translate", "--model", lonely, "--source", photo, "--out", tmp_path / "o.png"),
                    "lonely.bin")
    unknown = tmp_path / "model.tflite2"
    unknown.write_bytes(b"\0" * 16)
    one_line_error(run("translate", "--model", unknown, "--source", photo, "--out", tmp_path / "o.png"),
                    ".onnx", ".xml", ".engine")


def test_what_an_ir_cannot_hold_and_a_missing_openvino_each_get_one_line(folder, tmp_path, monkeypatch):
    resnet = folder / "resnet6.safetensors"
    one_line_error(run("export", resnet, "--format", "openvino", "--precision", "int8", "--calib",
                         folder / "data" / "trainA", "-o", tmp_path / "r.xml"), "instance normalisation")
    one_line_error(run("export", resnet, "--format", "openvino", "-o", tmp_path / "r.onnx"), "must end in .xml")
    one_line_error(run("export", resnet, "--format", "openvino", "--trt"), "--trt")
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    one_line_error(run("export", resnet, "--format", "openvino", "-o", tmp_path / "r.xml"),
                    'pip install "cgan[openvino]"')
    assert not list(tmp_path.iterdir())  # nothing written by any of them


def test_a_failed_verification_leaves_no_ir(folder, tmp_path, monkeypatch):
    import cgan.export.openvino_ir as openvino_ir

    real = openvino_ir._convert

    def sabotaged(ov, onnx_path):  # one weight changed after conversion: OpenVINO no longer agrees with PyTorch
        graph = real(ov, onnx_path)
        from openvino import opset13 as ops

        result = graph.get_results()[0]
        shifted = ops.add(result.input_value(0), np.float32(0.5))
        result.input(0).replace_source_output(shifted.output(0))
        return graph

    monkeypatch.setattr(openvino_ir, "_convert", sabotaged)
    with pytest.raises(CganError, match="verification failed"):
        openvino_ir.export_openvino(folder / "filter.safetensors", tmp_path / "bad.xml",
                                    verify_shapes=[(1, 3, 32, 32)])
    assert not list(tmp_path.iterdir())


def test_cgan_benchmark_formats_measures_every_format_side_by_side(folder, tmp_path):
    out = tmp_path / "formats.json"
    done = run("benchmark", "--model", folder / "filter.safetensors", "--formats", "--sizes", "32,48x64",
                "--max-seconds", "0.05", "--json", out)
    assert done.exit_code == 0, done.output
    rows = json.loads(out.read_text())["rows"]
    found = {(r["format"], r["precision"]) for r in rows}
    assert rows[0]["format"].startswith("PyTorch") and rows[0]["psnr_vs_fp32"]["48x64"] is None
    assert {("ONNX, ONNX Runtime", "fp32"), ("OpenVINO IR", "fp32"), ("OpenVINO IR", "fp16 weights")} <= found
    assert all(r["psnr_vs_fp32"]["48x64"] > 35 for r in rows[1:]) and all(r["file_mb"] > 0 for r in rows)
    assert "| OpenVINO IR | fp16 weights |" in done.output  # the table
    one_line_error(run("benchmark", "--model", folder / "good.xml", "--formats"), ".safetensors")
