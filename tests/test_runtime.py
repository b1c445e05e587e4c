import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cgan.errors import CganError
from cgan.export import export_onnx
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config
from cgan.apps.translate import translate, webcam
from cgan.runtime.sources import LiveSource, open_source
from cgan.runtime.temporal import flicker, warped_flicker
from cgan.runtime.translator import Translator
from cgan.sampledata import write_panning_clip


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    config = preset_config("resnet6", ngf=4)
    torch.manual_seed(0)
    net = build_generator(config)
    path = save_model(net, root / "tom2jerry.safetensors", new_meta(config, "resnet6", "tom", "jerry"))
    onnx_path, _ = export_onnx(path, root / "tom2jerry.onnx", verify_shapes=[(1, 3, 32, 32)])
    return {"torch": path, "onnx": onnx_path}


def panning_clip(path, frames=20, size=(96, 72), fps=12.0):
    """A camera panning across a real photo, written with cv2.VideoWriter."""
    write_panning_clip(path, size[0], size[1], frames, fps, photo="skimage:coffee.png")
    return path


def read_video(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return frames, fps


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_video_keeps_frame_count_fps_and_size(models, tmp_path, backend):
    clip = panning_clip(tmp_path / "clip.mp4", frames=20, size=(96, 72), fps=12.0)
    summary = translate(models[backend], str(clip), str(tmp_path / "out.mp4"), batch=3, progress=False)
    frames, fps = read_video(tmp_path / "out.mp4")
    assert summary.frames == 20 and len(frames) == 20 and fps == pytest.approx(12.0)
    assert frames[0].shape == (72, 96, 3)
    assert not list(tmp_path.glob(".*partial*"))


def test_folder_of_mixed_images_keeps_names_and_sizes(models, tmp_path):
    src = tmp_path / "photos"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(src / "wide.jpg"), rng.integers(0, 255, (37, 101, 3), dtype=np.uint8))
    cv2.imwrite(str(src / "sub" / "grey.png"), rng.integers(0, 255, (50, 30), dtype=np.uint8))
    cv2.imwrite(str(src / "sub" / "alpha.png"), rng.integers(0, 255, (21, 64, 4), dtype=np.uint8))
    (src / "broken.png").write_text("not an image")
    summary = translate(models["onnx"], str(src), str(tmp_path / "out"), batch=4, progress=False)
    assert summary.frames == 3 and summary.skipped == 1
    for name, shape in {"wide.jpg": (37, 101, 3), "sub/grey.png": (50, 30, 3), "sub/alpha.png": (21, 64, 3)}.items():
        out = cv2.imread(str(tmp_path / "out" / name))
        assert out is not None and out.shape == shape, name


def test_existing_outputs_are_not_overwritten(models, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"precious")
    with pytest.raises(CganError, match="--overwrite"):
        translate(models["torch"], str(tmp_path / "a.png"), str(tmp_path / "out"), progress=False)
    assert (tmp_path / "out" / "a.png").read_bytes() == b"precious"
    translate(models["torch"], str(tmp_path / "a.png"), str(tmp_path / "out"), overwrite=True, progress=False)
    assert cv2.imread(str(tmp_path / "out" / "a.png")).shape == (8, 8, 3)


def test_single_image_to_a_named_file(models, tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.full((10, 14, 3), 90, np.uint8))
    translate(models["torch"], str(tmp_path / "a.png"), str(tmp_path / "b.jpg"), progress=False)
    assert cv2.imread(str(tmp_path / "b.jpg")).shape == (10, 14, 3)


def test_torch_and_onnx_runtime_agree(models):
    image = np.random.default_rng(1).integers(0, 255, (45, 67, 3), dtype=np.uint8)
    a = Translator(models["torch"], device="cpu")(image).astype(int)
    b = Translator(models["onnx"])(image).astype(int)
    assert a.shape == b.shape == image.shape
    assert np.abs(a - b).max() <= 1  # at most one grey level of rounding


def test_batches_of_mixed_sizes_equal_one_by_one(models):
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 255, shape, dtype=np.uint8) for shape in [(32, 48, 3), (20, 20, 3), (32, 48, 3), (7, 9, 3)]]
    batched = Translator(models["torch"], batch=3, device="cpu").translate(images)
    single = [Translator(models["torch"], device="cpu")(im) for im in images]
    for a, b in zip(batched, single):
        assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_imgsz_scales_and_scales_back(models):
    image = np.random.default_rng(3).integers(0, 255, (60, 120, 3), dtype=np.uint8)
    assert Translator(models["torch"], imgsz=40, device="cpu")(image).shape == (60, 120, 3)
    assert Translator(models["torch"], imgsz=40, keep_imgsz=True, device="cpu")(image).shape == (20, 40, 3)


def test_half_means_bf16_on_this_cpu_when_it_has_it(models):
    from cgan.devices import cpu_has_fast_bf16

    translator = Translator(models["torch"], precision="half", device="cpu")
    assert translator.backend.precision == ("bf16" if cpu_has_fast_bf16() else "fp32")
    image = np.random.default_rng(4).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    exact = Translator(models["torch"], device="cpu")(image).astype(int)
    assert np.abs(translator(image).astype(int) - exact).mean() < 3


def test_a_video_file_stands_in_for_a_camera_and_the_newest_frame_wins(models, tmp_path):
    clip = panning_clip(tmp_path / "cam.mp4", frames=30, fps=60.0)
    source = LiveSource(str(clip), buffer=1)
    seen = []
    for frame in source:  # a consumer slower than the camera
        seen.append(frame.index)
        time.sleep(0.05)
    source.close()
    assert source.dropped > 0 and len(seen) + source.dropped == 30
    assert seen == sorted(seen)


def test_a_video_file_standing_in_for_a_camera_plays_from_its_first_read(tmp_path):
    clip = panning_clip(tmp_path / "cam.mp4", frames=30, fps=60.0)  # half a second
    source = LiveSource(str(clip), buffer=1)
    time.sleep(1.0)  # the model loading: nothing is read yet
    seen = [frame.index for frame in source]  # a consumer faster than the camera
    source.close()
    assert len(seen) >= 20 and len(seen) + source.dropped == 30


def test_webcam_runs_headless_with_a_video_file_as_camera(models, tmp_path):
    clip = panning_clip(tmp_path / "cam.mp4", frames=24, fps=24.0)
    summary = webcam(models["onnx"], str(clip), record=str(tmp_path / "rec.mp4"), show=False, side_by_side=True)
    frames, _ = read_video(tmp_path / "rec.mp4")
    assert summary.frames == len(frames) > 0 and summary.frames + summary.dropped == 24
    assert frames[0].shape == (72, 2 * 96, 3)  # input | output


def test_webcam_recording_keeps_the_sessions_wall_clock_time(tmp_path):
    # A model slower than the camera drops frames; the recording still lasts as long as the session (each frame
    # shown at its capture time), instead of playing the kept frames back to back, fast.
    import av

    config = preset_config("resnet6", ngf=32)
    model = save_model(build_generator(config), tmp_path / "slow.safetensors", new_meta(config, "resnet6", "a", "b"))
    clip = panning_clip(tmp_path / "cam.mp4", frames=72, size=(320, 240), fps=24.0)  # a 3-second session
    summary = webcam(model, str(clip), record=str(tmp_path / "rec.mp4"), show=False, device="cpu")
    assert summary.dropped > 0, "the model kept up with the camera: the test needs a slower one"
    with av.open(str(tmp_path / "rec.mp4")) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert len(times) == summary.frames
    duration = times[-1] - times[0] + 1 / 24  # the last frame is shown for one camera frame
    assert duration == pytest.approx(72 / 24, rel=0.05)


def test_unopenable_sources_give_clear_errors(models, tmp_path):
    with pytest.raises(CganError, match="source not found"):
        open_source(str(tmp_path / "missing.mp4"))
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(CganError, match="cannot open video"):
        open_source(str(tmp_path / "bad.mp4"))
    with pytest.raises(CganError, match="cannot open camera 7"):
        open_source("7")
    with pytest.raises(CganError, match="cannot open stream"):
        open_source("http://127.0.0.1:9/stream.mjpg")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CganError, match="neither an image"):
        open_source(str(tmp_path / "notes.txt"))
    (tmp_path / "only.png").write_text("broken")
    with pytest.raises(CganError, match="only.png: not a readable image"):
        translate(models["torch"], str(tmp_path / "only.png"), str(tmp_path / "o"), progress=False)
    (tmp_path / "two").mkdir()
    for name in ("a.png", "b.png"):
        (tmp_path / "two" / name).write_text("broken")
    with pytest.raises(CganError, match=r"none of the 2 images could be read \(first: .*a.png: not a readable"):
        translate(models["torch"], str(tmp_path / "two"), str(tmp_path / "o"), progress=False)


def test_temporal_smoothing_reduces_flicker(models, tmp_path):
    clip = panning_clip(tmp_path / "clip.mp4", frames=16)
    for temporal in (False, True):
        translate(models["torch"], str(clip), str(tmp_path / f"t{temporal}.mp4"), temporal=temporal, progress=False)
    inputs = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in read_video(clip)[0]]
    plain = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in read_video(tmp_path / "tFalse.mp4")[0]]
    smooth = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in read_video(tmp_path / "tTrue.mp4")[0]]
    assert len(smooth) == len(plain) == 16
    assert warped_flicker(inputs, smooth) < warped_flicker(inputs, plain)
    assert flicker(smooth) < flicker(plain)


def test_cli_translate(models, tmp_path):
    from click.testing import CliRunner

    from cgan.cli import cli

    clip = panning_clip(tmp_path / "clip.mp4", frames=6)
    result = CliRunner().invoke(cli, ["translate", "--model", str(models["onnx"]), "--source", str(clip),
                                      "--out", str(tmp_path / "o.mp4")])
    assert result.exit_code == 0, result.output
    assert "6 frames" in result.output and (tmp_path / "o.mp4").is_file()
    bad = CliRunner().invoke(cli, ["translate", "--model", str(models["onnx"]), "--source", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and bad.output.startswith("error: source not found")


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_gpu_backends_agree_with_cpu(models, backend):
    image = np.random.default_rng(5).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    exact = Translator(models["torch"], device="cpu")(image).astype(int)
    if backend == "torch":
        fast = Translator(models["torch"], device="cuda", precision="half")
        assert fast.backend.precision == "fp16"
    else:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            pytest.skip("onnxruntime-gpu is not installed")
        fast = Translator(models["onnx"], provider="cuda")
    assert np.abs(fast(image).astype(int) - exact).max() <= 3


@pytest.mark.gpu
def test_cuda_graphs_replay_what_eager_computes(models):
    from cgan.runtime.backends import TorchBackend
    from cgan.runtime.options import RuntimeOptions

    eager = TorchBackend(models["torch"], RuntimeOptions(device="cuda", cuda_graphs=False))
    graphs = TorchBackend(models["torch"], RuntimeOptions(device="cuda"))
    graphs.forward.max_shapes = 2
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 32, 32), (2, 3, 48, 64), (1, 3, 32, 32), (1, 3, 64, 32), (2, 3, 48, 64)]:
        x = rng.uniform(-1, 1, shape).astype(np.float32)  # fresh values each call: a stale replay would fail
        np.testing.assert_allclose(graphs.run(x), eager.run(x), atol=1e-3)
    assert len(graphs.forward.graphs) == 2 and "CUDA graphs" in graphs.description


@pytest.mark.gpu
def test_gpu_takes_uint8_frames_and_compiled_graphs_match_eager(models, tmp_path):
    from cgan.runtime.backends import TorchBackend
    from cgan.runtime.options import RuntimeOptions

    eager = TorchBackend(models["torch"], RuntimeOptions(device="cuda", cuda_graphs=False))
    compiled = TorchBackend(models["torch"], RuntimeOptions(device="cuda", compile=True))
    assert eager.uint8_io and "compiled, CUDA graphs" in compiled.description
    rng = np.random.default_rng(1)
    for shape in [(1, 32, 48, 3), (2, 32, 48, 3), (1, 32, 48, 3)]:
        frames = rng.integers(0, 255, shape, dtype=np.uint8)
        assert np.abs(compiled.run_images(frames).astype(int) - eager.run_images(frames).astype(int)).max() <= 1
    clip = panning_clip(tmp_path / "clip.mp4", frames=9)
    summary = translate(models["torch"], str(clip), str(tmp_path / "out.mp4"), device="cuda", compile=True,
                        batch=2, progress=False)
    assert summary.frames == 9 and len(read_video(tmp_path / "out.mp4")[0]) == 9


class FakeCapture:
    """A camera that opens and then hangs (``hang``) or fails every read."""

    def __init__(self, target, hang):
        self.hang = hang

    def isOpened(self):
        return True

    def get(self, prop):
        return 30.0

    def set(self, prop, value):
        return True

    def read(self):
        if self.hang:
            time.sleep(0.3)
        return False, None

    def release(self):
        pass


@pytest.mark.parametrize("hang", [True, False])
def test_a_camera_that_stops_delivering_is_reported_not_waited_for(monkeypatch, hang):
    import cgan.runtime.sources as sources

    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda target: FakeCapture(target, hang))
    source = LiveSource(0, stall_timeout=0.5, reconnects=1)
    started = time.monotonic()
    with pytest.raises(CganError, match="camera 0"):
        list(source)
    source.close()
    assert time.monotonic() - started < 5


class FlakyStream(FakeCapture):
    """A stream whose first two connections fail every read; the third delivers frames."""

    opened = 0

    def __init__(self, target):
        FlakyStream.opened += 1
        self.works = FlakyStream.opened >= 3

    def read(self):
        return (True, np.zeros((8, 8, 3), np.uint8)) if self.works else (False, None)


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_a_headless_webcam_stopped_by_a_signal_keeps_its_recording(models, tmp_path, stop):
    import signal
    import sys

    clip = panning_clip(tmp_path / "clip.mp4", frames=300, fps=30.0)  # 10 s played in real time
    # Ctrl-C as in a terminal: a shell starts background jobs with SIGINT ignored, and the child would inherit that
    # when the tests themselves run in the background
    cgan_with_ctrl_c = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                        "sys.argv[0] = 'cgan'; runpy.run_module('cgan', run_name='__main__')")
    process = subprocess.Popen([sys.executable, "-c", cgan_with_ctrl_c, "webcam", "--model", str(models["torch"]),
                                "--camera", str(clip), "--record", str(tmp_path / "rec.mp4"), "--device", "cpu"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**__import__("os").environ, "DISPLAY": ""})
    deadline = time.time() + 60
    while not list(tmp_path.glob(".rec*.partial.mp4")) and time.time() < deadline:  # recording has begun
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(getattr(signal, stop))
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output  # stopped by a signal, as train and translate report it
    assert "Ctrl-C stops and keeps the recording" in output and "q or Esc" not in output
    assert "stopped by Ctrl-C or SIGTERM" in output and "wrote" in output
    assert 0 < len(read_video(tmp_path / "rec.mp4")[0]) < 300


def test_every_reconnect_gets_its_try_even_past_the_stall_timeout(monkeypatch):
    import cgan.runtime.sources as sources

    FlakyStream.opened = 0
    monkeypatch.setattr(sources.cv2, "VideoCapture", FlakyStream)
    source = LiveSource("rtsp://camera.local/stream", stall_timeout=0.2, reconnects=3)  # backoffs: 0.5 s, then 1 s
    frame = next(iter(source))
    source.close()
    assert frame.image.shape == (8, 8, 3) and FlakyStream.opened >= 3


def damaged_clip(tmp_path, name, damage, frames=60):
    """A clip written with random frames (every frame its own content), then damaged."""
    fourcc = "MJPG" if name.endswith(".avi") else "mp4v"
    path = tmp_path / f"whole{Path(name).suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30, (96, 72))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (72, 96, 3), dtype=np.uint8))
    writer.release()
    raw = bytearray(path.read_bytes())
    if damage == "cut":
        raw = raw[:len(raw) // 2]
    else:
        middle = len(raw) // 2
        raw[middle:middle + 2000] = rng.integers(0, 255, 2000, dtype=np.uint8).tobytes()
    (tmp_path / name).write_bytes(bytes(raw))
    return tmp_path / name


@pytest.mark.parametrize("name,damage", [("noisy.mp4", "noise"), ("half.avi", "cut")])
def test_frames_a_damaged_video_loses_are_counted_and_fail_the_command(models, tmp_path, name, damage):
    from click.testing import CliRunner

    from cgan.cli import cli

    clip = damaged_clip(tmp_path, name, damage)
    summary = translate(models["torch"], str(clip), str(tmp_path / "out.mp4"), progress=False)
    assert summary.lost > 0 and summary.frames + summary.lost == 60
    assert len(read_video(tmp_path / "out.mp4")[0]) == summary.frames  # what could be decoded is kept
    result = CliRunner().invoke(cli, ["translate", "--model", str(models["torch"]), "--source", str(clip),
                                      "--out", str(tmp_path / "again.mp4")])
    assert result.exit_code == 2 and f"{summary.lost} of 60 frames" in result.output
    assert "Traceback" not in result.output and "[mpeg4" not in result.output


def test_outputs_that_would_overwrite_or_feed_the_inputs_are_refused(models, tmp_path):
    from cgan.runtime.translator import Translator  # noqa: F401 (the models fixture builds the files)

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.zeros((16, 16, 3), np.uint8))
    for out, message in [(photos, "is inside --source"), (photos / "translated", "is inside --source")]:
        with pytest.raises(CganError, match=message):
            translate(models["torch"], str(photos), str(out), overwrite=True, progress=False)
    with pytest.raises(CganError, match="is the source image itself"):
        translate(models["torch"], str(photos / "a.png"), str(photos / "a.png"), overwrite=True, progress=False)
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(CganError, match="is a file: give a folder"):
        translate(models["torch"], str(photos), str(tmp_path / "plain"), progress=False)
    clip = panning_clip(tmp_path / "clip.mp4", frames=3)
    with pytest.raises(CganError, match="is a file, not a folder"):
        translate(models["torch"], str(clip), str(tmp_path / "plain" / "out.mp4"), progress=False)
    assert (photos / "a.png").is_file() and sorted(p.name for p in photos.iterdir()) == ["a.png"]


def test_a_video_file_over_http_is_a_file_not_a_stream(models, tmp_path):
    import functools
    import http.server
    import threading

    from cgan.runtime.video import VideoSource

    panning_clip(tmp_path / "clip.mp4", frames=15)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/clip.mp4"
    try:
        source = open_source(url)
        assert isinstance(source, VideoSource)
        source.close()
        summary = translate(models["torch"], url, str(tmp_path / "out.mp4"), progress=False)
        assert summary.frames == 15 and summary.dropped == 0 and summary.lost == 0
        live = open_source(url, live=True)
        assert isinstance(live, LiveSource)
        live.close()
    finally:
        server.shutdown()


def voiced_clip(path, frames=12, fps=12):
    """A clip with an AAC sine tone beside its video, written by PyAV (no system ffmpeg needed)."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 96, 72, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        for i in range(frames):
            picture = av.VideoFrame.from_ndarray(np.full((72, 96, 3), 20 * i, np.uint8), format="rgb24")
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        samples = np.sin(np.arange(44100 * frames // fps) * 2 * np.pi * 440 / 44100).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="flt", layout="mono")
            chunk.sample_rate = 44100
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))
    return path


def streams_of(path):
    import av

    with av.open(str(path)) as container:
        return sorted(s.type for s in container.streams), container.streams.video[0].codec_context.name


def test_audio_of_the_source_is_copied_and_video_is_h264(models, tmp_path):
    summary = translate(models["torch"], str(voiced_clip(tmp_path / "voiced.mp4")), str(tmp_path / "out.mp4"),
                        progress=False)
    assert summary.frames == 12 and streams_of(tmp_path / "out.mp4") == (["audio", "video"], "h264")
    assert len(read_video(tmp_path / "out.mp4")[0]) == 12
    silent = panning_clip(tmp_path / "silent.mp4", frames=4)
    out = tmp_path / "silent_out.mp4"
    from click.testing import CliRunner

    from cgan.cli import cli

    result = CliRunner().invoke(cli, ["translate", "--model", str(models["torch"]), "--source", str(silent), "--out",
                                      str(out)])
    assert result.exit_code == 0 and "audio not copied" not in result.output  # nothing to copy, nothing to say
    assert streams_of(out) == (["video"], "h264")


@pytest.mark.parametrize("name,codec,expected", [("o.webm", None, "vp9"), ("o.avi", None, "mjpeg"),
                                                 ("o.mp4", "hevc", "hevc"), ("o.mkv", "vp9", "vp9")])
def test_codecs_and_containers(models, tmp_path, name, codec, expected):
    clip = panning_clip(tmp_path / "clip.mp4", frames=5, fps=25.0)
    translate(models["torch"], str(clip), str(tmp_path / name), codec=codec, progress=False)
    assert streams_of(tmp_path / name) == (["video"], expected)
    frames, fps = read_video(tmp_path / name)
    assert len(frames) == 5 and frames[0].shape == (72, 96, 3) and fps == pytest.approx(25.0, rel=0.01)


def test_a_codec_the_container_cannot_hold_is_refused_and_odd_sizes_are_padded(models, tmp_path):
    clip = panning_clip(tmp_path / "clip.mp4", frames=3)
    with pytest.raises(CganError, match="vp9 does not go into .avi files: use --codec mjpeg or h264"):
        translate(models["torch"], str(clip), str(tmp_path / "o.avi"), codec="vp9", progress=False)
    from cgan.runtime.frames import Frame
    from cgan.runtime.video import VideoSink

    sink = VideoSink(tmp_path / "odd.mp4", 10.0, overwrite=False)
    for i in range(3):
        sink.write(Frame(np.zeros((33, 47, 3), np.uint8), i), np.zeros((33, 47, 3), np.uint8))
    sink.close()
    assert any("padded to 48x34" in note for note in sink.notes) and len(read_video(tmp_path / "odd.mp4")[0]) == 3


def test_video_frames_keep_their_colours_through_the_encoder(tmp_path):
    """The sink converts RGB to 4:2:0 itself: flat colours come back within the encoder's rounding, and a crop
    view of a larger frame (what postprocessing hands over) is encoded like a copy of it."""
    from cgan.runtime.frames import Frame
    from cgan.runtime.video import VideoSink, VideoSource

    colours = [(200, 40, 90), (20, 180, 240), (128, 128, 128), (250, 250, 10)]
    sink = VideoSink(tmp_path / "flat.mp4", 10.0, overwrite=False)
    for i, colour in enumerate(colours):
        padded = np.zeros((64, 100, 3), np.uint8)
        padded[:48, :80] = colour
        sink.write(Frame(padded[:48, :80], i), padded[:48, :80])
    sink.close()
    source = VideoSource(tmp_path / "flat.mp4")
    decoded = [frame.image for frame in source]
    source.close()
    assert len(decoded) == len(colours)
    for colour, image in zip(colours, decoded):
        assert image.shape == (48, 80, 3)
        assert np.abs(image[8:-8, 8:-8].astype(int) - colour).max() <= 3, (colour, image[24, 40])


def test_runtime_options_are_checked_when_made():
    from cgan.runtime.options import FrameOptions, RuntimeOptions, runtime_options

    assert runtime_options(batch=4).batch == 4 and runtime_options().batch == 1
    assert runtime_options(RuntimeOptions(device="cpu"), batch=2) == RuntimeOptions(device="cpu", batch=2)
    for bad, message in [({"batch": 0}, "--batch"), ({"imgsz": 0}, "--imgsz"), ({"device": "tpu"}, "unknown --device"),
                         ({"precision": "fp8"}, "unknown precision"), ({"direction": "AtoC"}, "unknown direction"),
                         ({"provider": "rocm"}, "unknown provider")]:
        with pytest.raises(CganError, match=message):
            RuntimeOptions(**bad)
    with pytest.raises(CganError, match="--max-frames"):
        FrameOptions(max_frames=0)


def test_batch_reaches_the_pipeline_through_the_translator_alone(models, tmp_path):
    from cgan.runtime.options import FrameOptions
    from cgan.runtime.pipeline import run_pipeline
    from cgan.runtime.sinks import ImageFolderSink

    translator = Translator(models["torch"], batch=3, device="cpu")
    calls = []
    infer = translator.infer
    translator.infer = lambda inputs: calls.append(len(inputs)) or infer(inputs)
    images = [np.full((16, 16, 3), i * 20, np.uint8) for i in range(7)]
    for i, image in enumerate(images):
        cv2.imwrite(str(tmp_path / f"{i}.png"), image)
    summary = run_pipeline(open_source(str(tmp_path)), translator, [ImageFolderSink(tmp_path / "out", False)],
                           FrameOptions(progress=False))
    assert summary.frames == 7 and calls == [3, 3, 1]


def test_the_first_frames_one_time_work_is_reported_apart_from_the_steady_rate(models, tmp_path):
    from cgan.runtime.options import FrameOptions
    from cgan.runtime.pipeline import run_pipeline
    from cgan.runtime.video import VideoSink

    translator = Translator(models["torch"], device="cpu")
    infer, calls = translator.infer, []

    def slow_first_call(inputs):  # as compiling or capturing a CUDA graph makes the first frame wait
        if not calls:
            time.sleep(0.5)
        calls.append(len(inputs))
        return infer(inputs)

    translator.infer = slow_first_call
    clip = panning_clip(tmp_path / "clip.mp4", frames=6)
    summary = run_pipeline(open_source(str(clip)), translator, [VideoSink(tmp_path / "o.mp4", 12.0, False)],
                           FrameOptions(progress=False))
    assert summary.frames == 6 and 0.5 <= summary.first_frame_seconds < summary.seconds
    assert summary.steady_fps == pytest.approx(5 / (summary.seconds - summary.first_frame_seconds))
    assert summary.steady_fps > summary.fps and "after the first frame, which took" in summary.text()


def test_sources_sinks_and_backends_satisfy_their_protocols(models, tmp_path):
    from cgan.runtime.backends import Backend, OnnxBackend, TorchBackend
    from cgan.runtime.options import RuntimeOptions
    from cgan.runtime.frames import Sink, Source
    from cgan.runtime.sinks import ImageFolderSink
    from cgan.runtime.video import VideoSink

    clip = panning_clip(tmp_path / "clip.mp4", frames=3)
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    sources = [open_source(str(clip)), open_source(str(tmp_path / "a.png")), LiveSource(str(clip))]
    try:
        assert all(isinstance(source, Source) for source in sources)
    finally:
        for source in sources:
            source.close()
    sinks = [ImageFolderSink(tmp_path / "o", False), VideoSink(tmp_path / "o.mp4", 12.0, False)]
    assert all(isinstance(sink, Sink) for sink in sinks) and [s.output for s in sinks] == [tmp_path / "o",
                                                                                         tmp_path / "o.mp4"]
    options = RuntimeOptions(device="cpu")
    backends = [TorchBackend(models["torch"], options), OnnxBackend(models["onnx"], options)]
    assert all(isinstance(backend, Backend) and backend.precision == "fp32" for backend in backends)


def test_openvino_runs_exported_and_model_files_and_agrees_with_pytorch(models):
    pytest.importorskip("openvino")
    from cgan.runtime.backends import choose_backend
    from cgan.runtime.openvino_backend import cache_dir
    from cgan.runtime.options import RuntimeOptions
    image = np.random.default_rng(3).integers(0, 255, (40, 52, 3), dtype=np.uint8)
    exact = Translator(models["torch"], device="cpu")(image).astype(int)
    assert choose_backend(models["onnx"], RuntimeOptions(device="cpu")) == "openvino"  # auto, on a CPU
    assert choose_backend(models["onnx"], RuntimeOptions(provider="cpu", backend="onnxruntime")) == "onnxruntime"
    filter_onnx = models["onnx"].with_name("filter-auto.onnx")
    from cgan.export import export_onnx
    from cgan.modelfile import new_meta, save_model
    from cgan.nets import build_generator, preset_config

    config = preset_config("filter")
    filter_file = save_model(build_generator(config), models["onnx"].with_name("filter-auto.safetensors"),
                             new_meta(config, "filter", "a", "b"))
    export_onnx(filter_file, filter_onnx, verify=False, overwrite=True)
    from cgan.devices import cpu_has_fast_bf16

    # the filter runs faster in ONNX Runtime than in OpenVINO on CPUs without bf16 (RESULTS.md)
    expected = "openvino" if cpu_has_fast_bf16() else "onnxruntime"
    assert choose_backend(filter_onnx, RuntimeOptions(device="cpu")) == expected
    import cgan

    for model in (models["onnx"], models["torch"]):  # a model file: exported on the fly by cgan.Translator
        translator = cgan.Translator(model, backend="openvino", device="cpu")
        assert translator.backend.name == "openvino" and translator.backend.precision == "fp32"
        assert np.abs(translator(image).astype(int) - exact).max() <= 1
    assert list(cache_dir().iterdir())  # compiled once, kept for the next start (a folder of the test session)
    # The runtime alone does not import the exporter: its Translator names the way to run a model file there.
    with pytest.raises(CganError, match="OpenVINO runs exported graphs: export tom2jerry.safetensors first"):
        Translator(models["torch"], backend="openvino", device="cpu")


def test_openvino_throughput_mode_keeps_the_order_of_a_batch(models):
    pytest.importorskip("openvino")
    images = [np.random.default_rng(i).integers(0, 255, (24, 32, 3), dtype=np.uint8) for i in range(5)]
    one_by_one = [Translator(models["onnx"], backend="openvino", device="cpu")(im) for im in images]
    batched = Translator(models["onnx"], backend="openvino", device="cpu", performance="throughput",
                         batch=5).translate(images)
    assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(one_by_one, batched))


def test_openvino_converts_uint8_frames_in_its_graph_as_numpy_does(models):
    pytest.importorskip("openvino")
    from cgan.runtime.translator import to_model_input
    translator = Translator(models["onnx"], backend="openvino", device="cpu")
    assert translator.uint8_io
    frames = np.random.default_rng(4).integers(0, 255, (2, 32, 48, 3), dtype=np.uint8)
    in_graph = translator.backend.run_images(frames)
    floats = translator.backend.run(to_model_input(list(frames)))
    by_numpy = ((np.clip(floats, -1, 1) + 1) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1)
    assert in_graph.dtype == np.uint8 and in_graph.shape == frames.shape
    assert np.abs(in_graph.astype(int) - by_numpy).max() <= 1


def test_torch_uint8_frames_match_the_float_path(models):
    from cgan.runtime.backends import TorchBackend
    from cgan.runtime.options import RuntimeOptions
    from cgan.runtime.translator import to_model_input
    backend = TorchBackend(models["torch"], RuntimeOptions(device="cpu"))
    assert not backend.uint8_io  # on a CPU the reader and writer threads convert; on CUDA the GPU does
    frames = np.random.default_rng(5).integers(0, 255, (2, 32, 48, 3), dtype=np.uint8)
    floats = backend.run(to_model_input(list(frames)))
    by_numpy = ((np.clip(floats, -1, 1) + 1) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1)
    assert np.array_equal(backend.run_images(frames), by_numpy)


def test_openvino_on_a_cpu_runs_files_and_cameras_one_request_at_a_time(models, tmp_path):
    # Parallel requests were slower for files on both CPU kinds measured (auto_performance); they stay a choice.
    pytest.importorskip("openvino")
    clip = panning_clip(tmp_path / "clip.mp4", frames=6)
    summary = translate(models["onnx"], str(clip), str(tmp_path / "out.mp4"), device="cpu", progress=False)
    assert "latency" in summary.backend and summary.frames == 6
    chosen = translate(models["onnx"], str(clip), str(tmp_path / "tp.mp4"), device="cpu", progress=False,
                       performance="throughput")
    assert "throughput" in chosen.backend and chosen.frames == 6
    assert len(read_video(tmp_path / "out.mp4")[0]) == 6
    live = webcam(models["onnx"], str(clip), record=str(tmp_path / "rec.mp4"), show=False, device="cpu")
    assert "latency" in live.backend


def test_compiled_path_agrees_with_eager_and_compiles_once_per_shape(models, caplog):
    caplog.set_level("INFO", logger="cgan")  # the runtime says so through logging; the command line shows it
    image = np.random.default_rng(6).integers(0, 255, (32, 40, 3), dtype=np.uint8)
    eager = Translator(models["torch"], device="cpu")
    compiled = Translator(models["torch"], device="cpu", compile=True)
    assert "compiled" in compiled.description
    for _ in range(2):
        assert np.abs(compiled(image).astype(int) - eager(image).astype(int)).max() <= 1
    assert caplog.text.count("compiling for 1x3x32x40") == 1 and caplog.text.count("compiled for 1x3x32x40") == 1


def test_a_backend_that_cannot_run_the_file_is_refused(models):
    from cgan.runtime.backends import choose_backend
    from cgan.runtime.options import RuntimeOptions

    with pytest.raises(CganError, match="--backend torch cannot run a .onnx file: choose one of onnxruntime, openvino"):
        choose_backend(models["onnx"], RuntimeOptions(backend="torch"))
    with pytest.raises(CganError, match="--backend tensorrt cannot run a model file.*cgan export"):
        choose_backend(models["torch"], RuntimeOptions(backend="tensorrt"))
    with pytest.raises(CganError, match="OpenVINO device"):
        Translator(models["torch"], device="openvino:GPU")
    if pytest.importorskip("openvino"):
        with pytest.raises(CganError, match="OpenVINO has no NPU device here"):
            Translator(models["onnx"], backend="openvino", device="openvino:NPU")


def test_videos_are_written_to_web_standards(models, tmp_path):
    """Colour tags that say how the frames were converted, the index first (browsers play while downloading),
    HEVC tagged hvc1 for Apple's players, and no encoder chatter."""
    import av

    clip = panning_clip(tmp_path / "clip.mp4", frames=6)
    done = subprocess.run([sys.executable, "-m", "cgan", "translate", "--model", str(models["onnx"]), "--source",
                           str(clip), "--out", str(tmp_path / "hevc.mp4"), "--codec", "hevc"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and "x265" not in done.stderr + done.stdout, done.stderr
    translate(models["onnx"], str(clip), str(tmp_path / "h264.mp4"), progress=False)
    for name, tag in (("h264.mp4", "avc1"), ("hevc.mp4", "hvc1")):
        data = (tmp_path / name).read_bytes()
        assert data.find(b"moov") < data.find(b"mdat"), name
        with av.open(str(tmp_path / name)) as container:
            stream = container.streams.video[0]
            context = stream.codec_context
            assert stream.codec_tag == tag
            assert (context.color_primaries, context.color_trc, context.colorspace, context.color_range) == (1, 1, 6, 1)


def test_audio_a_container_cannot_hold_is_converted_not_dropped(models, tmp_path):
    import av

    summary = translate(models["onnx"], str(voiced_clip(tmp_path / "voiced.mp4")), str(tmp_path / "out.webm"),
                        progress=False)
    assert summary.frames == 12 and streams_of(tmp_path / "out.webm") == (["audio", "video"], "vp9")
    with av.open(str(tmp_path / "out.webm")) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert abs(samples - 48000) < 48000 * 0.1  # the clip's one second of sound, resampled to 48 kHz


def test_a_phone_photo_is_turned_upright_and_keeps_its_exif_and_colour_profile(tmp_path):
    from PIL import Image, ImageCms

    from hostile_onnx import identity

    stored = np.zeros((40, 60, 3), np.uint8)  # stored sideways, as a phone held upright stores it
    stored[:, :30] = (200, 40, 40)
    photo = Image.fromarray(stored)
    exif = photo.getexif()
    exif[0x0112], exif[0x010F] = 6, "PhoneMaker"  # orientation: turn 90 degrees clockwise to view; the make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo.save(tmp_path / "phone.jpg", exif=exif.tobytes(), icc_profile=icc, quality=95)
    translate(identity(tmp_path / "same.onnx"), str(tmp_path / "phone.jpg"), str(tmp_path / "out"), progress=False,
              backend="onnxruntime")
    with Image.open(tmp_path / "out" / "phone.jpg") as out:
        assert out.size == (40, 60)  # upright: the model saw what a viewer sees
        assert np.array(out)[:5, :, 0].mean() > 150 > np.array(out)[-5:, :, 0].mean()  # the red half on top
        assert out.info.get("icc_profile") == icc
        assert out.getexif()[0x010F] == "PhoneMaker" and out.getexif().get(0x0112, 1) == 1


def test_a_direction_the_file_does_not_hold_is_refused(models, tmp_path):
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((16, 16, 3), np.uint8))
    for model in (models["onnx"], models["torch"]):
        with pytest.raises(CganError, match="holds the AtoB generator .* not BtoA"):
            Translator(model, direction="BtoA")
        assert Translator(model, direction="AtoB").meta.direction == "AtoB"
    translate(models["onnx"], str(tmp_path / "in.png"), str(tmp_path / "out.png"), progress=False)  # its own


def test_an_interrupt_while_openvino_initialises_is_an_interrupt_not_a_missing_package(monkeypatch):
    # A signal that lands inside OpenVINO's C extension start-up surfaces from the import as an ImportError
    # caused by the KeyboardInterrupt; it must stop the command as Ctrl-C does, not say "not installed".
    import builtins

    from cgan.runtime.openvino_backend import import_openvino

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "openvino":
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as signal_:
                raise ImportError("initialization failed") from signal_
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "openvino", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_openvino()

    def missing(name, *args, **kwargs):
        if name == "openvino":
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(CganError, match="OpenVINO is not installed"):
        import_openvino()


def test_the_public_translator_takes_paths_pil_images_arrays_and_lists_and_its_results_save(models, tmp_path):
    import cgan
    from PIL import Image

    translator = cgan.Translator(models["onnx"], backend="onnxruntime")
    rgb = np.random.default_rng(7).integers(0, 255, (30, 44, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "in.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    from_array = translator(rgb)
    assert from_array.shape == rgb.shape and from_array.dtype == np.uint8
    from_path, from_pil, again = translator([tmp_path / "in.png", Image.fromarray(rgb), str(tmp_path / "in.png")])
    assert np.array_equal(from_path, from_array) and np.array_equal(from_pil, from_array)
    saved = from_path.save(tmp_path / "out.png")
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(saved)), cv2.COLOR_BGR2RGB), from_array)
    with pytest.raises(CganError, match="already exists"):
        again.save(saved)
    again.save(saved, overwrite=True)
    for wrong, says in ((rgb.astype(np.float32) / 255, "must be HxWx3 uint8 RGB, not float32"),
                        (rgb[..., 0], "of shape (30, 44)"), (42, "cannot translate a int: give an image file's path"),
                        (tmp_path / "missing.png", "is not a file"), (tmp_path / "out", "is not a file")):
        with pytest.raises(CganError, match=re.escape(says)):
            translator(wrong)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(CganError, match="could not be read as an image"):
        translator([rgb, tmp_path / "junk.png"])


def test_webcam_sizes_are_height_by_width_and_a_portrait_size_is_pointed_out(models, caplog):
    # --size was width x height in webcam alone; now it is height x width everywhere, and a size that reads as
    # portrait (the old way of writing a landscape VGA, 640x480) says how a landscape size is written.
    caplog.set_level("WARNING", logger="cgan")
    with pytest.raises(CganError, match="cannot open camera 97"):
        webcam(models["onnx"], "97", size=(640, 480), show=False)
    assert "--size is height x width, so 640x480 asks for a portrait capture; 480x640 is 640 wide" in caplog.text
    caplog.clear()
    with pytest.raises(CganError, match="cannot open camera 97"):
        webcam(models["onnx"], "97", size=(480, 640), show=False)
    assert "portrait" not in caplog.text


def test_a_camera_is_asked_for_width_and_height_from_a_height_by_width_size(monkeypatch):
    import cgan.runtime.sources as sources

    asked = {}

    class Capture:  # a camera that records what it is asked for
        def __init__(self, target):
            pass

        def isOpened(self):
            return True

        def get(self, prop):
            return {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480}.get(prop, 30.0)

        def set(self, prop, value):
            asked[prop] = value

        def release(self):
            pass

    monkeypatch.setattr(sources.cv2, "VideoCapture", Capture)
    LiveSource(0, size=(480, 640)).close()
    assert asked == {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480}


def test_a_file_of_a_format_cgan_does_not_run_is_named_with_the_ones_it_does(models, tmp_path):
    (tmp_path / "model.pb").write_bytes(b"\x08\x01" + bytes(60))  # (a TensorFlow graph)
    known = r"\(.onnx, .xml, .ncnn.param, .tflite, .mlpackage, .engine, .plan\)"
    with pytest.raises(CganError, match=r"model.pb is not a file cgan runs: .*" + known):
        Translator(tmp_path / "model.pb", device="cpu")
    # An .xml is OpenVINO's IR: one made by another converter is named as such, with how to make cgan's.
    (tmp_path / "model.xml").write_text("<?xml version='1.0'?><net name='from another converter'><layers>"
                                        "<layer id='0' name='x' type='Parameter'/><layer id='1' name='y' "
                                        "type='Result'/></layers></net>")
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(CganError, match=r"OpenVINO IR without cgan's metadata .*--format openvino"):
        Translator(tmp_path / "model.xml", device="cpu")
