"""Hostile model files and races: graphs built here that would hang, crash or exhaust an engine, names that
would steer outputs elsewhere, and two processes on one output. Each must end in one ``error:`` line (exit 2)
or a correct result, bounded in time and memory, with nothing outside the chosen output touched."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from cgan.modelfile import new_meta
from cgan.nets import preset_config

from hostile_onnx import REFUSED, endless_loop, half_size, identity, integer_division_by_pixels, nan_bias, slow_chain
from test_fuzz import PEAK_MB, _cgan

BACKENDS = ("openvino", "onnxruntime")


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    return path


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", REFUSED)
def test_hostile_graphs_are_refused_in_one_line_within_bounds(case, backend, tmp_path, image):
    build, reason = REFUSED[case]
    model = build(tmp_path / f"{case}.onnx")
    started = time.monotonic()
    code, output, peak_mb = _cgan("translate", "--model", model, "--source", image, "--out", tmp_path / "out.png",
                                  "--backend", backend, cwd=tmp_path)
    lines = output.strip().splitlines()
    assert code == 2 and lines[-1].startswith("error: ") and reason in lines[-1], output
    assert "Traceback" not in output and peak_mb < PEAK_MB and time.monotonic() - started < 30, output
    assert not (tmp_path / "out.png").exists()


def test_info_refuses_a_graph_that_would_hang(tmp_path):
    code, output, _ = _cgan("info", endless_loop(tmp_path / "loop.onnx"), cwd=tmp_path)
    assert code == 2 and output.strip().splitlines()[-1].startswith("error: "), output


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_model_that_runs_for_minutes_within_a_second(backend, signum, tmp_path, image):
    model = slow_chain(tmp_path / "slow.onnx")
    child = subprocess.Popen([sys.executable, "-m", "cgan", "translate", "--model", str(model), "--source",
                              str(image), "--out", str(tmp_path / "out.png"), "--backend", backend], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(6)  # imports, the graph check and compilation done: the engine is in the probe's thousands of layers
    assert child.poll() is None, child.communicate()[0]
    child.send_signal(signum)
    sent = time.monotonic()
    output = child.communicate(timeout=30)[0]
    assert time.monotonic() - sent < 1.5, output
    assert child.returncode == 130 and "Traceback" not in output, output
    assert not (tmp_path / "out.png").exists()


def test_a_call_past_its_time_budget_is_stopped_with_one_line(tmp_path, monkeypatch):
    from cgan.errors import CganError
    from cgan.runtime import bounded
    from cgan.runtime.translator import Translator

    monkeypatch.setattr(bounded, "ALLOWANCE_SECONDS", 1.0)
    started = time.monotonic()
    with pytest.raises(CganError, match="ran for more than 1 s on one call and was stopped"):
        Translator(slow_chain(tmp_path / "slow.onnx"), backend="onnxruntime")
    assert time.monotonic() - started < 10


# ------------------------------------------------------------------------------ outputs stay where they belong
def clip(path: Path, frames: int = 12, size: tuple[int, int] = (64, 48)) -> Path:
    from cgan.sampledata import write_panning_clip

    write_panning_clip(path, size[0], size[1], frames, 12.0, photo="skimage:coffee.png")
    return path


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_a_domain_name_cannot_steer_the_default_output_out_of_its_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    model = identity(tmp_path / "m.onnx", domains={"source": "a", "target": "x/../../../escaped"})
    video = clip(work / "clip.mp4")
    before = _files(tmp_path)
    code, output, _ = _cgan("translate", "--model", model, "--source", video, cwd=work)
    assert code == 0, output
    assert _files(tmp_path) - before == {"work/clip_x_.._.._.._escaped.mp4"}, output


def test_names_with_terminal_escapes_are_printed_escaped(tmp_path, image):
    model = identity(tmp_path / "m.onnx", domains={"source": "a\x1b[31m", "target": "b\nerror: forged"})
    for args in (("info", model), ("translate", "--model", model, "--source", image, "--out", tmp_path / "o.png")):
        code, output, _ = _cgan(*args, cwd=tmp_path)
        assert code == 0 and "\x1b" not in output and "\nerror: forged" not in output, output
        assert "\\x1b[31m" in output and "b\\nerror: forged" in output, output


def test_a_planted_link_is_never_followed_or_replaced_without_overwrite(tmp_path):
    model, video = identity(tmp_path / "m.onnx"), clip(tmp_path / "clip.mp4")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / ".clip_b.partial.mp4")  # where the partial file used to be, by a fixed name
    code, output, _ = _cgan("translate", "--model", model, "--source", video, "--out", tmp_path / "clip_b.mp4",
                            cwd=tmp_path)
    assert code == 0 and victim.read_text() == "keep me", output
    os.symlink(victim, tmp_path / "linked.mp4")  # the output itself a link: it exists
    code, output, _ = _cgan("translate", "--model", model, "--source", video, "--out", tmp_path / "linked.mp4",
                            cwd=tmp_path)
    assert code == 2 and "already exists" in output and victim.read_text() == "keep me", output


def test_the_source_video_is_never_its_own_output(tmp_path):
    model, video = identity(tmp_path / "m.onnx"), clip(tmp_path / "clip.mp4")
    original = video.read_bytes()
    code, output, _ = _cgan("translate", "--model", model, "--source", video, "--out", video, "--overwrite",
                            cwd=tmp_path)
    assert code == 2 and "is the source video itself" in output and video.read_bytes() == original, output


def _wait_for(condition, process, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.05)


@pytest.mark.slow
def test_two_translations_into_one_output_are_never_interleaved(tmp_path):
    model, video = slow_chain(tmp_path / "m.onnx", layers=60), clip(tmp_path / "clip.mp4", frames=120)
    out = tmp_path / "out.mp4"
    first = subprocess.Popen([sys.executable, "-m", "cgan", "translate", "--model", str(model), "--source", str(video),
                              "--out", str(out), "--backend", "onnxruntime"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: (tmp_path / ".out.mp4.lock").exists(), first)
    code, output, _ = _cgan("translate", "--model", model, "--source", video, "--out", out, "--overwrite",
                            "--backend", "onnxruntime", cwd=tmp_path)
    assert code == 2 and "in use by another cgan process" in output, output
    assert first.wait(timeout=300) == 0, first.communicate()[0]
    import av

    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 120
    assert not list(tmp_path.glob(".out*")), list(tmp_path.iterdir())


@pytest.mark.slow
def test_two_trainings_into_one_run_folder_are_refused(tmp_path):
    from cgan.sampledata import build_unpaired_dataset

    data = build_unpaired_dataset(tmp_path / "data", n_train=6, n_test=2, size=40)
    run = tmp_path / "run"
    flags = ["train", "--data", data, "--out", run, "--preset", "resnet6", "--ngf", 4, "--ndf", 4, "--size", 32,
             "--workers", 0, "--max-iters", 100000]
    first = subprocess.Popen([sys.executable, "-m", "cgan", *map(str, flags)], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: (run / "config.yaml").exists(), first)
    code, output, _ = _cgan(*flags, cwd=tmp_path)
    assert code == 2 and "in use by another cgan process" in output, output
    code, output, _ = _cgan("train", "--resume", run, "--max-iters", 10, cwd=tmp_path)
    assert code == 2 and "in use by another cgan process" in output, output
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 130, first.communicate()[0]


# --------------------------------------------------------------------------------------- nothing lost or wrong
def test_outputs_of_the_wrong_size_or_not_finite_are_errors_on_every_backend(tmp_path, image):
    from cgan.errors import CganError
    from cgan.runtime.translator import Translator

    for build in (nan_bias, half_size):
        for backend in BACKENDS:
            with pytest.raises(CganError, match="NaN or infinite|keeps the input's shape"):
                Translator(build(tmp_path / f"{build.__name__}.onnx"), backend=backend)
    code, output, _ = _cgan("benchmark", "--model", nan_bias(tmp_path / "nan.onnx"), "--sizes", "64", cwd=tmp_path)
    assert code == 2 and "NaN or infinite" in output and "inf dB" not in output, output


def test_wrote_is_printed_only_for_files_that_exist(tmp_path):
    from cgan.errors import CganError
    from cgan.apps.translate import translate

    import av

    with av.open(str(tmp_path / "whole.mkv"), "w") as container:  # a header that survives, then nothing
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    (tmp_path / "cut.mkv").write_bytes((tmp_path / "whole.mkv").read_bytes()[:600])
    code, output, _ = _cgan("translate", "--model", identity(tmp_path / "m.onnx"), "--source", tmp_path / "cut.mkv",
                            "--out", tmp_path / "cut_out.mp4", cwd=tmp_path)
    assert code == 2 and "no frame that could be decoded" in output and "\nwrote " not in output, output
    assert not (tmp_path / "cut_out.mp4").exists()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.png").write_text("not an image")
    cv2.imwrite(str(tmp_path / "in" / "fine.png"), np.zeros((8, 8, 3), np.uint8))
    code, output, _ = _cgan("translate", "--model", identity(tmp_path / "m.onnx"), "--source", tmp_path / "in",
                            "--out", tmp_path / "out", "--max-frames", 1, cwd=tmp_path)
    assert code == 0 and (tmp_path / "out" / "broken.png").exists() is False, output
    written = [line.removeprefix("wrote ") for line in output.splitlines() if line.startswith("wrote ")]
    assert all(Path(p).exists() for p in written), output
    with pytest.raises(CganError):
        translate(identity(tmp_path / "m2.onnx"), str(tmp_path / "in" / "broken.png"), str(tmp_path / "x.png"),
                  progress=False)
    assert not (tmp_path / "x.png").exists() and not list(tmp_path.glob(".x.png*"))


def test_a_variable_frame_rate_clip_keeps_its_duration(tmp_path):
    import av
    from fractions import Fraction

    times = [0, 0.1, 0.2, 1, 2, 3, 5, 7, 8, 9]  # 10 frames over 9 s, in a container that reports 1000 fps
    with av.open(str(tmp_path / "vfr.mkv"), "w") as container:
        stream = container.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts, frame.time_base = int(t * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    code, output, _ = _cgan("translate", "--model", identity(tmp_path / "m.onnx"), "--source", tmp_path / "vfr.mkv",
                            "--out", tmp_path / "out.mp4", cwd=tmp_path)
    assert code == 0, output
    with av.open(str(tmp_path / "out.mp4")) as container:
        shown = [round(frame.time, 2) for frame in container.decode(video=0)]
    assert shown == times


# ------------------------------------------------------------------------------------------ bounded inputs
def test_huge_declared_images_and_frames_are_refused_before_they_are_decoded(tmp_path):
    from test_fuzz import _png_declaring

    model = identity(tmp_path / "m.onnx")
    (tmp_path / "small.png").write_bytes(_png_declaring(64, 48))
    code, output, usual_mb = _cgan("translate", "--model", model, "--source", tmp_path / "small.png", "--out",
                                   tmp_path / "small_out.png", cwd=tmp_path)
    assert code == 0, output
    (tmp_path / "huge.png").write_bytes(_png_declaring(11000, 11000))  # under OpenCV's old limit: 363 MB decoded
    code, output, peak_mb = _cgan("translate", "--model", model, "--source", tmp_path / "huge.png", "--out",
                                  tmp_path / "o.png", cwd=tmp_path)
    assert code == 2 and "11000x11000" in output and "CGAN_MAX_PIXELS" in output, output
    assert peak_mb < usual_mb + 100, (peak_mb, usual_mb)  # the pixels were never decoded
    video = clip(tmp_path / "clip.mp4")  # the same check on a video's header, with the limit below its frames
    env_before = os.environ.get("CGAN_MAX_PIXELS")
    os.environ["CGAN_MAX_PIXELS"] = "1000"
    try:
        code, output, _ = _cgan("translate", "--model", model, "--source", video, "--out", tmp_path / "o.mp4",
                                cwd=tmp_path)
    finally:
        os.environ.pop("CGAN_MAX_PIXELS") if env_before is None else os.environ.update(CGAN_MAX_PIXELS=env_before)
    assert code == 2 and "64x48 pixels" in output and "CGAN_MAX_PIXELS=3072" in output, output


def test_a_frame_needing_more_memory_than_the_machine_has_is_refused(tmp_path, monkeypatch):
    from cgan.errors import CganError
    from cgan.runtime import translator as translator_module
    from cgan.runtime.translator import Translator

    translator = Translator(identity(tmp_path / "m.onnx"), backend="onnxruntime")
    monkeypatch.setattr(translator_module, "available_memory", lambda: 2**20)
    with pytest.raises(CganError, match=r"need about .* GB .* more than the 0.0 GB free"):
        translator(np.zeros((480, 640, 3), np.uint8))


def _zip_bomb(path: Path, inflated: int) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("archive/data/0", "w", force_zip64=True) as entry:
            zeros = bytes(1 << 20)
            for _ in range(inflated >> 20):
                entry.write(zeros)
    return path


def test_a_checkpoint_that_inflates_past_any_generator_is_refused_before_reading(tmp_path):
    bomb = _zip_bomb(tmp_path / "latest_net_G_A.pth", (1 << 30) + (1 << 20))
    assert bomb.stat().st_size < 5 << 20
    code, output, peak_mb = _cgan("convert", bomb, "--preset", "resnet9", "-o", tmp_path / "m.safetensors",
                                  cwd=tmp_path)
    assert code == 2 and "once read" in output and peak_mb < 500, output


@pytest.mark.parametrize("flags, expected", [
    (["--lr", "nan"], "finite"), (["--lr", "inf"], "finite"), (["--ndf", "100000"], "--ndf 100000 is more than"),
    (["--n-layers-d", "50"], "--n-layers-d 50 is more than"), (["--size", "100000"], "--size 100000 is more than"),
    (["--batch", "1000", "--size", "512"], "pixels a step")])
def test_numeric_training_options_are_bounded_and_finite(flags, expected, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    code, output, peak_mb = _cgan("train", "--a", tmp_path / "a", "--b", tmp_path / "b", *flags, cwd=tmp_path)
    assert code == 2 and expected in output.strip().splitlines()[-1] and "Traceback" not in output, output


def test_numbers_in_a_config_file_are_checked_as_flags_and_its_errors_summarised(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "inf.yaml").write_text("lr: .inf\n")
    code, output, _ = _cgan("train", "--a", tmp_path / "a", "--b", tmp_path / "b", "--config", tmp_path / "inf.yaml",
                            cwd=tmp_path)
    assert code == 2 and "--lr must be a finite number" in output, output
    (tmp_path / "many.yaml").write_text("".join(f"key_{i}: 1\n" for i in range(70000)))
    code, output, _ = _cgan("train", "--a", tmp_path / "a", "--b", tmp_path / "b", "--config", tmp_path / "many.yaml",
                            cwd=tmp_path)
    line = output.strip().splitlines()[-1]
    assert code == 2 and "unknown options key_0, key_1" in line and "69995 more (70000 in all)" in line, output
    assert len(line) < 500, output


@pytest.mark.parametrize("flags, expected", [(["--imgsz", "100000"], "--imgsz"), (["--batch", "100000"], "--batch")])
def test_numeric_runtime_options_are_bounded(flags, expected, tmp_path, image):
    code, output, peak_mb = _cgan("translate", "--model", identity(tmp_path / "m.onnx"), "--source", image, "--out",
                                  tmp_path / "o.png", *flags, cwd=tmp_path)
    assert code == 2 and expected in output and "Traceback" not in output and peak_mb < PEAK_MB, output


def test_the_report_reads_only_regular_files_of_the_run(tmp_path):
    from cgan.apps.report import build_report

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "config.yaml").write_text("preset: resnet6\n")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret bytes")
    os.symlink(secret, run / "samples" / "epoch_0001.png")
    os.mkfifo(run / "samples" / "epoch_0002.png")  # reading a FIFO blocks until someone writes
    page = build_report(run).read_text()
    import base64

    assert base64.b64encode(secret.read_bytes()).decode() not in page
    os.symlink(tmp_path / "elsewhere.yaml", run / "metrics.jsonl")
    build_report(run, overwrite=True)


def test_a_benchmark_does_not_overwrite_its_json_without_overwrite(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    code, output, _ = _cgan("benchmark", "--model", identity(tmp_path / "m.onnx"), "--sizes", "64", "--json",
                            tmp_path / "b.json", cwd=tmp_path)
    assert code == 2 and "already exists" in output and (tmp_path / "b.json").read_text() == "{}", output


def test_onnx_runtime_prints_nothing_of_its_own_before_the_error(tmp_path, image):
    code, output, _ = _cgan("translate", "--model", integer_division_by_pixels(tmp_path / "div.onnx"), "--source",
                            image, "--out", tmp_path / "o.png", "--backend", "onnxruntime", cwd=tmp_path)
    assert code == 2 and output.strip().startswith("error: ") and len(output.strip().splitlines()) == 1, output
    assert "division by zero" in output


def test_a_cache_path_that_is_a_file_is_named_not_the_model(tmp_path, image):
    (tmp_path / "cache").write_text("a file")
    env_before = os.environ["CGAN_CACHE"]
    os.environ["CGAN_CACHE"] = str(tmp_path / "cache")
    try:
        code, output, _ = _cgan("translate", "--model", identity(tmp_path / "m.onnx"), "--source", image, "--out",
                                tmp_path / "o.png", "--backend", "openvino", cwd=tmp_path)
    finally:
        os.environ["CGAN_CACHE"] = env_before
    assert code == 2 and "cache folder" in output and "CGAN_CACHE" in output, output


def test_macs_of_a_deep_unet_are_counted(tmp_path):
    from cgan.modelfile import save_model
    from cgan.nets import build_generator

    config = preset_config("unet256", num_downs=10, ngf=4)
    path = save_model(build_generator(config), tmp_path / "deep.safetensors", new_meta(config, "unet256"))
    code, output, _ = _cgan("info", path, cwd=tmp_path)
    assert code == 0 and "macs at 256x256" in output, output


def test_a_resume_whose_config_names_another_network_is_one_line(tmp_path):
    import yaml

    from cgan.sampledata import build_unpaired_dataset

    data = build_unpaired_dataset(tmp_path / "data", n_train=4, n_test=2, size=40)
    run = tmp_path / "run"
    code, output, _ = _cgan("train", "--data", data, "--out", run, "--preset", "resnet6", "--ngf", 4, "--ndf", 4,
                            "--size", 32, "--workers", 0, "--max-iters", 2, cwd=tmp_path)
    assert code == 0, output
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "ngf": 8}))
    code, output, _ = _cgan("train", "--resume", run, "--max-iters", 4, cwd=tmp_path)
    assert code == 2 and "does not fit the networks" in output and "Traceback" not in output, output


class DroppingStream:
    """A stream that delivers 20 frames and then fails every read, on every reconnect."""

    delivered = 0

    def __init__(self, target):
        pass

    def isOpened(self):
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48}.get(prop, 30.0)

    def set(self, prop, value):
        return True

    def read(self):
        if DroppingStream.delivered >= 20:
            return False, None
        DroppingStream.delivered += 1
        time.sleep(0.01)
        return True, np.full((48, 64, 3), DroppingStream.delivered * 10, np.uint8)

    def release(self):
        pass


def test_a_stream_lost_for_good_keeps_what_was_recorded(tmp_path, monkeypatch):
    import av

    import cgan.runtime.sources as sources
    from cgan.errors import CganError
    from cgan.apps.translate import translate

    DroppingStream.delivered = 0
    monkeypatch.setattr(sources.cv2, "VideoCapture", DroppingStream)
    monkeypatch.setattr(sources, "_backoff", lambda failures: 0.01)
    with pytest.raises(CganError, match=r"did not come back after 5 reconnects; the \d+ frames before are kept in"):
        translate(identity(tmp_path / "m.onnx"), "rtsp://camera.local/stream", str(tmp_path / "rec.mp4"),
                  progress=False, backend="onnxruntime")
    with av.open(str(tmp_path / "rec.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0
    assert not list(tmp_path.glob(".rec*"))


# ------------------------------------------------------------------------------ interruptions keep what was done
def _interrupted(args: list, ready, tmp_path: Path, signum=signal.SIGINT) -> tuple[int, str]:
    """Run the command line, send ``signum`` once ``ready(output so far)`` holds, and return its exit code and
    output (Ctrl-C as a terminal gives it, whatever the test runner's shell ignores)."""
    log = tmp_path / "output.log"
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, "-m", "cgan", *map(str, args)], cwd=tmp_path, stdout=out,
                                 stderr=subprocess.STDOUT, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
        _wait_for(lambda: ready(log.read_text()), child)
        child.send_signal(signum)
        code = child.wait(timeout=60)
    return code, log.read_text()


@pytest.mark.slow
def test_a_translation_stopped_by_ctrl_c_keeps_a_playable_partial_video(tmp_path):
    import av

    model, video = slow_chain(tmp_path / "m.onnx", layers=40), clip(tmp_path / "clip.mp4", frames=300)
    began: list[float] = []

    def writing_for_a_while(_) -> bool:  # the partial file exists since 3 s: dozens of frames are in
        if not began and list(tmp_path.glob(".out*.partial.mp4")):
            began.append(time.monotonic())
        return bool(began) and time.monotonic() - began[0] > 3

    code, output = _interrupted(["translate", "--model", model, "--source", video, "--out", tmp_path / "out.mp4",
                                 "--backend", "onnxruntime"], writing_for_a_while, tmp_path)
    assert code == 130 and "frames translated before are kept in" in output, output
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert 0 < sum(1 for _ in container.decode(video=0)) < 300


@pytest.mark.slow
def test_a_benchmark_stopped_by_ctrl_c_prints_the_rows_it_measured(tmp_path):
    model = slow_chain(tmp_path / "m.onnx", layers=40)
    code, output = _interrupted(["benchmark", "--model", model, "--backends", "onnxruntime", "--sizes",
                                 "64,256,512,720p", "--batch", 1,
                                 "--no-half", "--no-pipeline", "--max-seconds", 2, "--json", tmp_path / "b.json"],
                                lambda output: "ms/image" in output, tmp_path, signum=signal.SIGTERM)
    assert code == 130 and "rows above were measured before" in output and "64x64" in output, output
    import json

    assert json.loads((tmp_path / "b.json").read_text())["interrupted"] is True


def test_a_command_that_returns_while_an_abandoned_engine_call_runs_ends_without_finalising(monkeypatch):
    # cgan benchmark stopped by Ctrl-C returns 130 while ONNX Runtime may still finish the call it abandoned: the
    # interpreter must not be finalised under that C++ thread ("terminate called without an active exception").
    import cgan.cli as cli_module
    import cgan.runtime.bounded as bounded

    ended = []

    def os_exit(code):
        ended.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(bounded, "engines_running", lambda: True)
    monkeypatch.setattr(cli_module.os, "_exit", os_exit)
    with pytest.raises(SystemExit):
        cli_module.cli.main(["info", "--help"])
    assert ended == [0]
