"""``cgan export --format coreml``: a package whose spec is checked and which is never called verified on a system
that cannot run it; info describes it; the runtime and a foreign package each get one line."""
import json
import shutil
import sys

import cv2
import numpy as np
import pytest
from format_round_trip import one_line_error, run, save_generators

pytest.importorskip("coremltools")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The three kinds of generator, and an image to translate."""
    root = tmp_path_factory.mktemp("coreml")
    save_generators(root, jitter=0.0)
    cv2.imwrite(str(root / "in.png"), np.zeros((32, 32, 3), np.uint8))
    return root


@pytest.mark.parametrize("preset,precision", [("student-tiny", "fp16"), ("filter", "fp32"), ("resnet6", "fp16")])
def test_a_package_is_written_its_spec_checked_and_it_is_never_called_verified(folder, tmp_path, preset, precision):
    package = tmp_path / f"{preset}.mlpackage"
    done = run("export", folder / f"{preset}.safetensors", "--format", "coreml", "--precision", precision,
                "-o", package, "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["format"] == "coreml" and report["verified"] is False and report["checks"] == []
    assert (package / "Manifest.json").is_file()
    words = run("export", folder / f"{preset}.safetensors", "--format", "coreml", "--precision", precision,
                 "-o", package, "--overwrite")
    assert "spec checked; not run: Core ML runs only on Apple systems" in words.output
    assert "verified" not in words.output.splitlines()[-1]
    info = run("info", "--model", package)
    assert info.exit_code == 0, info.output
    assert f"Core ML ML program, exported {precision}" in info.output and "tom -> jerry" in info.output
    assert "input 1x3x16..4096x16..4096" in info.output and "Apple systems only" in info.output
    one_line_error(run("translate", "--model", package, "--source", folder / "in.png", "--out", tmp_path / "o.png"),
                    "Core ML package", "--format onnx")
    assert not (tmp_path / "o.png").exists()


def test_what_a_package_cannot_be_gets_one_line(folder, tmp_path, monkeypatch):
    package = tmp_path / "good.mlpackage"
    assert run("export", folder / "student-tiny.safetensors", "--format", "coreml", "-o", package).exit_code == 0
    import coremltools as ct

    foreign = ct.models.MLModel(str(package), skip_model_load=True)
    del foreign.user_defined_metadata["cgan"]
    foreign.save(str(tmp_path / "foreign.mlpackage"))
    one_line_error(run("info", "--model", tmp_path / "foreign.mlpackage"), "no cgan metadata")
    (tmp_path / "empty.mlpackage").mkdir()
    one_line_error(run("info", "--model", tmp_path / "empty.mlpackage"), "not a Core ML package")
    one_line_error(run("export", folder / "student-tiny.safetensors", "--format", "coreml", "--precision", "int8",
                         "--calib", tmp_path, "-o", tmp_path / "q.mlpackage"), "--format openvino")
    one_line_error(run("export", folder / "student-tiny.safetensors", "--format", "coreml", "-o", package),
                    "--overwrite")
    shutil.rmtree(tmp_path / "foreign.mlpackage")
    monkeypatch.setitem(sys.modules, "coremltools", None)
    one_line_error(run("export", folder / "student-tiny.safetensors", "--format", "coreml", "-o",
                         tmp_path / "n.mlpackage"), 'pip install "cgan[coreml]"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mlpackage", "good.mlpackage"]
