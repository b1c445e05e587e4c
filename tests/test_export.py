import json

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner

import cgan.export.onnx as onnx_export
from cgan.cli import cli
from cgan.errors import CganError
from cgan.export import export_onnx
from cgan.export.tensorrt import Profile
from cgan.modelfile import load_model, new_meta, read_exported_meta, save_model
from cgan.nets import PRESETS, build_generator, preset_config

SMALL = {"resnet9": 4, "resnet6": 4, "unet256": 2, "unet128": 2, "mobile": 4, "student": 4, "student-tiny": 4,
         "filter": 1}


def _model_file(tmp_path, preset, ngf):
    config = preset_config(preset, ngf=ngf)
    torch.manual_seed(0)
    net = build_generator(config)
    with torch.no_grad():  # weights of a trained model's scale (3x the init), so that errors would show
        for p in net.parameters():
            p.mul_(3)
    return save_model(net, tmp_path / f"{preset}.safetensors", new_meta(config, preset, "tom", "jerry"))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_exports_with_dynamic_shapes_and_matches_pytorch(tmp_path, preset):
    m = preset_config(preset).size_multiple
    model = _model_file(tmp_path, preset, SMALL[preset])
    shapes = [(1, 3, m, m), (2, 3, m, 2 * m), (3, 3, 2 * m, m)] if m > 4 else [(1, 3, 64, 64), (2, 3, 48, 80), (3, 3, 100, 36)]
    path, report = export_onnx(model, tmp_path / "m.onnx", verify_shapes=shapes)
    assert [c.shape for c in report.checks] == shapes
    assert all(c.max_abs_error < 1e-3 for c in report.checks)
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    assert not list(tmp_path.glob("*.data"))  # one self-contained file


def test_metadata_round_trip(tmp_path):
    model = _model_file(tmp_path, "resnet6", 4)
    path, _ = export_onnx(model, tmp_path / "m.onnx", verify_shapes=[(1, 3, 32, 32)])
    meta, record = read_exported_meta(path)
    original = load_model(model).meta
    assert meta.to_dict() == original.to_dict()
    assert record["export"]["precision"] == "fp32" and record["export"]["batch"] == "dynamic"


def test_fp16_stays_within_its_bound_and_keeps_instance_norm_in_fp32(tmp_path):
    model = _model_file(tmp_path, "resnet6", 8)
    path, report = export_onnx(model, tmp_path / "m16.onnx", precision="fp16",
                               verify_shapes=[(1, 3, 64, 64), (2, 3, 48, 96), (1, 3, 128, 68)])
    assert all(c.max_abs_error < onnx_export.TOLERANCE["fp16"] for c in report.checks)
    graph = onnx.load(str(path))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.graph.initializer)
    io = graph.graph.input[0].type.tensor_type.elem_type, graph.graph.output[0].type.tensor_type.elem_type
    assert io == (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT)  # callers keep feeding fp32
    producers = {out: node for node in graph.graph.node for out in node.output}
    for node in graph.graph.node:
        if node.op_type == "InstanceNormalization":  # fed by a Cast to fp32, not by an fp16 op
            source = producers.get(node.input[0])
            assert source is not None and source.op_type == "Cast"
            assert next(a.i for a in source.attribute if a.name == "to") == onnx.TensorProto.FLOAT


def test_fixed_batch_and_size(tmp_path):
    model = _model_file(tmp_path, "mobile", 4)
    path, report = export_onnx(model, tmp_path / "m.onnx", batch=2, size=(64, 96))
    dims = [d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 3, 64, 96] and [c.shape for c in report.checks] == [(2, 3, 64, 96)]
    with pytest.raises(CganError, match="multiple of 4"):
        export_onnx(model, tmp_path / "n.onnx", size=(62, 96))


def test_default_verification_shapes_follow_the_issue_and_the_size_multiple():
    assert onnx_export.check_shapes(None, None, 4) == [(1, 3, 256, 256), (2, 3, 320, 480), (1, 3, 720, 1280)]
    assert onnx_export.check_shapes(None, None, 256) == [(1, 3, 256, 256), (2, 3, 512, 512), (1, 3, 768, 1280)]
    assert onnx_export.check_shapes(4, None, 4)[0] == (4, 3, 256, 256)


def test_failing_verification_writes_nothing_and_exits_2(tmp_path, monkeypatch):
    model = _model_file(tmp_path, "resnet6", 4)
    real = onnx_export.prepare_graph

    def sabotaged(graph, *args, **kwargs):  # a deliberately mismatched graph: one weight changed
        graph = real(graph, *args, **kwargs)
        weight = next(t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 4)
        values = onnx.numpy_helper.to_array(weight) + 0.5
        weight.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float32), weight.name))
        return graph

    monkeypatch.setattr(onnx_export, "prepare_graph", sabotaged)
    with pytest.raises(CganError, match="verification failed"):
        export_onnx(model, tmp_path / "bad.onnx", verify_shapes=[(1, 3, 32, 32)])
    assert not (tmp_path / "bad.onnx").exists() and not list(tmp_path.glob(".*tmp"))
    result = CliRunner().invoke(cli, ["export", str(model), "-o", str(tmp_path / "bad.onnx"), "--size", "32x32",
                                      "--batch", "1"])
    assert result.exit_code == 2 and "error: verification failed" in result.output
    assert not (tmp_path / "bad.onnx").exists()


def test_cli_export_and_info(tmp_path):
    model = _model_file(tmp_path, "resnet6", 4)
    out = tmp_path / "tom2jerry.onnx"
    result = CliRunner().invoke(cli, ["export", str(model), "-o", str(out), "--batch", "2", "--size", "64x64"])
    assert result.exit_code == 0, result.output
    assert "max |error|" in result.output and out.is_file()
    stages = [line for line in result.output.splitlines() if line.startswith("[")]  # each stage as it starts
    assert [line.split("] ")[1].split(" (")[0] for line in stages] == [
        "tracing the network", "simplifying", "checking the graph", "verifying in ONNX Runtime against PyTorch"]
    assert stages[0].startswith("[1/4] ") and stages[-1].startswith("[4/4] ") and "s so far)" in stages[-1]
    info = CliRunner().invoke(cli, ["info", str(out)])
    assert info.exit_code == 0 and "tom -> jerry" in info.output and "opset 18" in info.output
    assert "input 2x3x64x64" in info.output
    again = CliRunner().invoke(cli, ["export", str(model), "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_trt_without_tensorrt_is_one_line_and_writes_nothing(tmp_path):
    pytest.importorskip("onnx")
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    model = _model_file(tmp_path, "resnet6", 4)
    result = CliRunner().invoke(cli, ["export", str(model), "--trt", "-o", str(tmp_path / "m.engine")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()] and "cgan[gpu]" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resnet6.safetensors"]


def test_engine_info_reads_the_sidecar_and_warns_when_it_cannot_run_here(tmp_path):
    model = _model_file(tmp_path, "resnet6", 4)
    record = {**load_model(model).meta.to_dict(), "tensorrt": {
        "version": "11.4.0", "precision": "fp16", "gpu": {"name": "NVIDIA H100", "compute_capability": "9.0"},
        "profile": {"min": [1, 3, 64, 64], "opt": [1, 3, 512, 512], "max": [4, 3, 1088, 1920]}}}
    (tmp_path / "m.engine").write_bytes(b"plan")
    (tmp_path / "m.json").write_text(json.dumps(record))
    result = CliRunner().invoke(cli, ["info", str(tmp_path / "m.engine")])  # output holds stdout and stderr
    assert result.exit_code == 0
    assert "11.4.0" in result.output and "NVIDIA H100" in result.output and "4x3x1088x1920" in result.output
    if not torch.cuda.is_available():
        assert "warning:" in result.output
    (tmp_path / "m.json").unlink()
    missing = CliRunner().invoke(cli, ["info", str(tmp_path / "m.engine")])
    assert missing.exit_code == 2 and "sidecar" in missing.output


def test_profile_parsing():
    p = Profile.parse(None, None, None, 4)
    assert (p.min, p.opt, p.max) == ((1, 3, 64, 64), (1, 3, 512, 512), (4, 3, 1088, 1920))
    unet = Profile.parse(None, None, None, 256)
    assert unet.min == (1, 3, 256, 256) and unet.max == (4, 3, 1280, 2048)
    assert all(s in [p.min, p.opt] or s[0] == 2 for s in p.check_shapes())
    with pytest.raises(CganError, match="<="):
        Profile.parse("2x3x64x64", "1x3x64x64", None, 4)
    with pytest.raises(CganError, match="multiples of 4"):
        Profile.parse("1x3x62x64", None, None, 4)


@pytest.mark.gpu
def test_tensorrt_engine_builds_and_matches_pytorch(tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed")
    from cgan.export import EngineOptions, ExportOptions, build_engine

    model = _model_file(tmp_path, "resnet6", 8)
    engine = EngineOptions(min_shape="1x3x64x64", opt_shape="1x3x256x256", max_shape="2x3x512x512", workspace_gb=1)
    for fp16 in (False, True):
        out = tmp_path / f"m{'16' if fp16 else ''}.engine"
        path, report = build_engine(model, out, ExportOptions(precision="fp16" if fp16 else "fp32"), engine)
        assert path.is_file() and path.with_suffix(".json").is_file() and path.with_suffix(".onnx").is_file()
        assert len(report.checks) >= 3 and all(c.max_abs_error < report.tolerance for c in report.checks)
        meta, record = read_exported_meta(path)
        assert meta.target_domain == "jerry" and record["tensorrt"]["precision"] == ("fp16" if fp16 else "fp32")


@pytest.mark.parametrize("options", [{"identity_start": True}, {"upsample": "resize"}, {"colour_map": True},
                                     {"identity_start": True, "upsample": "resize", "colour_map": True},
                                     {"identity_start": True, "colour_map": True, "edge_map": True}])
def test_fast_start_variants_export_and_round_trip(tmp_path, options):
    config = preset_config("resnet6", ngf=4, **options)
    torch.manual_seed(0)
    net = build_generator(config)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # move away from the identity start, so the test can fail
    model = save_model(net, tmp_path / "m.safetensors", new_meta(config, "resnet6"))
    assert load_model(model).meta.config == config  # the variant is rebuilt from the file alone
    path, report = export_onnx(model, tmp_path / "m.onnx", verify_shapes=[(1, 3, 32, 32), (2, 3, 48, 80)])
    assert all(c.max_abs_error < 1e-3 for c in report.checks)
    assert read_exported_meta(path)[0].config == config


def test_the_filter_exports_at_any_size_and_the_runtime_translates_with_it(tmp_path):
    from cgan.runtime.translator import Translator

    config = preset_config("filter")
    torch.manual_seed(0)
    net = build_generator(config)
    with torch.no_grad():
        net.colour_map[-1].weight.normal_(std=0.1)  # a filter that changes the image, so the test can fail
    model = save_model(net, tmp_path / "f.safetensors", new_meta(config, "filter"))
    path, report = export_onnx(model, tmp_path / "f.onnx", verify_shapes=[(1, 3, 17, 23), (2, 3, 64, 40)])
    assert all(c.max_abs_error < 1e-3 for c in report.checks)
    image = np.random.default_rng(0).integers(0, 255, (31, 45, 3), dtype=np.uint8)
    onnx_out = Translator(path, backend="onnxruntime").translate([image])[0]
    torch_out = Translator(model, backend="torch").translate([image])[0]
    assert onnx_out.shape == image.shape and np.abs(onnx_out.astype(int) - torch_out).max() <= 1
    assert np.abs(onnx_out.astype(int) - image).max() > 5


def test_export_options_are_checked_when_made_and_precision_is_one_vocabulary():
    from cgan.export import ExportOptions

    assert ExportOptions(verify_shapes=[[1, 3, 32, 32]]).verify_shapes == ((1, 3, 32, 32),)
    for bad, message in [({"precision": "bf16"}, "ONNX export does not run in bf16"), ({"opset": 17}, "--opset 17"),
                         ({"batch": 0}, "--batch"), ({"direction": "x"}, "unknown direction")]:
        with pytest.raises(CganError, match=message):
            ExportOptions(**bad)


def test_cli_fp16_and_precision_are_one_idea(tmp_path):
    model = _model_file(tmp_path, "resnet6", 4)
    both = CliRunner().invoke(cli, ["export", str(model), "--fp16", "--precision", "fp32"])
    assert both.exit_code == 2 and "error: --fp16 contradicts --precision fp32" in both.output
    result = CliRunner().invoke(cli, ["export", str(model), "--fp16", "--no-verify", "--batch", "1",
                                      "--size", "32x32"])
    assert result.exit_code == 0, result.output
    assert read_exported_meta(tmp_path / "resnet6.fp16.onnx")[1]["export"]["precision"] == "fp16"


def test_an_engine_takes_its_shapes_from_its_profile(tmp_path):
    from cgan.export import build_engine

    with pytest.raises(CganError, match="--min/--opt/--max"):
        build_engine(_model_file(tmp_path, "resnet6", 4), tmp_path / "m.engine", size=(64, 64))


def test_saturated_verification_inputs_hold_the_extremes_photos_have():
    from cgan.export.verify import compare_with_pytorch

    seen = []
    net = build_generator(preset_config("filter"))
    compare_with_pytorch(lambda x: seen.append(x) or net(x).detach().numpy(), net, [(1, 3, 16, 16)], saturated=True)
    extremes = (seen[0].abs() == 1).float().mean().item()
    assert 0.4 < extremes < 0.6 and seen[0].abs().max() == 1  # about half at -1 or 1, none beyond
    compare_with_pytorch(lambda x: seen.append(x) or net(x).detach().numpy(), net, [(1, 3, 16, 16)])
    assert (seen[1].abs() == 1).float().mean().item() < 0.01  # uniform values almost never reach them
