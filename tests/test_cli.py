import concurrent.futures
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cgan import __version__
from cgan.cli import cli
from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config
from reference_cyclegan import ResnetGenerator


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_every_command_has_help_with_an_example():
    for name in cli.commands:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Example" in result.output, name


def test_python_dash_m_cgan_works():
    out = subprocess.run([sys.executable, "-m", "cgan", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_info_prints_the_model_description(tiny_model_file):
    result = run("info", tiny_model_file)
    assert result.exit_code == 0, result.output
    assert "tom -> jerry" in result.output and "resnet6" in result.output and "macs at 256x256" in result.output


def test_info_json(tiny_model_file):
    result = run("info", tiny_model_file, "--json")
    data = json.loads(result.output)
    assert data["size_multiple"] == 4 and data["generator_config"]["ngf"] == 8 and data["parameters"] > 0


def test_info_of_a_truncated_file_is_one_error_line(tmp_path, tiny_model_file):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(tiny_model_file.read_bytes()[:1000])
    assert_one_line_error(run("info", bad), "truncated or corrupt")


def test_info_of_a_missing_file(tmp_path):
    assert_one_line_error(run("info", tmp_path / "x.safetensors"), "not found")


def test_debug_shows_the_traceback_anywhere_on_the_line(tmp_path):
    for args in (["--debug", "info", tmp_path / "x"], ["info", tmp_path / "x", "--debug"]):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert result.exit_code == 2 and "Traceback" in result.output


def test_bad_flag_is_one_error_line_with_the_help_hint():
    assert_one_line_error(run("info", "--frobnicate"), "--frobnicate", "--help")


def test_convert_end_to_end(tmp_path):
    reference = ResnetGenerator(ngf=8, n_blocks=6).eval()
    ckpt = tmp_path / "latest_net_G_A.pth"
    torch.save(reference.state_dict(), ckpt)
    out = tmp_path / "h2z.safetensors"
    result = run("convert", ckpt, "--preset", "resnet6", "--ngf", 8, "--name-a", "horse", "--name-b", "zebra", "-o", out)
    assert result.exit_code == 0, result.output
    assert "horse -> zebra" in run("info", out).output
    assert_one_line_error(run("convert", ckpt, "--preset", "resnet6", "--ngf", 8, "-o", out), "--overwrite")
    assert run("convert", ckpt, "--preset", "resnet6", "--ngf", 8, "-o", out, "--overwrite").exit_code == 0


def test_convert_errors_are_one_line(tmp_path):
    assert_one_line_error(run("convert", tmp_path / "nope.pth", "--preset", "resnet9", "-o", tmp_path / "o.safetensors"),
                          "not found")
    assert_one_line_error(run("convert", tmp_path / "nope.pth", "--preset", "vgg", "-o", tmp_path / "o.safetensors"),
                          "resnet9")
    assert_one_line_error(run("convert", tmp_path / "nope.pth", "--preset", "resnet9", "-o", tmp_path / "o.bin"),
                          ".safetensors")


@pytest.mark.slow
def test_demo_writes_a_model_and_describes_it(tmp_path):
    result = run("demo", "--out", tmp_path / "demo", "--train-steps", "30")
    assert result.exit_code == 0, result.output
    assert "photo -> graded" in result.output and "iterations=" in result.output
    assert "for 30 steps" in result.output and "dB PSNR against the known answer" in result.output
    assert list((tmp_path / "demo" / "run" / "samples").glob("*.png"))
    assert (tmp_path / "demo" / "photo2graded.onnx").is_file() and (tmp_path / "demo" / "clip_graded.mp4").is_file()
    page = (tmp_path / "demo" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 2 and "Best validation" in page and "fps end to end" in page
    assert "dB PSNR against the known answer" in page
    assert_one_line_error(run("demo", "--out", tmp_path / "demo"), "--overwrite")

    run_dir = tmp_path / "demo" / "run"
    result = run("report", run_dir)
    assert result.exit_code == 0 and (run_dir / "report.html").is_file(), result.output
    assert "G_AtoB.safetensors" in (run_dir / "report.html").read_text()
    assert_one_line_error(run("report", run_dir), "--overwrite")
    assert_one_line_error(run("report", tmp_path), "not a run directory")


def test_the_demo_says_plainly_whether_its_model_beats_doing_nothing(tmp_path):
    from cgan.apps.demo import _say_gain
    from cgan.train import TrainResult

    better = _say_gain(TrainResult(tmp_path, 900, 15, "reached --max-iters 900", {"iteration": 840, "psnr_gain": 4.88}))
    assert better.startswith("The filter is better than doing nothing: +4.88 dB") and "step 840 of 900" in better
    worse = _say_gain(TrainResult(tmp_path, 129, 2, "reached --max-time 60s", {"iteration": 120, "psnr_gain": -0.35}))
    assert worse.startswith("The filter is not yet better than doing nothing (-0.35 dB")
    assert f"cgan train --resume {tmp_path} --max-iters 900" in worse
    assert_one_line_error(run("demo", "--out", tmp_path / "d", "--train-steps", "5", "--train-time", "5s"),
                          "give one")


def test_the_report_escapes_everything_it_reads_and_refuses_alias_bombs(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "samples").mkdir(parents=True)
    (run_dir / "config.yaml").write_text('name_a: "<script>alert(1)</script>"\nsize: 32\n')
    (run_dir / "metrics.jsonl").write_text(json.dumps({"type": "val", "iteration": 1, "epoch": 0,
                                                       "cycle_l1": "<script>alert(2)</script>"}) + "\n")
    result = run("report", run_dir)
    assert result.exit_code == 0, result.output
    page = (run_dir / "report.html").read_text()
    assert "<script" not in page and page.count("&lt;script&gt;alert(") >= 2
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nname_a: [*b, *b, *b]\n"
    (run_dir / "config.yaml").write_text(bomb)
    assert_one_line_error(run("report", run_dir, "--overwrite"), "aliases (*name) are not allowed")


def test_bare_cgan_shows_the_help_and_succeeds():
    result = run()
    assert result.exit_code == 0 and "Commands:" in result.output and not result.output.startswith("error")


def test_convert_names_why_a_pickle_is_refused(tmp_path):
    import os

    class Payload:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    torch.save({"model": Payload()}, tmp_path / "evil.pth")
    assert_one_line_error(run("convert", tmp_path / "evil.pth", "--preset", "resnet6", "-o", tmp_path / "m.safetensors"),
                          "holds Python objects besides tensors, which cgan never unpickles")
    (tmp_path / "junk.pth").write_bytes(bytes(range(256)) * 4)
    assert_one_line_error(run("convert", tmp_path / "junk.pth", "--preset", "resnet6", "-o", tmp_path / "m.safetensors"),
                          "not a checkpoint written by torch.save")
    assert not (tmp_path / "m.safetensors").exists()


NO_TORCH = "import sys; sys.modules['torch'] = None\n"  # as if PyTorch were not installed: importing it fails


def _without_torch(code: str, *args, cwd=None):
    return subprocess.run([sys.executable, "-c", NO_TORCH + code, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_help_imports_no_pytorch():
    done = _without_torch("import sys\nfrom cgan.cli import cli\nfrom click.testing import CliRunner\n"
                          "for name in [None, *cli.commands]:\n"
                          "    result = CliRunner().invoke(cli, [name, '--help'] if name else ['--help'])\n"
                          "    assert result.exit_code == 0, (name, result.output)\n"
                          "import torch")
    assert "import of torch halted" in done.stderr and "AssertionError" not in done.stderr, done.stderr


def test_messages_go_to_stderr_results_to_stdout_and_quiet_keeps_only_results(tmp_path):
    config = preset_config("resnet6", ngf=4)
    model = save_model(build_generator(config), tmp_path / "m.safetensors", new_meta(config, "resnet6", "a", "b"))
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((20, 28, 3), np.uint8))

    def cgan(*args):
        return subprocess.run([sys.executable, "-m", "cgan", *map(str, args)], capture_output=True, text=True)

    translate = ["translate", "--model", model, "--source", tmp_path / "in.png", "--backend", "torch"]
    data = tmp_path / "data"
    (data / "trainA").mkdir(parents=True)
    (data / "trainB").mkdir()
    for i in range(4):
        cv2.imwrite(str(data / "trainA" / f"{i}.png"), np.full((40, 40, 3), 60 * i, np.uint8))
        cv2.imwrite(str(data / "trainB" / f"{i}.png"), np.full((40, 40, 3), 255 - 60 * i, np.uint8))
    train = ["train", "--data", data, "--preset", "resnet6", "--ngf", 4, "--size", 32, "--max-iters", 2]
    commands = {"plain": [*translate, "--out", tmp_path / "a.png"], "quiet": ["--quiet", *translate, "--out",
                                                                              tmp_path / "b.png"],
                "info": ["info", model, "--quiet"], "train quiet": [*train, "--out", tmp_path / "run", "--quiet"],
                "train verbose": [*train, "--out", tmp_path / "run2", "--verbose"]}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # independent processes: two at a time
        done = dict(zip(commands, pool.map(lambda args: cgan(*args), commands.values())))
    plain = done["plain"]
    assert plain.returncode == 0 and plain.stdout == "" and "wrote" in plain.stderr and "a -> b" in plain.stderr
    quiet = done["quiet"]
    assert quiet.returncode == 0 and (tmp_path / "b.png").is_file() and quiet.stdout == quiet.stderr == ""
    again = cgan(*translate, "--out", tmp_path / "b.png", "--quiet")  # anywhere on the line; errors still show
    assert again.returncode == 2 and again.stderr.startswith("error: ") and "--overwrite" in again.stderr
    assert done["info"].returncode == 0 and "a -> b" in done["info"].stdout  # a result is not a message
    trained = done["train quiet"]
    assert trained.returncode == 0 and trained.stdout == trained.stderr == "", trained.stderr
    verbose = done["train verbose"]
    assert verbose.returncode == 0 and verbose.stdout == "" and "stopped: reached --max-iters 2" in verbose.stderr


def test_translate_export_and_train_print_a_json_summary_on_stdout(tmp_path):
    data = tmp_path / "data"
    for folder, value in (("trainA", 40), ("trainB", 200)):
        (data / folder).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(data / folder / f"{i}.png"), np.full((40, 40, 3), value + i, np.uint8))
    trained = run("train", "--data", data, "--preset", "resnet6", "--ngf", 4, "--size", 32, "--max-iters", 2, "--out",
                  tmp_path / "run", "--json")
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["iterations"] == 2 and summary["stop_reason"] == "reached --max-iters 2"
    assert summary["run_dir"] == str(tmp_path / "run")
    exported = run("export", tmp_path / "run", "-o", tmp_path / "m.onnx", "--json")
    assert exported.exit_code == 0, exported.output
    record = json.loads(exported.stdout)
    assert record["path"] == str(tmp_path / "m.onnx") and record["verified"] and record["precision"] == "fp32"
    assert len(record["checks"]) == 3 and record["checks"][0]["max_abs_error"] < 1e-3
    done = run("translate", "--model", tmp_path / "m.onnx", "--source", data / "trainA", "--out", tmp_path / "out",
               "--json")
    assert done.exit_code == 0, done.output
    translated = json.loads(done.stdout)
    assert translated["frames"] == 3 and translated["outputs"] == [str(tmp_path / "out")] and translated["fps"] > 0


def test_info_and_export_take_the_model_by_name_as_well_and_half_means_fp16_in_export(tmp_path):
    config = preset_config("resnet6", ngf=4)
    model = save_model(build_generator(config), tmp_path / "m.safetensors", new_meta(config, "resnet6", "a", "b"))
    by_name = run("info", "--model", model)
    assert by_name.exit_code == 0 and by_name.output == run("info", model).output
    assert_one_line_error(run("info", model, "--model", model), "MODEL is given twice")
    assert_one_line_error(run("export", "-o", tmp_path / "x.onnx"), "missing MODEL: give it as the argument or with "
                                                                     "--model")
    done = run("export", "--model", model, "-o", tmp_path / "h.onnx", "--half", "--no-verify", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["precision"] == "fp16", done.output


def test_the_config_objects_of_the_public_api_need_no_pytorch():
    done = _without_torch("import cgan\nassert cgan.preset_config('student-tiny').arch == 'student'\n"
                          "assert 'filter' in cgan.PRESETS and cgan.GeneratorConfig\nimport torch")
    assert "import of torch halted" in done.stderr and "AssertionError" not in done.stderr, done.stderr


def test_the_core_runs_an_exported_model_without_pytorch(tmp_path):
    from cgan.export import export_onnx

    config = preset_config("resnet6", ngf=4)
    model = save_model(build_generator(config), tmp_path / "m.safetensors", new_meta(config, "resnet6", "a", "b"))
    onnx_path, _ = export_onnx(model, tmp_path / "m.onnx", verify=False)
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((20, 28, 3), np.uint8))
    run = "from cgan.cli import main\nmain()"
    done = _without_torch(run, "translate", "--model", onnx_path, "--source", tmp_path / "in.png", "--out",
                          tmp_path / "out.png", "--backend", "onnxruntime")
    assert done.returncode == 0 and (tmp_path / "out.png").is_file(), done.stderr
    done = _without_torch(run, "info", onnx_path)
    assert done.returncode == 0 and "macs at 256x256" in done.stdout and "graph check" in done.stdout, done.stderr
    done = _without_torch("import cgan; print(cgan.describe_model(__import__('sys').argv[1]).parameters)",
                          onnx_path)
    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr
    from cgan.sampledata import write_panning_clip

    write_panning_clip(tmp_path / "clip.mp4", 64, 48, 6, 12.0)
    webcam = ["webcam", "--model", onnx_path, "--source", tmp_path / "clip.mp4", "--record", tmp_path / "rec.mp4",
              "--max-frames", 3, "--backend", "onnxruntime"]
    done = _without_torch(run, *webcam, "--size", "64x48")  # --size is read without the exporter (PyTorch)
    assert done.returncode == 2 and "--size sets a camera's capture size" in done.stderr, done.stderr
    done = _without_torch(run, *webcam)
    assert done.returncode == 0 and (tmp_path / "rec.mp4").is_file(), done.stderr
    done = _without_torch(run, "benchmark", "--model", onnx_path, "--sizes", "64,48x80", "--batch", "1",
                          "--max-seconds", "0.2", "--backends", "onnxruntime", "--no-pipeline")
    assert done.returncode == 0, done.stderr
    assert "| onnxruntime cpu | as exported | 48x80 (48x80) | 1 |" in done.stdout, done.stdout
    assert "ceilings: cpu fp32" in done.stdout, done.stdout
    run_dir = tmp_path / "run"  # a run folder as training leaves it: cgan report reads it without PyTorch
    (run_dir / "samples").mkdir(parents=True)
    (run_dir / "config.yaml").write_text("preset: resnet6\nname_a: a\nname_b: b\n")
    (run_dir / "metrics.jsonl").write_text('{"type": "train", "iteration": 1, "epoch": 0}\n')
    (run_dir / "G_AtoB.safetensors").write_bytes(model.read_bytes())
    done = _without_torch(run, "report", run_dir)
    assert done.returncode == 0 and (run_dir / "report.html").is_file(), done.stderr
    assert "a -&gt; b" in (run_dir / "report.html").read_text()
    for command in (["train", "--a", tmp_path, "--b", tmp_path], ["translate", "--model", model, "--source",
                                                                  tmp_path / "in.png", "--out", tmp_path / "o2.png"]):
        done = _without_torch(run, *command)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == 'error: this needs PyTorch, which is not installed: pip install "cgan[train]"'


def test_runtime_export_and_benchmark_flags_are_the_option_dataclasses_fields():
    """Each field of an option dataclass is its command's flag, with the dataclass's default: adding a field adds
    the flag, and a default changed in one place cannot drift from the other."""
    import dataclasses

    from cgan.bench.options import BenchmarkOptions
    from cgan.cli_runtime import benchmark, translate, webcam
    from cgan.export.options import EngineOptions, ExportOptions
    from cgan.runtime.options import FrameOptions, RuntimeOptions

    def params(command):
        return {p.name: p for p in command.params}

    library_only = {"verify_shapes", "progress"}  # a list of shapes; the bar follows --quiet
    for command, classes, left_out in ((translate, (RuntimeOptions, FrameOptions), set()),
                                       (webcam, (RuntimeOptions,), {"batch"}),
                                       (cli.commands["export"], (ExportOptions, EngineOptions), set()),
                                       (benchmark, (BenchmarkOptions,), set())):
        flags = params(command)
        for config_class in classes:
            for field in dataclasses.fields(config_class):
                if field.name in library_only | left_out:
                    continue
                assert field.name in flags, (command.name, field.name)
                if field.metadata.get("parse") is None:
                    assert flags[field.name].default == field.default, (command.name, field.name)
    assert "--camera" in params(webcam)["source"].opts and "--half" in params(benchmark)["also_half"].opts
    assert params(cli.commands["export"])["max_shape"].opts == ["--max"]


def test_export_short_precision_flags_agree_with_precision(tiny_model_file, tmp_path):
    result = run("export", tiny_model_file, "--precision", "fp32", "--fp16", "-o", tmp_path / "x.onnx")
    assert_one_line_error(result, "--fp16 contradicts --precision fp32")
    assert_one_line_error(run("translate", "--model", tiny_model_file, "--source", tmp_path, "--batch", "0"),
                          "--batch must be from 1")
    assert_one_line_error(run("benchmark", "--model", tiny_model_file, "--backends", "torch,tflite"),
                          "unknown backends tflite")
