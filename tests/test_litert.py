"""``cgan export --format tflite`` and the LiteRT runtime: the round trip (export, info, translate, compared with
PyTorch) for a student, the filter and a resnet where litert-torch is installed; everywhere else the runtime on the
committed fixture (tests/fixtures/make_litert_fixture.py writes it), frames of other sizes fitted into the file's
one size, and the one line each refused file gets."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from format_round_trip import one_line_error, psnr_8bit, run, save_generators, translation_psnr_against_pytorch

from cgan.sampledata import build_unpaired_dataset

pytest.importorskip("ai_edge_litert")
from cgan.tflite_file import (IDENTIFIER, METADATA_NAME, REDUCED_PRECISION_NAME, read_tflite, schema,  # noqa: E402
                               with_metadata)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODEL, TFLITE = FIXTURES / "filter.safetensors", FIXTURES / "filter.96x128.tflite"
INT8, FP16 = FIXTURES / "filter.int8.96x128.tflite", FIXTURES / "filter.fp16.96x128.tflite"
CONVERTER = importlib.util.find_spec("litert_torch") is not None


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Photos to translate (96x96: the 96x128 fixture takes each as it is, padded)."""
    root = tmp_path_factory.mktemp("litert")
    build_unpaired_dataset(root / "data", n_train=4, n_test=2, size=96)
    return root


def test_the_fixture_translates_like_pytorch_and_describes_itself(folder):
    info = run("info", "--model", TFLITE)
    assert info.exit_code == 0, info.output
    assert "LiteRT (TFLite), exported fp32" in info.output and "input 1x3x96x128 (fixed" in info.output
    assert "tom -> jerry" in info.output and "file check      passed" in info.output
    assert translation_psnr_against_pytorch(TFLITE, MODEL, folder, "LiteRT") >= 40


def test_the_int8_fixture_runs_its_convolutions_in_int8_within_30_db_of_pytorch(folder):
    info = run("info", "--model", INT8)
    assert info.exit_code == 0, info.output
    assert "LiteRT (TFLite), exported int8" in info.output and "file check      passed" in info.output
    assert {"QUANTIZE", "DEQUANTIZE", "CONV_2D"} <= read_tflite(INT8).ops
    assert translation_psnr_against_pytorch(INT8, MODEL, folder, "LiteRT") >= 30


def test_the_fp16_fixture_holds_half_precision_weights_and_allows_fp16_arithmetic(folder):
    """The filter's fp16 file: its convolutions' weights stored as FLOAT16 (dequantised as it loads), within 35 dB
    of PyTorch; its export found XNNPACK's fp16 arithmetic within 35 dB too, so the file allows it."""
    s = schema()
    model = s.Model.GetRootAs(FP16.read_bytes(), 0)
    graph = model.Subgraphs(0)
    half = [i for i in range(graph.TensorsLength()) if graph.Tensors(i).Type() == s.TensorType.FLOAT16]
    assert half and "DEQUANTIZE" in read_tflite(FP16).ops and FP16.stat().st_size < TFLITE.stat().st_size
    checked = read_tflite(FP16)
    arithmetic = checked.record["export"]["fp16_arithmetic"]
    assert checked.fp16_arithmetic and arithmetic["allowed"] and arithmetic["psnr_db"] >= 35
    info = run("info", "--model", FP16)
    assert info.exit_code == 0 and "LiteRT (TFLite), exported fp16" in info.output, info.output
    assert "fp16 on CPUs with FP16 arithmetic (ARM phones and boards) (XNNPACK's emulation at export" in info.output
    assert translation_psnr_against_pytorch(FP16, MODEL, folder, "fp16 weights, fp16 arithmetic where") >= 35


def test_the_fp16_arithmetic_entry_is_written_read_and_removed_with_cgans_metadata(tmp_path):
    """LiteRT's reduced-precision entry ("fp16accfp16": what XNNPACK reads before computing in fp16) is written
    only where asked, once, beside cgan's record, and dropped when the file is labelled without it; ``cgan info``
    then says why the file computes in fp32."""
    record = read_tflite(FP16).record
    refused = {**record, "export": {**record["export"], "fp16_arithmetic": {
        "allowed": False, "psnr_db": 7.1, "why": "XNNPACK's emulation of it reached 7.1 dB, below 35"}}}
    again, plain = tmp_path / "again.tflite", tmp_path / "plain.tflite"
    again.write_bytes(with_metadata(FP16.read_bytes(), record, fp16_arithmetic=True))
    plain.write_bytes(with_metadata(again.read_bytes(), refused))
    assert read_tflite(again).fp16_arithmetic and not read_tflite(plain).fp16_arithmetic
    for path, count in ((again, 1), (plain, 0)):
        model = schema().Model.GetRootAs(path.read_bytes(), 0)
        names = [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]
        assert names.count(REDUCED_PRECISION_NAME) == count and names.count(METADATA_NAME) == 1
    assert "fp32 (fp16 weights; fp16 arithmetic not allowed: XNNPACK's emulation of it reached 7.1 dB" in \
        run("info", "--model", plain).output


def test_frames_of_other_shapes_are_fitted_into_the_file_size_and_scaled_back(tmp_path):
    """A wide and a tall frame keep their sizes; the file sees each scaled to fit inside 96x128 with its shape
    kept (PyTorch shown the same scaled frame gives the same picture, scaled back)."""
    rng = np.random.default_rng(0)
    for h, w in ((120, 300), (200, 90)):
        smooth = cv2.resize(rng.integers(0, 256, (h // 10, w // 10, 3), dtype=np.uint8), (w, h),
                            interpolation=cv2.INTER_CUBIC)
        frame = tmp_path / f"f{h}x{w}.png"
        cv2.imwrite(str(frame), smooth)
        ours, reference = tmp_path / f"o{h}x{w}.png", tmp_path / f"t{h}x{w}.png"
        assert run("translate", "--model", TFLITE, "--source", frame, "--out", ours).exit_code == 0
        scale = min(96 / h, 128 / w)
        small = tmp_path / f"s{h}x{w}.png"
        cv2.imwrite(str(small), cv2.resize(smooth, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA))
        done = run("translate", "--model", MODEL, "--backend", "torch", "--source", small, "--out", reference)
        assert done.exit_code == 0, done.output
        got = cv2.imread(str(ours))
        assert got.shape[:2] == (h, w)
        expected = cv2.resize(cv2.imread(str(reference)), (w, h), interpolation=cv2.INTER_CUBIC)
        assert psnr_8bit(got, expected) >= 30  # (the reflected padding differs at the edge the padding meets)


def test_a_video_runs_through_the_file(tmp_path):
    import av

    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(6):
            image = np.full((120, 160, 3), 40 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    done = run("translate", "--model", TFLITE, "--source", clip, "--out", tmp_path / "out.mp4")
    assert done.exit_code == 0 and "LiteRT" in done.output, done.output
    with av.open(str(tmp_path / "out.mp4")) as result:
        frames = [f.to_ndarray(format="rgb24") for f in result.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)


def _rewritten(tmp_path: Path, change, name="altered.tflite") -> Path:
    """The fixture with ``change`` applied to its object form (LiteRT's flatbuffer schema), packed again."""
    import flatbuffers

    s = schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(TFLITE.read_bytes()), 0)
    change(s, model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=IDENTIFIER)
    path = tmp_path / name
    path.write_bytes(bytes(builder.Output()))
    return path


def _set_op(s, model, name):
    model.operatorCodes[0].builtinCode = getattr(s.BuiltinOperator, name)
    model.operatorCodes[0].deprecatedBuiltinCode = min(getattr(s.BuiltinOperator, name), 127)


def _huge_tensor(s, model):
    model.subgraphs[0].tensors[1].shape = np.array([1, 4096, 8192, 8192], np.int32)


def _second_input(s, model):
    model.subgraphs[0].inputs = np.array([*model.subgraphs[0].inputs, 1], np.int32)


def _wrong_metadata(s, model):
    entry = next(m for m in model.metadata if m.name.decode() == METADATA_NAME)
    model.buffers[entry.buffer].data = np.frombuffer(b"{not json", np.uint8)


def _no_metadata(s, model):
    model.metadata = [m for m in model.metadata if m.name.decode() != METADATA_NAME]


def _dangling_operator(s, model):
    model.subgraphs[0].operators[0].inputs = np.array([10_000], np.int32)


@pytest.mark.parametrize("change,words", [
    (lambda s, m: _set_op(s, m, "CUSTOM"), ["CUSTOM", "refusing"]),
    (lambda s, m: _set_op(s, m, "WHILE"), ["WHILE", "refusing"]),
    (_huge_tensor, ["beyond"]),
    (_second_input, ["2 inputs"]),
    (_wrong_metadata, ["not JSON"]),
    (_no_metadata, ["without cgan's metadata"]),
    (_dangling_operator, ["refers to"]),
])
def test_a_hostile_file_gets_one_line_before_litert_reads_it(tmp_path, folder, change, words):
    path = _rewritten(tmp_path, change)
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    one_line_error(run("translate", "--model", path, "--source", photo, "--out", tmp_path / "o.png"), *words)
    one_line_error(run("info", "--model", path), *words)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("damage,words", [
    (lambda b: b[:4] + b"XXXX" + b[8:], ["not a LiteRT model"]),
    (lambda b: b[:len(b) // 3], ["damaged"]),
    (lambda b: b[:4] + b"TFL3" + bytes(200), ["damaged"]),
])
def test_a_damaged_file_gets_one_line(tmp_path, folder, damage, words):
    path = tmp_path / "damaged.tflite"
    path.write_bytes(damage(TFLITE.read_bytes()))
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    one_line_error(run("translate", "--model", path, "--source", photo, "--out", tmp_path / "o.png"), *words)


def test_metadata_is_carried_inside_the_file(tmp_path):
    assert json.loads(run("info", "--model", TFLITE, "--json").output)["domains"] == "tom -> jerry"
    relabelled = tmp_path / "relabelled.tflite"
    relabelled.write_bytes(with_metadata(TFLITE.read_bytes(), {"hello": "world"}))
    assert read_tflite(relabelled).record == {"hello": "world"}  # (replaced, not added beside)
    model = schema().Model.GetRootAs(relabelled.read_bytes(), 0)
    names = [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]
    assert names.count(METADATA_NAME) == 1


def test_a_buffer_kept_after_the_flatbuffer_moves_inside_when_metadata_is_written(tmp_path, folder):
    """LiteRT Quantizer may keep a buffer's bytes after the flatbuffer, at an offset into the file: labelling the
    file must carry them (repacking alone would drop them), and the labelled file must compute what the first did."""
    import flatbuffers

    s = schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(TFLITE.read_bytes()), 0)
    index = max(range(len(model.buffers)), key=lambda i: 0 if model.buffers[i].data is None
                else len(model.buffers[i].data))
    tail = bytes(model.buffers[index].data)
    model.buffers[index].data, model.buffers[index].size = None, len(tail)

    def packed(offset: int) -> bytes:
        model.buffers[index].offset = offset
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=IDENTIFIER)
        return bytes(builder.Output())

    head = packed(2**40)  # (the field present, so that the real offset packs to the same length)
    outside = packed(len(head)) + tail
    labelled = tmp_path / "labelled.tflite"
    labelled.write_bytes(with_metadata(outside, {**read_tflite(TFLITE).record, "note": "relabelled"}))
    assert read_tflite(labelled).record["note"] == "relabelled"
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    for path, out in ((TFLITE, tmp_path / "a.png"), (labelled, tmp_path / "b.png")):
        assert run("translate", "--model", path, "--source", photo, "--out", out).exit_code == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "a.png")), cv2.imread(str(tmp_path / "b.png")))


def test_export_refusals_get_one_line(tmp_path, folder):
    one_line_error(run("export", MODEL, "--format", "tflite", "-o", tmp_path / "m.tflite"), "--size")
    one_line_error(run("export", MODEL, "--format", "tflite", "--size", "96x128", "--precision", "fp16", "--calib",
                       folder / "data" / "trainA"), "--calib", "int8")
    if not (folder / "student-tiny.safetensors").exists():
        save_generators(folder)
    one_line_error(run("export", folder / "student-tiny.safetensors", "--format", "tflite", "--size", "98x128"),
                   "multiple of 4")
    one_line_error(run("export", folder / "resnet6.safetensors", "--format", "tflite", "--size", "96x96",
                       "--precision", "int8", "--calib", folder / "data" / "trainA", "-o", tmp_path / "m.tflite"),
                   "instance normalisation")
    photo = sorted((folder / "data" / "testA").iterdir())[0]
    one_line_error(run("translate", "--model", TFLITE, "--source", photo, "--out", tmp_path / "o.png",
                       "--imgsz", "64"), "--imgsz")
    if not CONVERTER:
        one_line_error(run("export", MODEL, "--format", "tflite", "--size", "96x128", "-o", tmp_path / "m.tflite"),
                       "cgan[tflite]")
    assert not (tmp_path / "m.tflite").exists()


@pytest.mark.skipif(not CONVERTER, reason='litert-torch is not installed (pip install "cgan[tflite]": 2 GB, not in '
                                          'cgan[all])')
@pytest.mark.parametrize("preset", ["student-tiny", "filter", "resnet6"])
def test_an_export_describes_itself_and_translates_like_pytorch(folder, preset):
    if not (folder / f"{preset}.safetensors").exists():
        save_generators(folder)
    model, path = folder / f"{preset}.safetensors", folder / f"{preset}.tflite"
    done = run("export", model, "--format", "tflite", "--size", "96x96", "-o", path, "--overwrite")
    assert done.exit_code == 0 and "verified" in done.output.splitlines()[-1], done.output
    assert json.loads(run("info", "--model", path, "--json").output)["domains"] == "tom -> jerry"
    assert translation_psnr_against_pytorch(path, model, folder, "LiteRT") >= 40


@pytest.mark.skipif(not CONVERTER, reason='litert-torch is not installed (pip install "cgan[tflite]": 2 GB, not in '
                                          'cgan[all])')
@pytest.mark.parametrize("preset", ["student-tiny", "filter"])
def test_an_int8_export_is_verified_on_held_back_photos_and_translates_like_pytorch(folder, preset):
    if not (folder / f"{preset}.safetensors").exists():
        save_generators(folder)
    model, path = folder / f"{preset}.safetensors", folder / f"{preset}.int8.tflite"
    done = run("export", model, "--format", "tflite", "--size", "96x96", "--precision", "int8", "--calib",
               folder / "data" / "trainA", "-o", path, "--overwrite")
    wrote = next(line for line in done.output.splitlines() if line.startswith("wrote "))
    assert done.exit_code == 0 and "int8, verified" in wrote and "held-back calibration images" in wrote, done.output
    assert json.loads(run("info", "--model", path, "--json").output)["format"].startswith(
        "LiteRT (TFLite), exported int8")
    assert translation_psnr_against_pytorch(path, model, folder, "LiteRT") >= 30


@pytest.mark.skipif(not CONVERTER, reason='litert-torch is not installed (pip install "cgan[tflite]": 2 GB, not in '
                                          'cgan[all])')
@pytest.mark.parametrize("preset", ["student-tiny", "filter", "resnet6"])
def test_an_fp16_export_allows_fp16_arithmetic_only_where_its_emulation_holds(folder, preset):
    """fp16 weights verified in LiteRT within 35 dB of PyTorch; fp16 arithmetic (XNNPACK's emulation here) judged
    on its own, and the file's entry and record agree with that judgement. A student and the filter keep it."""
    if not (folder / f"{preset}.safetensors").exists():
        save_generators(folder)
    model, path = folder / f"{preset}.safetensors", folder / f"{preset}.fp16.tflite"
    done = run("export", model, "--format", "tflite", "--size", "96x96", "--precision", "fp16", "-o", path,
               "--overwrite")
    wrote = next(line for line in done.output.splitlines() if line.startswith("wrote "))
    assert done.exit_code == 0 and "fp16, verified" in wrote and "fp16 arithmetic" in wrote, done.output
    checked = read_tflite(path)
    arithmetic = checked.record["export"]["fp16_arithmetic"]
    assert checked.fp16_arithmetic == arithmetic["allowed"] == (arithmetic["psnr_db"] >= 35)
    assert ("so CPUs with FP16 arithmetic" in wrote) == arithmetic["allowed"]
    if preset in ("student-tiny", "filter"):
        assert arithmetic["allowed"]
    assert translation_psnr_against_pytorch(path, model, folder, "LiteRT") >= 35
