import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cgan.bench.inference import benchmark, format_table, parse_sizes, time_runs
from cgan.bench.machine import PeakMemory, describe_machine
from cgan.cli import cli
from cgan.errors import CganError
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config


@pytest.fixture
def tiny(tmp_path):
    config = preset_config("resnet6", ngf=4)
    return save_model(build_generator(config), tmp_path / "tiny.safetensors", new_meta(config, "resnet6"))


def test_sizes_are_named_or_explicit_and_rounded_to_the_multiple():
    assert parse_sizes("256,720p,30x50,64", 4) == [("256", 256, 256), ("720p", 720, 1280), ("30x50", 32, 52),
                                                   ("64", 64, 64)]
    assert parse_sizes("1080p", 256)[0][1:] == (1280, 2048)
    with pytest.raises(CganError, match="720p"):
        parse_sizes("huge", 4)


def test_time_runs_repeats_at_least_the_minimum():
    calls = []
    times = time_runs(lambda: calls.append(1), min_repeats=4, min_seconds=0.0)
    assert len(times) >= 4 and len(calls) == len(times) + 2  # plus two warm-up calls


def test_peak_memory_sees_a_large_allocation():
    if not Path("/proc/self/statm").is_file():
        pytest.skip("peak memory is read from /proc (Linux)")
    with PeakMemory() as memory:
        block = np.ones(100 * 2**20 // 8)  # 100 MB, touched
        block.sum()
        time.sleep(0.05)
    assert memory.peak_mb is not None and 50 < memory.peak_mb < 1000


def test_peak_memory_is_none_without_proc(monkeypatch):
    import cgan.bench.machine as machine

    monkeypatch.setattr(machine, "resident_mb", lambda: None)
    with PeakMemory() as memory:
        pass
    assert memory.peak_mb is None


def test_machine_description():
    machine = describe_machine()
    assert machine["cores"] >= 1 and "torch" in machine["versions"] and machine["cpu"]


def test_benchmark_rows_against_torch_fp32(tiny):
    result = benchmark(str(tiny), backends=["torch", "onnxruntime", "openvino", "tensorrt"], sizes="32", batches=[1, 2],
                       pipeline=False, max_seconds=0.2, device="cpu")
    rows = result.to_dict()["rows"]
    assert {r["backend"] for r in rows} >= {"torch eager", "onnxruntime cpu"}
    assert all(r["speedup"] > 0 and r["images_per_s"] > 0 for r in rows)
    first = [r for r in rows if r["backend"] == "torch eager"]
    assert all(r["speedup"] == 1.0 and r["psnr_vs_fp32"] is None for r in first)
    onnx = [r for r in rows if r["backend"] == "onnxruntime cpu"]
    assert all(r["psnr_vs_fp32"] > 60 for r in onnx)  # the same arithmetic, up to float rounding
    openvino = [r for r in rows if r["backend"] == "openvino cpu"]
    if "openvino" in result.skipped:  # not installed: said so, and no row pretends otherwise
        assert not openvino and "not installed" in result.skipped["openvino"]
    else:
        assert {r["precision"] for r in openvino} >= {"fp32"}
        assert all(r["psnr_vs_fp32"] > (60 if r["precision"] == "fp32" else 35) for r in openvino)
    assert "tensorrt" in result.skipped
    assert "| torch eager | fp32 |" in format_table(rows)


@pytest.mark.gpu
def test_benchmark_on_cuda_against_cuda_fp32_eager(tiny):
    result = benchmark(str(tiny), backends=["torch"], sizes="32,48x64", batches=[1, 2], pipeline=True, max_seconds=0.2,
                       device="cuda")
    rows = result.to_dict()["rows"]
    assert {(r["backend"], r["precision"]) for r in rows} == {
        ("torch cuda eager", "fp32"), ("torch cuda graphs", "fp32"), ("torch cuda eager", "fp16"),
        ("torch cuda graphs", "fp16"), ("torch cuda graphs, uint8 frames", "fp16")}
    assert all(r["speedup"] == 1.0 for r in rows if r["backend"] == "torch cuda eager" and r["precision"] == "fp32")
    assert all(r["psnr_vs_fp32"] > 60 for r in rows if r["backend"] == "torch cuda graphs" and r["precision"] == "fp32")
    assert all(r["psnr_vs_fp32"] > 35 for r in rows if r["precision"] == "fp16")
    assert all(r["peak_mb"] > 0 for r in rows) and "cuda fp16" in result.ceilings_gflops
    assert "CUDA graphs" in result.pipeline.backend and result.pipeline.pipeline_fps > 0
    assert result.pipeline.ratio == pytest.approx(result.pipeline.steady_fps / result.pipeline.raw_model_fps)


def test_uint8_frames_time_the_runtimes_path_and_compare_in_the_models_range(tiny):
    from cgan.bench.candidates import Uint8Frames
    from cgan.bench.inference import as_model_output
    from cgan.runtime.backends import TorchBackend
    from cgan.runtime.options import RuntimeOptions

    backend = TorchBackend(tiny, RuntimeOptions(device="cpu"))
    x = np.random.default_rng(0).random((2, 3, 16, 24), dtype=np.float32) * 2 - 1
    frames = Uint8Frames(backend)
    out = frames.run(x)
    converted = frames.frames[1]
    assert out.dtype == np.uint8 and out.shape == (2, 16, 24, 3) and frames.run(x) is not None
    assert frames.frames[1] is converted  # the same batch is converted once
    error = np.abs(as_model_output(out) - backend.run(x))
    assert error.mean() < 0.02 and as_model_output(x) is x


def test_cli_benchmark_writes_json(tiny, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(cli, ["benchmark", "--model", str(tiny), "--backends", "torch", "--sizes", "32",
                                      "--batch", "1", "--no-pipeline", "--max-seconds", "0.2", "--device", "cpu",
                                      "--no-also-half", "--json", str(out)])  # (its old name, --no-half: test_hostile)
    assert result.exit_code == 0, result.output
    assert "ceilings:" in result.output and "| torch eager |" in result.output
    assert json.loads(out.read_text())["rows"]
    bad = CliRunner().invoke(cli, ["benchmark", "--model", str(tiny), "--backends", "tpu"])
    assert bad.exit_code == 2 and "unknown backends tpu" in bad.output


def test_an_exported_file_is_measured_on_the_backends_that_run_it(tiny, tmp_path):
    from cgan.export import export_onnx

    onnx_path, _ = export_onnx(tiny, tmp_path / "tiny.onnx", verify=False)
    result = benchmark(str(onnx_path), sizes="32", batches=[1], max_seconds=0.2, pipeline=False, device="cpu")
    names = [r["backend"] for r in result.to_dict()["rows"]]
    assert names[0] == "onnxruntime cpu" and result.baseline == "onnxruntime cpu as exported"
    assert "torch" in result.skipped and result.to_dict()["rows"][0]["speedup"] == pytest.approx(1.0)
    assert all(r["psnr_vs_fp32"] is None or r["psnr_vs_fp32"] > 40 for r in result.to_dict()["rows"])
