import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from cgan.errors import CganError
from cgan.modelfile import load_model
from cgan.sampledata import build_unpaired_dataset
from cgan.train import Callback, TrainConfig, Trainer, train
from cgan.train.state import load_state

TINY = dict(preset="resnet6", ngf=4, ndf=4, size=32, workers=0, log_every=1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build_unpaired_dataset(tmp_path_factory.mktemp("data"), n_train=6, n_test=3, size=40)


def _records(run, kind):
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["type"] == kind]


def test_a_run_writes_everything_a_user_looks_at(data, tmp_path):
    result = train(data=str(data), out=str(tmp_path / "run"), max_iters=8, val_truth=str(data / "testA_truth"), **TINY)
    run = result.run_dir
    assert result.iterations == 8 and "max-iters" in result.stop_reason
    for name in ("config.yaml", "metrics.jsonl", "loss_curves.png", "G_AtoB.safetensors", "G_BtoA.safetensors",
                 "state.safetensors", "best/G_AtoB.safetensors", "best/metrics.json", "samples/epoch_0001.png",
                 "samples/iter_0000008.png"):
        assert (run / name).is_file(), name
    assert list((run / "tb").iterdir())
    assert len(_records(run, "train")) == 8
    val = _records(run, "val")
    assert [r["iteration"] for r in val] == [6, 8]  # epoch end (6 images) and run end
    assert {"cycle_l1", "identity_l1", "psnr", "ssim", "psnr_gain"} <= set(val[0])
    net = load_model(run)
    assert net.meta.provenance["iterations"] == 8 and net.meta.config.ngf == 4
    assert load_model(run, "BtoA").meta.direction == "BtoA"
    assert yaml.safe_load((run / "config.yaml").read_text())["preset"] == "resnet6"


class _StopAt(Callback):
    def __init__(self, iteration):
        self.iteration = iteration

    def on_step_end(self, trainer, losses):
        if trainer.iteration == self.iteration:
            trainer.stop_reason = "interrupted (test)"


def _learning_rates(run):
    return [r["lr"] for r in _records(run, "train")]


def test_a_run_bounded_by_max_iters_decays_its_learning_rate_to_the_bound(data, tmp_path):
    # epochs 100 + decay 100: the bound of 8 steps ends the run long before the epochs; the rate holds for half of
    # it, then falls towards zero at the bound. Logged is the rate each step ran with, set before it: steps 0-4 at
    # the full rate (i / 8 <= 1/2), then 1 - (i / 8 - 1/2) / (1/2).
    result = train(data=str(data), out=str(tmp_path / "run"), lr=1e-3, epochs=100, epochs_decay=100, max_iters=8,
                   **TINY)
    assert _learning_rates(result.run_dir) == pytest.approx(
        [1e-3] * 5 + [1e-3 * (1 - (i / 8 - 0.5) / 0.5) for i in (5, 6, 7)])


def test_a_run_bounded_by_max_time_decays_its_learning_rate_by_the_time_spent(data, tmp_path):
    trainer = Trainer(TrainConfig(data=str(data), out=str(tmp_path / "run"), lr=1e-3, epochs=30, epochs_decay=10,
                                  max_time="100s", device="cpu", **TINY))
    try:
        # epochs 30 + decay 10: the full rate for three quarters of the 100 s, then down to zero at 100 s
        for elapsed, factor in ((10.0, 1.0), (75.0, 1.0), (87.5, 0.5), (100.0, 0.0), (130.0, 0.0)):
            trainer.elapsed = elapsed
            trainer._set_learning_rate(max_time=100.0)
            rates = [group["lr"] for opt in trainer.optimizers for group in opt.param_groups]
            assert rates == [pytest.approx(1e-3 * factor)] * len(rates), elapsed
    finally:
        trainer._run_lock.release()


def test_no_decay_keeps_a_bounded_run_at_its_rate(data, tmp_path):
    result = train(data=str(data), out=str(tmp_path / "run"), lr=1e-3, epochs=100, epochs_decay=0, max_iters=6,
                   **TINY)
    assert _learning_rates(result.run_dir) == [pytest.approx(1e-3)] * 6


def _losses(run):
    return {r["iteration"]: [r[k] for k in ("G_gan_A", "cycle_A", "D_B")] for r in _records(run, "train")}


@pytest.mark.parametrize("amp, options", [(False, {}), (True, {}),
                                          (False, {"colour_map": True, "identity_start": True, "ema": 0.9,
                                                    "colour_map_lr": 3.0})])
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(data, tmp_path, amp, options):
    # On the CPU, where arithmetic is reproducible: cuDNN's convolution backward is not bit-exact from run to run.
    settings = {**TINY, **options, "amp": amp, "device": "cpu"}
    whole = train(data=str(data), out=str(tmp_path / "whole"), max_iters=10, **settings)
    # Stopped at step 4 as Ctrl-C stops it: the bound stays 10, and with it the learning-rate schedule fitted to it.
    part = train(data=str(data), out=str(tmp_path / "part"), max_iters=10, callbacks=[_StopAt(4)], **settings)
    assert part.iterations == 4
    resumed = train(resume=str(part.run_dir))
    assert resumed.iterations == 10
    a, b = _losses(whole.run_dir), _losses(resumed.run_dir)
    assert sorted(b) == list(range(1, 11))  # no duplicated or lost lines in metrics.jsonl
    for it in range(1, 11):
        assert a[it] == pytest.approx(b[it], rel=1e-5, abs=1e-6), it
    for direction in ("AtoB", "BtoA"):
        wa, wb = load_model(whole.run_dir, direction).state_dict(), load_model(resumed.run_dir, direction).state_dict()
        assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


@pytest.mark.parametrize("options", [
    {"gan_loss": "vanilla"}, {"gan_loss": "hinge"}, {"preprocess": "scale_width_crop"}, {"preprocess": "crop"},
    {"preprocess": "none"}, {"batch": 2}, {"pool": 0, "lambda_identity": 0}, {"no_flip": True},
    {"preset": "mobile"}, {"preset": "unet128", "size": 128, "ngf": 2}, {"n_layers_d": 2}, {"amp": False},
    {"workers": 1}, {"colour_map": True, "identity_start": True},
    {"colour_map": True, "identity_start": True, "edge_map": True, "preset": "mobile"},
    {"preset": "filter", "ngf": None},
])
def test_option_families_train(data, tmp_path, options):
    result = train(data=str(data), out=str(tmp_path / "run"), max_iters=3, **{**TINY, **options})
    assert result.iterations == 3
    assert all(torch.isfinite(torch.tensor(r["D_A"])) for r in _records(result.run_dir, "train"))


def test_two_plain_folders_with_hold_out_and_default_run_name(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tom, jerry = tmp_path / "tom", tmp_path / "jerry"
    os.symlink(data / "trainA", tom)
    os.symlink(data / "trainB", jerry)
    first = train(a=str(tom), b=str(jerry), max_iters=2, val_fraction=0.2, **TINY)
    second = train(a=str(tom), b=str(jerry), max_iters=1, **TINY)
    assert first.run_dir.as_posix() == "runs/tom2jerry" and second.run_dir.as_posix() == "runs/tom2jerry-2"
    assert load_model(first.run_dir).meta.target_domain == "jerry"


def test_early_stopping_and_best(data, tmp_path, monkeypatch):
    import cgan.train.trainer as trainer_module

    calls = []

    def worse_every_time(*args, **kwargs):  # the first validation is the best; later ones only get worse
        metrics, images = trainer_module.__dict__["_real_validate"](*args, **kwargs)
        calls.append(1)
        return {**metrics, "cycle_l1": float(len(calls))}, images

    monkeypatch.setitem(trainer_module.__dict__, "_real_validate", trainer_module.validate)
    monkeypatch.setattr(trainer_module, "validate", worse_every_time)
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), epochs=50, epochs_decay=0, patience=2, **TINY)
    result = Trainer(config).fit()
    assert "early stop" in result.stop_reason
    assert result.epochs == 3 and result.best["epoch"] == 1 and len(calls) == 3
    assert yaml.safe_load((result.run_dir / "best" / "metrics.json").read_text())["epoch"] == 1


def test_callbacks_see_steps_validations_and_epochs(data, tmp_path):
    class Recorder(Callback):
        def __init__(self):
            self.steps, self.logged, self.validations, self.epochs = 0, 0, [], 0

        def on_step_end(self, trainer, losses):
            self.steps += 1
            self.logged += losses is not None

        def on_validation(self, trainer, metrics):
            self.validations.append(metrics["cycle_l1"])

        def on_epoch_end(self, trainer):
            self.epochs += 1
            if trainer.epoch == 2:
                trainer.stop_reason = "enough"

    recorder = Recorder()
    result = Trainer(TrainConfig(data=str(data), out=str(tmp_path / "r"), **{**TINY, "log_every": 4}), [recorder]).fit()
    assert result.stop_reason == "enough" and recorder.epochs == 2 and recorder.steps == 12
    assert recorder.logged == 3 and len(recorder.validations) == 2  # iterations 4, 8 and 12


def test_schedule_is_constant_then_linear_decay_and_the_colour_map_keeps_its_multiple(data, tmp_path):
    rates = []

    class Rates(Callback):
        def on_epoch_end(self, trainer):
            rates.append([group["lr"] for group in trainer.opt_g.param_groups])

    trainer = Trainer(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=2, epochs_decay=3, lr=1e-3,
                                  colour_map=True, colour_map_lr=3.0, **TINY), [Rates()])
    colour_map = {id(p) for g in (trainer.g_ab, trainer.g_ba) for p in g.colour_map.parameters()}
    assert {id(p) for p in trainer.opt_g.param_groups[1]["params"]} == colour_map
    assert not colour_map & {id(p) for p in trainer.opt_g.param_groups[0]["params"]}
    trainer.fit()
    expected = [1e-3, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3]
    assert [main for main, _ in rates] == pytest.approx(expected)
    assert [colour for _, colour in rates] == pytest.approx([3 * r for r in expected])


@pytest.mark.parametrize("log_every", [1, 100])  # 100: the NaN is first seen at the epoch end's checkpoint
def test_nan_stops_with_a_clear_error_and_keeps_the_last_checkpoint(data, tmp_path, log_every):
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), save_every=3, **{**TINY, "log_every": log_every})
    trainer = Trainer(config)
    real_step = trainer.train_step
    trainer.train_step = lambda a, b: real_step(a, b) * (float("nan") if trainer.iteration >= 4 else 1.0)
    with pytest.raises(CganError, match="NaN.*iteration [56]"):
        trainer.fit()
    assert load_state(tmp_path / "run" / "state.safetensors")["iteration"] == 3
    assert torch.isfinite(next(iter(load_model(tmp_path / "run").parameters()))).all()


def test_existing_out_is_not_overwritten(data, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "precious.txt").write_text("x")
    with pytest.raises(CganError, match="--resume"):
        train(data=str(data), out=str(tmp_path / "run"), max_iters=1, **TINY)


def test_resume_errors(tmp_path):
    with pytest.raises(CganError, match="config.yaml"):
        train(resume=str(tmp_path))


def _cgan(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "cgan", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for_state(run, at_least, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert process.poll() is None, process.stdout.read()
        if (run / "state.safetensors").exists() and load_state(run / "state.safetensors")["iteration"] >= at_least:
            return
        time.sleep(0.2)
    raise AssertionError("no checkpoint in time")


TINY_FLAGS = ["--preset", "resnet6", "--ngf", 4, "--ndf", 4, "--size", 32, "--workers", 0]


def _endless_training(data, tmp_path):
    """A training process that saves every 2 iterations and would run for ever."""
    run = tmp_path / "run"
    process = _cgan("train", "--data", data, "--out", run, "--save-every", 2, "--max-iters", 100000, *TINY_FLAGS,
                    cwd=tmp_path)
    return run, process


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(data, tmp_path):
    run, process = _endless_training(data, tmp_path)
    _wait_for_state(run, 5, process)
    process.kill()
    process.wait()
    saved = load_state(run / "state.safetensors")["iteration"]
    load_model(run)  # the latest model file is complete
    done = _cgan("train", "--resume", run, "--max-iters", saved + 3, cwd=tmp_path)
    output = done.communicate(timeout=120)[0]
    assert done.returncode == 0, output
    assert load_state(run / "state.safetensors")["iteration"] == saved + 3
    assert not list(run.rglob("*.tmp"))  # temporary files a kill mid-write may leave are cleared on resume


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C, and what schedulers and docker send
def test_ctrl_c_and_sigterm_save_and_exit_cleanly(data, tmp_path, stop):
    run, process = _endless_training(data, tmp_path)
    _wait_for_state(run, 2, process)
    process.send_signal(stop)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    state = load_state(run / "state.safetensors")
    assert state["iteration"] > 2 and load_model(run).meta.provenance["iterations"] == state["iteration"]


def test_cli_bad_input_is_one_line(tmp_path):
    from click.testing import CliRunner

    from cgan.cli import cli

    result = CliRunner().invoke(cli, ["train", "--a", str(tmp_path / "missing"), "--b", str(tmp_path)])
    assert result.exit_code == 2 and result.output.startswith("error: image folder not found")
    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path), "--max-time", "soon"])
    assert result.exit_code == 2 and "duration" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["cyclegan", "fastcut"])  # (fastcut runs gan's step with PatchNCE added)
def test_two_gloo_processes_under_torchrun_keep_identical_weights(data, tmp_path, objective):
    worker = os.path.join(os.path.dirname(__file__), "ddp_worker.py")

    def torchrun(max_iters, *args):
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                   worker, str(data), str(tmp_path), max_iters, objective, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    torchrun("4")
    first = [load_state_file(tmp_path / f"rank{r}.safetensors") for r in (0, 1)]
    assert all(torch.equal(first[0][k], first[1][k]) for k in first[0])
    torchrun("6", "resume")
    again = [load_state_file(tmp_path / f"rank{r}.safetensors") for r in (0, 1)]
    assert all(torch.equal(again[0][k], again[1][k]) for k in again[0])
    assert any(not torch.equal(first[0][k], again[0][k]) for k in first[0])  # the resumed run trained on
    run = tmp_path / "run"
    assert load_state(run / "state.safetensors")["iteration"] == 6
    assert [r["iteration"] for r in _records(run, "train")] == [1, 2, 3, 4, 5, 6]  # rank 0 alone logs


def load_state_file(path):
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_compile_trains_and_saves_plain_model_files(data, tmp_path):
    result = train(data=str(data), out=str(tmp_path / "run"), max_iters=2, compile=True, **TINY)
    assert result.iterations == 2
    assert not any("_orig_mod" in k for k in load_model(result.run_dir).state_dict())


@pytest.mark.gpu
def test_cuda_fp16_training_with_gradient_scaling(data, tmp_path):
    result = train(data=str(data), out=str(tmp_path / "run"), max_iters=4, device="cuda", **TINY)
    assert result.iterations == 4
    state = load_state(result.run_dir / "state.safetensors")
    assert state["scaler"]["scale"] > 0  # fp16 autocast ran with a gradient scaler
    resumed = train(resume=str(result.run_dir), max_iters=6)
    assert resumed.iterations == 6


def test_ema_saves_the_weight_average_and_resumes_it(data, tmp_path):
    whole = Trainer(TrainConfig(data=str(data), out=str(tmp_path / "whole"), max_iters=6, ema=0.5, device="cpu",
                                epochs_decay=0, **TINY))  # constant: the part's bound below would fit its own
    first = {k: v.clone() for k, v in whole.g_ab.state_dict().items()}
    whole.fit()
    saved = load_model(whole.run_dir).state_dict()
    trained = whole.g_ab.state_dict()
    # the average lies strictly between the start and the trained weights, and is what the model file holds
    name = next(k for k in saved if k.endswith("weight") and not torch.equal(first[k], trained[k]))
    assert not torch.equal(saved[name], trained[name]) and not torch.equal(saved[name], first[name])
    assert all(torch.equal(saved[k], whole.averages[0].net.state_dict()[k]) for k in saved)

    part = train(data=str(data), out=str(tmp_path / "part"), max_iters=3, ema=0.5, device="cpu", epochs_decay=0,
                 **TINY)
    resumed = train(resume=str(part.run_dir), max_iters=6)
    again = load_model(resumed.run_dir).state_dict()
    assert all(torch.allclose(again[k], saved[k], atol=1e-6) for k in saved)
    from click.testing import CliRunner

    from cgan.cli import cli

    bad = CliRunner().invoke(cli, ["train", "--data", str(data), "--ema", "1"])
    assert bad.exit_code == 2 and "--ema must be in [0, 1)" in bad.output


def test_fast_start_options_reach_the_model_files(data, tmp_path):
    result = train(data=str(data), out=str(tmp_path / "run"), max_iters=2, identity_start=True, upsample="resize",
                   colour_map=True, val_size=40, **TINY)
    config = load_model(result.run_dir).meta.config
    assert config.identity_start and config.upsample == "resize" and config.colour_map


@pytest.mark.parametrize("flags,message", [
    (["--size", "1"], "--size 1 does not fit the resnet9 generator, which takes multiples of 4 from 8 up: use --size 8"),
    (["--size", "30"], "--size 30 does not fit the resnet9 generator, which takes multiples of 4 from 8 up: use --size 32"),
    (["--size", "64", "--preset", "unet256"], "does not fit the unet256 generator, which takes multiples of 256"),
    (["--workers", "-3"], "--workers must not be negative"),
    (["--load-size", "16", "--size", "32"], "--load-size 16 is smaller than --size 32"),
])
def test_options_that_do_not_fit_are_refused_before_anything_is_written(data, tmp_path, flags, message):
    from click.testing import CliRunner

    from cgan.cli import cli

    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "run"), *flags])
    assert result.exit_code == 2 and result.output.startswith("error: ") and message in result.output
    assert not (tmp_path / "run").exists()


def test_training_without_images_is_one_line(tmp_path):
    from click.testing import CliRunner

    from cgan.cli import cli

    result = CliRunner().invoke(cli, ["train", "--max-iters", "1"])
    assert result.exit_code == 2 and "error: give the images: --data DIR" in result.output


def test_config_values_are_type_checked_and_aliases_refused(data, tmp_path):
    from click.testing import CliRunner

    from cgan.cli import cli

    (tmp_path / "typed.yaml").write_text("name_a: [1, 2]\nworkers: many\nlr: 1\n")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--config", str(tmp_path / "typed.yaml")])
    assert result.exit_code == 2
    assert "--workers must be a whole number or empty, not 'many'" in result.output
    assert "--name-a must be text or empty, not [1, 2]" in result.output and "--lr" not in result.output
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")) + "name_a: *i\n"
    (tmp_path / "laughs.yaml").write_text(laughs)
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--config", str(tmp_path / "laughs.yaml")])
    assert result.exit_code == 2 and "aliases (*name) are not allowed" in result.output


def test_a_run_that_never_saved_is_started_again_in_its_folder(data, tmp_path):
    from click.testing import CliRunner

    from cgan.cli import cli

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "tb").mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"data": str(data), "out": str(run), "preset": "resnet6", "ngf": 4,
                                                     "ndf": 4, "size": 32, "workers": 0}))
    (run / "metrics.jsonl").write_text('{"type": "train", "iteration": 1}\n{"type": "tr')
    resumed = CliRunner().invoke(cli, ["train", "--resume", str(run)])
    assert resumed.exit_code == 2 and "start it again with the same --out" in resumed.output
    again = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(run), "--max-iters", "1",
                                     *map(str, TINY_FLAGS)])
    assert again.exit_code == 0, again.output
    assert "starting it again" in again.output and (run / "state.safetensors").is_file()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "other")])
    assert refused.exit_code == 2 and "already holds files" in refused.output


def test_a_half_written_last_metrics_line_does_not_stop_a_resume(data, tmp_path):
    from cgan.train.report import read_metrics

    run = tmp_path / "run"
    done = _cgan("train", "--data", data, "--out", run, "--max-iters", 2, *TINY_FLAGS, cwd=tmp_path)
    assert done.wait(timeout=120) == 0
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"type": "train", "iteration": 3, "loss')
    resumed = _cgan("train", "--resume", run, "--max-iters", 4, cwd=tmp_path)
    output = resumed.communicate(timeout=120)[0]
    assert resumed.returncode == 0, output
    assert [r["iteration"] for r in read_metrics(run / "metrics.jsonl") if r["type"] == "train"][-1] == 4
    (run / "metrics.jsonl").write_text('{"iteration": 1}\nnot json\n{"iteration": 2}\n')
    with pytest.raises(CganError, match="damaged at line 2"):
        read_metrics(run / "metrics.jsonl")


def _iteration(run) -> int:
    try:
        return load_state(run / "state.safetensors")["iteration"]
    except CganError:  # not written yet
        return 0


def _kill_at_a_random_moment(process, run, rng) -> bool:
    """SIGKILL ``process`` while it starts up (a quarter of the time) or a few steps into training, a random
    fraction of a step after a checkpoint (so sometimes while writing one); False if it finished first."""
    deadline = time.time() + 120
    if rng.random() < 0.25:
        wait_until = time.time() + rng.uniform(0.1, 2.0)
        while time.time() < wait_until and process.poll() is None:
            time.sleep(0.02)
    else:
        goal = _iteration(run) + rng.randint(1, 3)
        while _iteration(run) < goal and process.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.15))
    if process.poll() is not None:
        return False
    process.kill()
    return True


def test_killed_at_random_instants_training_resumes_to_the_same_weights(data, tmp_path):
    """SIGKILL at random moments (starting up, mid-step, mid-write), then carry on each time: every restart
    succeeds and the final weights equal an uninterrupted run's. CGAN_KILLS=20 for the long version."""
    import random

    kills = int(os.environ.get("CGAN_KILLS", 3))
    target = 3 * kills + 6  # a kill comes at most 3 checkpoints after the last: the kills happen before the end
    flags = ["--max-iters", target, "--save-every", 1, "--no-amp", "--device", "cpu", *TINY_FLAGS]
    whole = _cgan("train", "--data", data, "--out", tmp_path / "whole", *flags, cwd=tmp_path)
    assert whole.wait(timeout=300) == 0, whole.stdout.read()
    run, rng, killed, finished = tmp_path / "killed", random.Random(0), 0, False
    while not finished:
        resume = (run / "state.safetensors").exists()
        args = ["--resume", run, "--max-iters", target] if resume else ["--data", data, "--out", run, *flags]
        process = _cgan("train", *args, cwd=tmp_path)
        if killed < kills and _kill_at_a_random_moment(process, run, rng):
            killed += 1
        output = process.communicate(timeout=300)[0]
        assert process.returncode in (0, -signal.SIGKILL) and "Traceback" not in output, output
        finished = process.returncode == 0
    assert killed == kills and _iteration(run) == target
    for direction in ("AtoB", "BtoA"):
        reference, resumed = load_model(tmp_path / "whole", direction).state_dict(), load_model(run, direction).state_dict()
        assert all(torch.equal(reference[k], resumed[k]) for k in reference), direction
    assert not list(run.rglob(".*.tmp"))


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(data, tmp_path):
    import resource

    run = tmp_path / "run"
    process = _cgan("train", "--data", data, "--out", run, "--save-every", 1, "--max-iters", 100000, *TINY_FLAGS,
                    cwd=tmp_path)
    _wait_for_state(run, 2, process)
    resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (4096, 4096))  # no file may now grow past 4 KB
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 2 and "Traceback" not in output, output
    assert "error: could not write" in output and "the previous version of it is kept" in output
    saved = load_state(run / "state.safetensors")["iteration"]
    assert saved >= 2 and load_model(run).meta.provenance["iterations"] >= 2
    assert not list(run.rglob(".*.tmp"))
    done = _cgan("train", "--resume", run, "--max-iters", saved + 2, cwd=tmp_path)
    assert done.wait(timeout=120) == 0 and load_state(run / "state.safetensors")["iteration"] == saved + 2


def test_the_trainer_speaks_through_logging_so_callers_can_quiet_it(data, tmp_path, caplog, capsys):
    import logging

    with caplog.at_level(logging.INFO, logger="cgan"):
        train(data=str(data), out=str(tmp_path / "run"), max_iters=2, **TINY)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("cgan.train")]
    assert any(m.startswith("training A") for m in messages) and any(m.startswith("stopped:") for m in messages)
    assert "training A" not in capsys.readouterr().out  # nothing printed around the caller's own output


def test_a_resume_whose_bound_is_spent_says_how_to_continue(data, tmp_path):
    run = train(data=str(data), out=str(tmp_path / "run"), max_iters=2, **TINY).run_dir
    with pytest.raises(CganError, match="has trained 2 iterations, its --max-iters 2 .* e.g. --max-iters 4"):
        train(resume=str(run))
    assert train(resume=str(run), max_iters=3).iterations == 3  # a new bound: it goes on


@pytest.mark.parametrize("user_policy, shown", [(None, "idle threads sleep: other programs keep their share"),
                                                ("ACTIVE", "idle threads spin")])
def test_cli_training_lets_its_threads_sleep_unless_the_user_chose(data, tmp_path, user_policy, shown):
    # Spinning OpenMP threads beside another program on the same cores cost 3x (benchmarks/contention.py); the
    # policy is read when PyTorch loads, so cgan train sets it before, and a value in the environment wins.
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "CGAN_THREADS")}
    if user_policy:
        env["OMP_WAIT_POLICY"] = user_policy
    done = subprocess.run([sys.executable, "-m", "cgan", "train", "--data", data, "--preset", "resnet6", "--ngf", "4",
                           "--size", "32", "--max-iters", "1", "--out", tmp_path / "run"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"threads; {shown})" in done.stderr + done.stdout


def test_one_progress_bar_counts_the_whole_run_with_the_epoch_inside(data, tmp_path, capsys):
    # 6 images, batch 1: 6 steps an epoch; --max-iters 8 crosses into the second epoch on the same bar.
    train(data=str(data), out=str(tmp_path / "run"), max_iters=8, **TINY)
    err = capsys.readouterr().err
    assert "8/8" in err and "epoch 2/" in err and "step/s" in err
    assert "6/6" not in err  # no bar of its own per epoch


def test_the_run_bar_counts_to_whichever_bound_comes_first():
    from cgan.train.progress import RunProgress

    progress = RunProgress(iteration=100, elapsed=10.0, step_bound=10_000, time_bound=60.0, enabled=False)
    assert progress.expected_total(100, 10.0) == 10_000  # no rate measured yet: the step bound
    assert progress.expected_total(200, 20.0) == 200 + 40 * 10  # 10 steps/s this session, 40 s left
    assert progress.expected_total(300, 21.0) == 300 + 39 * 200 // 11 + 1  # faster now
    assert progress.expected_total(5_000, 70.0) == 5_000  # past the time bound: where it stands
    timeless = RunProgress(iteration=0, elapsed=0.0, step_bound=None, time_bound=None, enabled=False)
    assert timeless.expected_total(10, 1.0) is None


def test_cgan_train_trains_whether_or_not_its_subpackage_was_imported(data, tmp_path):
    import cgan
    import cgan.train.trainer  # noqa: F401 (Python then sets cgan.train to the package)

    result = cgan.train(data=str(data), out=str(tmp_path / "run"), max_iters=1, **TINY)
    assert result.iterations == 1 and (tmp_path / "run" / "G_AtoB.safetensors").is_file()
