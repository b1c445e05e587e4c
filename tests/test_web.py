"""cgan export --format web: the folder, its refusals, onnxruntime-web's integrity check, and the page in headless
Chromium (a fake camera fed from a known still clip): its output against ONNX Runtime in Python, its frame counter,
and each on-page error when provoked."""
import base64
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from benchmarks.browser import CHROMIUM, page_in_chromium, wait_for, write_y4m
from format_round_trip import psnr_8bit, run, save_generators
from cgan import ort_web
from cgan.pixels import to_model_range, to_pixels
from cgan.runtime.options import runtime_options
from cgan.runtime.translator import Translator
from cgan.sampledata import TEST_PHOTOS, build_unpaired_dataset, load_photos, sample_photos_installed, synthetic_photo

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (CI installs it)")
# Chromium's software WebGPU adapter (SwiftShader) takes about a minute to start a page on 2 cores: asked for by name
software_webgpu = pytest.mark.skipif(not os.environ.get("CGAN_TEST_WEBGPU"),
                                     reason="software WebGPU takes a minute to start: set CGAN_TEST_WEBGPU=1")


def _export(*args):
    return run("export", *args)


def _onnx_runtime_pixels(model, rgb):
    """What ONNX Runtime in Python makes of an RGB image, as pixels."""
    session = ort.InferenceSession(str(model))
    output = session.run(None, {"input": to_model_range(rgb).transpose(2, 0, 1)[None]})[0][0]
    return to_pixels(output).transpose(1, 2, 0)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The filter's and student-tiny's page folders, and the filter's in int8."""
    folder = tmp_path_factory.mktemp("web")
    save_generators(folder)
    calib = build_unpaired_dataset(folder / "data", n_train=8, n_test=1, size=64) / "trainA"
    made = {}
    for page, preset, options in (("filter", "filter", ()), ("student-tiny", "student-tiny", ()),
                                  ("filter-int8", "filter", ("--precision", "int8", "--calib", calib))):
        result = _export(folder / f"{preset}.safetensors", "--format", "web", "-o", folder / f"{page}-web", *options)
        assert result.exit_code == 0, result.output
        made[page] = folder / f"{page}-web"
    return made


def test_the_folder_holds_the_page_the_verified_model_and_the_wasm_runtime(pages):
    folder = pages["student-tiny"]
    assert sorted(p.name for p in folder.iterdir()) == ["cgan-web.js", "index.html", "model.json", "model.onnx", "ort"]
    meta = json.loads((folder / "model.json").read_text())
    assert meta["size_multiple"] == 4 and meta["precision"] == "fp32" and meta["name"] == "tom -> jerry"
    assert meta["onnxruntime_web"] == ort_web.ORT_WEB_VERSION
    assert json.loads((pages["filter-int8"] / "model.json").read_text())["precision"] == "int8"
    assert sorted(p.name for p in (folder / "ort").iterdir()) == sorted(ort_web.PAGE_RUNTIME_FILES)
    webgpu_only = {folder / "ort" / name for name in ort_web.WEBGPU_FILES}
    weight = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p not in webgpu_only)
    assert weight < 15 * 2**20  # what a visitor downloads for the wasm engine


def test_what_cannot_become_a_page_is_one_line(pages, tmp_path):
    save_generators(tmp_path)
    model = tmp_path / "filter.safetensors"
    onnx = pages["filter"] / "model.onnx"
    for args, fragment in (((onnx,), "model"), ((model, "--precision", "int8"), "int8 export needs calibration images"),
                           ((model, "--batch", "2"), "one frame at a time"),
                           ((model, "--size", "480x640"), "frames of any size"),
                           ((model, "-o", pages["filter"]), "already exists"),
                           ((model, "--ort-web", tmp_path), "does not hold onnxruntime-web")):
        result = _export(*args, "--format", "web")
        assert result.exit_code == 2 and result.output.startswith("error: ") and fragment in result.output, args
        assert len(result.output.strip().splitlines()) == 1
    result = _export(model, "--ort-web", tmp_path)
    assert result.exit_code == 2 and "--ort-web gives onnxruntime-web's files to --format web" in result.output


def test_overwrite_replaces_a_page_folder_whole(pages, tmp_path):
    save_generators(tmp_path)
    model = tmp_path / "filter.safetensors"
    out = tmp_path / "page"
    assert _export(model, "--format", "web", "-o", out, "--no-verify").exit_code == 0  # (verified elsewhere)
    (out / "stale.txt").write_text("from before")
    result = _export(model, "--format", "web", "-o", out, "--overwrite", "--ort-web", pages["filter"] / "ort",
                     "--no-verify")
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists() and (out / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_a_tarball_that_does_not_match_the_registrys_hash_is_refused_and_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("CGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ort_web, "_download", lambda url: b"not the tarball")
    with pytest.raises(ort_web.CganError, match="does not match the registry's integrity hash"):
        ort_web.ort_web_files()
    assert not (tmp_path / "cache" / "ort-web" / ort_web.ORT_WEB_VERSION).exists()


def _photo(width, height):
    photo = load_photos(TEST_PHOTOS[:1])[0] if sample_photos_installed() else synthetic_photo()
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)


def _pixels(frame, key):
    rgba = np.frombuffer(base64.b64decode(frame[key]), np.uint8).reshape(frame["height"], frame["width"], 4)
    return rgba[..., :3]


@needs_chromium
@pytest.mark.parametrize("preset, webgpu", [("filter", False), ("student-tiny", False), ("filter-int8", False),
                                            pytest.param("filter", True, marks=software_webgpu)])
def test_the_page_translates_the_camera_as_onnx_runtime_does(pages, preset, webgpu, tmp_path):
    """On WebAssembly threads (served cross-origin isolated), and on WebGPU where the browser has an adapter
    (SwiftShader's, in software, here); int8 as ONNX Runtime in Python runs the same quantised file."""
    clip = write_y4m(tmp_path / "camera.y4m", _photo(320, 240))
    with page_in_chromium(pages[preset], tmp_path, camera=clip, webgpu=webgpu) as reports:
        frame = wait_for(reports, lambda r: r.get("kind") == "frame" or r.get("error"), seconds=180 if webgpu else 90)
        assert "error" not in frame, frame["error"]
        state = wait_for(reports, lambda r: r.get("kind") == "state" and r["frames"] >= 4 and r["fps"] > 0,
                         seconds=180 if webgpu else 90)
    assert (frame["width"], frame["height"]) == (320, 240)
    assert state["engine"] == ("WebGPU" if webgpu else "wasm, 2 threads")
    assert state["pixels_from"] == "VideoFrame"  # the camera's frames copied out by WebCodecs, not drawn and read back
    # where a frame's time went, each stage timed: together no more than the second's frames can have taken
    assert set(state["stage_ms"]) == {"prepare", "model", "draw"} and min(state["stage_ms"].values()) >= 0
    assert 0 < state["stage_ms"]["model"] and sum(state["stage_ms"].values()) <= 1000 / state["fps"] * 1.5
    seen = _pixels(frame, "input")
    assert np.abs(seen.astype(int) - _photo(320, 240)).mean() < 4  # the clip, through the camera's YUV
    assert psnr_8bit(_onnx_runtime_pixels(pages[preset] / "model.onnx", seen), _pixels(frame, "output")) >= 40


@needs_chromium
def test_each_page_error_appears_when_provoked(pages, tmp_path):
    with page_in_chromium(pages["filter"], tmp_path / "a", camera=None) as reports:  # no camera at all
        assert wait_for(reports, lambda r: "error" in r)["error"].startswith("No camera was found")
    clip = write_y4m(tmp_path / "camera.y4m", _photo(320, 240))
    with page_in_chromium(pages["filter"], tmp_path / "refused", camera=clip, allowed=False) as reports:
        assert wait_for(reports, lambda r: "error" in r)["error"].startswith("The camera was refused")
    broken = tmp_path / "broken"
    shutil.copytree(pages["filter"], broken)
    (broken / "model.onnx").write_bytes(b"\x08" * 1000)
    with page_in_chromium(broken, tmp_path / "b", camera=None) as reports:
        assert wait_for(reports, lambda r: "error" in r)["error"].startswith("The model could not be loaded")
    old_browser = tmp_path / "old-browser"  # the page as a browser without WebAssembly sees it
    shutil.copytree(pages["filter"], old_browser)
    index = old_browser / "index.html"
    index.write_text(index.read_text().replace('<script src="cgan-web.js">',
                                               '<script>delete window.WebAssembly;</script><script src="cgan-web.js">'))
    with page_in_chromium(old_browser, tmp_path / "c", camera=None) as reports:
        assert wait_for(reports, lambda r: "error" in r)["error"].startswith("This browser cannot run WebAssembly")


def _drop_on_load(folder: Path, name: str, mime: str, then: str = "") -> None:
    """Makes the page in ``folder`` drop its file ``name`` on itself 1.5 s after loading, as a browser drops a file
    the visitor drags, and then run the script ``then``."""
    script = ("<script>addEventListener('load', () => setTimeout(async () => {"
              f"const blob = await (await fetch('{name}')).blob();"
              f"const files = new DataTransfer(); files.items.add(new File([blob], '{name}', {{type: '{mime}'}}));"
              "document.dispatchEvent(new DragEvent('drop', {dataTransfer: files, cancelable: true}));"
              f"{then}}}, 1500));</script>")
    index = folder / "index.html"
    index.write_text(index.read_text().replace("</body>", script + "</body>"))


@needs_chromium
@pytest.mark.parametrize("preset, width, height", [("filter", 200, 150), ("student-tiny", 201, 151)])
def test_an_image_dropped_on_the_page_is_translated(pages, tmp_path, preset, width, height):
    """Without a camera the page says so, and an image dropped on it is translated (the drop is made in the page
    by a script, as a browser makes it from a file the visitor drags). A size that is not a multiple of the
    student's 4 is reflect-padded and cropped back as the Python runtime does."""
    folder = tmp_path / "page"
    shutil.copytree(pages[preset], folder)
    photo = _photo(width, height)
    cv2.imwrite(str(folder / "dropped.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    _drop_on_load(folder, "dropped.png", "image/png")
    with page_in_chromium(folder, tmp_path, camera=None) as reports:
        assert wait_for(reports, lambda r: "error" in r)["error"].startswith("No camera was found")
        frame = wait_for(reports, lambda r: r.get("kind") == "frame")
    assert (frame["width"], frame["height"]) == (width, height)
    assert np.array_equal(_pixels(frame, "input"), photo)  # a PNG arrives as it is
    # The same fp32 graph in ONNX Runtime, in WebAssembly and in Python, with the same padding: a few pixels a level
    # apart at most (where float sums round differently). Padding by repeating the edge instead gives 79 dB.
    python_runtime = Translator(folder / "model.onnx", runtime_options(backend="onnxruntime"))
    assert psnr_8bit(python_runtime(photo), _pixels(frame, "output")) >= 85


def _webm(path: Path, rgb: np.ndarray, frames: int = 40) -> Path:
    """A VP8 WebM clip of ``rgb`` brightening frame by frame (every browser plays VP8)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libvpx", rate=20)
        stream.height, stream.width = rgb.shape[:2]
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.clip(rgb.astype(int) + 2 * i, 0, 255).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


@needs_chromium
def test_a_dropped_video_is_translated_saved_as_png_and_recorded_as_webm(pages, tmp_path):
    """A video dropped on the page plays translated; "save PNG" gives the canvas as a PNG and "record WebM" a WebM
    of it (the clicks made in the page by a script, as a visitor makes them). The page is the filter's fp16
    export: in the browser within 35 dB of ONNX Runtime in Python on the same file."""
    folder = tmp_path / "page"
    done = _export(pages["filter"].parent / "filter.safetensors", "--format", "web", "--precision", "fp16", "-o", folder)
    assert done.exit_code == 0, done.output
    assert json.loads((folder / "model.json").read_text())["precision"] == "fp16"
    _webm(folder / "dropped.webm", _photo(160, 120))
    _drop_on_load(folder, "dropped.webm", "video/webm", then=(
        "while (window.cganPage.frames < 5) await new Promise(r => setTimeout(r, 100));"
        "document.getElementById('save').click();"
        "document.getElementById('record').click();"
        "await new Promise(r => setTimeout(r, 1500));"
        "document.getElementById('record').click();"))
    with page_in_chromium(folder, tmp_path, camera=None) as reports:
        frame = wait_for(reports, lambda r: r.get("kind") == "frame")
        png = wait_for(reports, lambda r: r.get("kind") == "download" and r["name"].endswith(".png"))
        webm = wait_for(reports, lambda r: r.get("kind") == "download" and r["name"].endswith(".webm"))
    assert (frame["width"], frame["height"]) == (160, 120)
    seen = _pixels(frame, "input")
    assert psnr_8bit(_onnx_runtime_pixels(folder / "model.onnx", seen), _pixels(frame, "output")) >= 35
    saved = cv2.imdecode(np.frombuffer(base64.b64decode(png["bytes"]), np.uint8), cv2.IMREAD_COLOR)
    assert png["type"] == "image/png" and saved.shape == (120, 160, 3)
    recorded = tmp_path / "recorded.webm"
    recorded.write_bytes(base64.b64decode(webm["bytes"]))
    import av

    with av.open(str(recorded)) as clip:
        shown = [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)]
    assert webm["type"] == "video/webm" and len(shown) >= 3 and shown[0].shape == (120, 160, 3)
