"""Generated fuzzing: a corpus of good, damaged and hostile files, built here, fed to every command that reads
files. Every good input is processed; every bad one gets one line naming it (or one ``error:`` line and exit
2); nothing ends in a traceback, leaves a file half-written, or takes unbounded memory."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgan.errors import CganError
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config
from cgan.sampledata import load_photos

from hostile_onnx import REFUSED

# A child process may use this much memory at its peak; a 1 MB PNG declaring 20000x20000 pixels would take 1.2 GB.
PEAK_MB = 1500


def _png_declaring(width: int, height: int) -> bytes:
    """A valid PNG of black pixels: a small file that decodes to width x height x 3 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor, row = zlib.compressobj(9), b"\x00" * (width * 3 + 1)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _flip(data: bytes, at: float, mask: int = 0xFF) -> bytes:
    damaged = bytearray(data)
    damaged[int(len(data) * at)] ^= mask
    return bytes(damaged)


def build_image_corpus(folder: Path) -> tuple[set[str], set[str]]:
    """Images that must be translated (good) and files that must be named as unreadable (bad); files in
    neither set (a truncated JPEG, say) may go either way but must not break anything."""
    folder.mkdir(parents=True)
    photo = load_photos(("skimage:astronaut.png",))[0][:96, :128]
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    encoded = {ext: cv2.imencode(ext, bgr)[1].tobytes() for ext in (".jpg", ".png", ".webp")}
    good = {"photo.jpg": encoded[".jpg"], "photo.png": encoded[".png"], "photo.webp": encoded[".webp"],
            "one_pixel.png": cv2.imencode(".png", bgr[:1, :1])[1].tobytes(),
            "one_row.png": cv2.imencode(".png", np.zeros((1, 10000, 3), np.uint8))[1].tobytes(),
            "deep16.png": cv2.imencode(".png", (bgr.astype(np.uint16) * 257))[1].tobytes(),
            "grey.png": cv2.imencode(".png", bgr[..., 0])[1].tobytes(),
            "alpha.png": cv2.imencode(".png", np.dstack([bgr, np.full(bgr.shape[:2], 128, np.uint8)]))[1].tobytes(),
            "sub/deeper/nested.jpg": encoded[".jpg"]}
    from PIL import Image  # matplotlib's dependency: it writes the CMYK JPEG and animated GIF OpenCV cannot
    import io

    cmyk = io.BytesIO()
    Image.fromarray(photo).convert("CMYK").save(cmyk, "JPEG")
    good["cmyk.jpg"] = cmyk.getvalue()
    bad = {"empty.png": b"", "text.jpg": b"this is not an image\n" * 10, "huge.png": _png_declaring(20000, 20000),
           "header_flipped.png": _flip(encoded[".png"], 0.0), "half.png": encoded[".png"][: len(encoded[".png"]) // 2],
           "zeros.webp": b"\x00" * 4096, "caf\udce9.png".encode("utf-8", "surrogateescape").decode(
               "utf-8", "surrogateescape"): b"\x00" * 64}
    either = {"half.jpg": encoded[".jpg"][: len(encoded[".jpg"]) // 2], "flipped.jpg": _flip(encoded[".jpg"], 0.5),
              "half.webp": encoded[".webp"][: len(encoded[".webp"]) // 2]}
    for name, data in {**good, **bad, **either}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    gif = io.BytesIO()  # not an image suffix cgan reads: ignored, not an error
    Image.fromarray(photo).save(gif, "GIF", save_all=True, append_images=[Image.fromarray(photo[::-1])])
    (folder / "animated.gif").write_bytes(gif.getvalue())
    os.symlink(".", folder / "sub" / "loop")  # a directory loop
    os.symlink("dangling_target.png", folder / "dangling.png")
    return set(good), set(bad) | {"dangling.png"}


# Runs the command line and, at exit, writes the process's peak resident memory (VmHWM: of this program only;
# getrusage's maxrss would include the test process's own size, which a forked child starts with).
CHILD = """import atexit, re, runpy, sys
peak_file = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
atexit.register(peak)
sys.argv[0] = "cgan"
runpy.run_module("cgan", run_name="__main__")
"""


def _cgan(*args, cwd: Path) -> tuple[int, str, float]:
    """Run the command line in a child process: (exit code, output, the child's peak memory in MB)."""
    peak_file = cwd / ".child_peak_kb"
    done = subprocess.run([sys.executable, "-c", CHILD, str(peak_file), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, errors="replace", timeout=300)
    peak_mb = int(peak_file.read_text()) / 1024
    peak_file.unlink()
    return done.returncode, done.stdout + done.stderr, peak_mb


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    config = preset_config("resnet6", ngf=4)
    folder = tmp_path_factory.mktemp("model")
    return save_model(build_generator(config), folder / "m.safetensors", new_meta(config, "resnet6", "a", "b"))


def _no_partial_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp")]


def test_translate_processes_every_good_image_and_names_every_bad_one(model, tmp_path):
    good, bad = build_image_corpus(tmp_path / "corpus")
    code, output, peak_mb = _cgan("translate", "--model", model, "--source", tmp_path / "corpus", "--out",
                                  tmp_path / "out", "--device", "cpu", cwd=tmp_path)
    assert code == 0 and "Traceback" not in output, output
    written = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert good <= written, good - written
    named = {line.split("skipped ", 1)[1].rsplit(": ", 1)[0] for line in output.splitlines()
             if line.startswith("skipped ")}
    shown = {os.fsencode(tmp_path / "corpus" / name).decode("utf-8", "replace") for name in bad - {"dangling.png"}}
    assert shown <= named, shown - named  # (a name that is not UTF-8 is printed as its bytes)
    assert not (written & bad) and peak_mb < PEAK_MB and _no_partial_files(tmp_path)
    for name in good:  # outputs keep their inputs' sizes
        original = cv2.imread(str(tmp_path / "corpus" / name), cv2.IMREAD_UNCHANGED)
        assert cv2.imread(str(tmp_path / "out" / name)).shape[:2] == original.shape[:2], name


def test_training_data_loading_skips_and_names_what_it_cannot_read(tmp_path):
    from cgan.train.config import TrainConfig
    from cgan.train.data import UnpairedDataset, find_data

    good, bad = build_image_corpus(tmp_path / "a")
    build_image_corpus(tmp_path / "b")
    config = TrainConfig(a=str(tmp_path / "a"), b=str(tmp_path / "b"), size=32, load_size=36, val_fraction=0.0)
    split = find_data(config)
    # Files that do not even start like an image are named before training; the others (huge.png, whose
    # header is valid) are skipped when drawn, replaced by the next readable file, and counted.
    assert any("empty.png" in note and "text.jpg" in note and "caf\ufffd.png" in note for note in split.notes)
    dataset = UnpairedDataset(split.train_a, split.train_b, config, 4)
    items = [dataset[a, b, a * 31 + b] for a in range(len(split.train_a)) for b in range(len(split.train_b))]
    assert all(item["A"].shape == (3, 32, 32) and item["B"].shape == (3, 32, 32) for item in items)
    assert sum(item["skipped"] for item in items) >= 2  # huge.png in A and in B, at least


def hostile_model_files(folder: Path, model: Path) -> dict[str, Path]:
    """Model, ONNX and engine files that are damaged or lie about themselves."""
    from safetensors.torch import load_file, save_file

    folder.mkdir(parents=True)
    raw = model.read_bytes()
    header_end = 8 + struct.unpack("<Q", raw[:8])[0]
    tensors = load_file(str(model))
    meta = json.loads(json.loads(raw[8:header_end])["__metadata__"]["cgan"])
    files = {"empty.safetensors": b"", "random.safetensors": os.urandom(4096),
             "huge_header.safetensors": struct.pack("<Q", 2**62) + b"{}",
             "truncated.safetensors": raw[: len(raw) // 2],
             "flipped_weights.safetensors": _flip(raw, (header_end + len(raw)) / 2 / len(raw), 0x40),
             "random.onnx": os.urandom(4096), "truncated.onnx": b"\x08\x07\x12\x04cgan" * 3,
             "lonely.engine": os.urandom(256)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    edits = {"ngf_huge": lambda m: m["generator"].update(ngf=20000),
             "ngf_fraction": lambda m: m["generator"].update(ngf=8.5),
             "blocks_mismatch": lambda m: m["generator"].update(ngf=256, n_blocks=20),
             "domains_list": lambda m: m.update(domains=[1, 2]),
             "deep": None, "list": None}
    for name, edit in edits.items():
        if name == "deep":
            text = "[" * 100_000 + "]" * 100_000
        elif name == "list":
            text = "[1, 2]"
        else:
            edited = json.loads(json.dumps(meta))
            edit(edited)
            text = json.dumps(edited)
        save_file(tensors, str(folder / f"{name}.safetensors"), metadata={"cgan": text})
    for name, (build, _) in REFUSED.items():  # graphs that would hang, crash or exhaust an engine
        if name != "nan_bias":  # (that one is refused when it runs, not when it is read: test_hostile.py)
            build(folder / f"graph_{name}.onnx")
    (folder / "garbage_sidecar.engine").write_bytes(os.urandom(64))
    (folder / "garbage_sidecar.json").write_text('{"format": "cgan-generator", "tensorrt": "x", "gpu": "x"}')
    return {p.name: p for p in folder.iterdir() if p.suffix != ".json"}


def test_info_and_translate_refuse_every_hostile_model_file_in_one_line(model, tmp_path):
    from click.testing import CliRunner

    from cgan.cli import cli

    image = tmp_path / "in.png"
    cv2.imwrite(str(image), np.zeros((16, 16, 3), np.uint8))
    for name, path in hostile_model_files(tmp_path / "models", model).items():
        code, output, peak_mb = _cgan("info", path, cwd=tmp_path)  # in a child process, to measure its memory
        assert code == 2 and output.strip().splitlines()[-1].startswith("error: "), (name, output)
        assert "Traceback" not in output and peak_mb < PEAK_MB, (name, output)
        result = CliRunner().invoke(cli, ["translate", "--model", str(path), "--source", str(image), "--out",
                                          str(tmp_path / "out.png"), "--device", "cpu"])
        assert result.exit_code == 2 and result.output.strip().splitlines()[-1].startswith("error: "), (name, result.output)
        assert not (tmp_path / "out.png").exists()


def hostile_runs(folder: Path) -> list[Path]:
    """Run directories whose config.yaml, metrics.jsonl or state file are damaged or hostile."""
    configs = {"alias_bomb": "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nname_a: [*b, *b]\n",
               "binary": "\udcff\udcfe".encode("utf-8", "surrogateescape"), "a_list": "- 1\n- 2\n",
               "python_tag": "name_a: !!python/object/apply:os.system ['echo pwned']\n",
               "typed_wrong": "size: big\nworkers: -3\n", "huge": "name_a: " + "x" * (2 << 20) + "\n"}
    metrics = {"garbage": os.urandom(512), "nested": ("[" * 100_000 + "]" * 100_000 + "\n").encode(),
               "not_objects": b"1\n2\n3\n", "script": json.dumps({"type": "val", "iteration": 1, "epoch": 0,
                                                                 "cycle_l1": "<script>x</script>"}).encode() + b"\n"}
    runs = []
    for name, text in configs.items():
        run = folder / f"config_{name}"
        run.mkdir(parents=True)
        (run / "config.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
        runs.append(run)
    for name, data in metrics.items():
        run = folder / f"metrics_{name}"
        run.mkdir(parents=True)
        (run / "config.yaml").write_text("size: 32\n")
        (run / "metrics.jsonl").write_bytes(data)
        (run / "state.safetensors").write_bytes(os.urandom(1024))
        runs.append(run)
    return runs


def test_report_and_resume_handle_every_hostile_run_directory(tmp_path):
    for run in hostile_runs(tmp_path / "runs"):
        for command in (["report", run], ["train", "--resume", run]):
            code, output, peak_mb = _cgan(*command, cwd=tmp_path)
            assert code in (0, 2) and "Traceback" not in output and peak_mb < PEAK_MB, (run.name, command[0], output)
            if code == 2:
                assert output.strip().splitlines()[-1].startswith("error: "), (run.name, output)
            page = run / "report.html"
            if page.exists():
                assert "<script>" not in page.read_text(errors="replace") and page.read_text().endswith("</html>\n")
        assert _no_partial_files(run) and not (run / "pwned").exists()


@pytest.fixture(scope="module")
def translator(model):
    from cgan.runtime.translator import Translator

    return Translator(model, device="cpu")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(height=st.integers(1, 70), width=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_translator_keeps_any_size(translator, height, width, seed):
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    output = translator(image)
    assert output.shape == image.shape and output.dtype == np.uint8


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dtype=st.sampled_from([np.float32, np.float64, np.uint16, np.int64, np.int8, bool]),
       channels=st.sampled_from([None, 1, 2, 4, 5]), uint8_rgb=st.booleans())
def test_translator_refuses_what_is_not_rgb_uint8_in_one_error(translator, dtype, channels, uint8_rgb):
    shape = (8, 8) if channels is None else (8, 8, channels)
    image = np.zeros(shape, dtype=np.uint8 if uint8_rgb else dtype)
    with pytest.raises(CganError, match="expected an HxWx3 uint8 RGB image"):
        translator(image)
