import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cgan.cli import cli
from cgan.modelfile import load_model
from cgan.sampledata import build_unpaired_dataset
from cgan.train import train
from cgan.train.contrastive import patch_nce_loss

TINY = {"preset": "resnet6", "ngf": 4, "ndf": 4, "size": 32, "workers": 0, "device": "cpu", "amp": False,
        "num_patches": 16}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build_unpaired_dataset(tmp_path_factory.mktemp("data"), n_train=6, n_test=3, size=40)


def test_patch_nce_is_lowest_when_each_patch_finds_itself():
    torch.manual_seed(0)
    features = torch.nn.functional.normalize(torch.randn(2, 32, 16), dim=-1)
    same = patch_nce_loss(features, features, 0.07)
    shuffled = patch_nce_loss(features, features[:, torch.randperm(32)], 0.07)
    noise = patch_nce_loss(features, torch.nn.functional.normalize(torch.randn(2, 32, 16), dim=-1), 0.07)
    assert same < noise < shuffled or same < shuffled  # a wrong match costs more than none
    assert same.item() < 0.1 and shuffled.item() > 5 * same.item()


def test_default_nce_layers_leave_the_input_out_under_a_colour_map():
    from cgan.train.config import TrainConfig

    assert TrainConfig(objective="cut").nce_layer_list == [0, 4, 8, 12, 16]  # the paper's, resnet9
    assert TrainConfig(objective="fastcut", preset="resnet6").nce_layer_list == [0, 4, 8, 12]
    assert TrainConfig(objective="fastcut", preset="resnet6", colour_map=True).nce_layer_list == [4, 8, 12]
    assert TrainConfig(objective="cut", colour_map=True, nce_layers="0,4").nce_layer_list == [0, 4]


def test_random_grey_keeps_grey_images_and_varies_the_grey_of_colours():
    from cgan.train.texture import LUMA, SHIFT, random_grey

    rng = torch.Generator().manual_seed(0)
    grey = torch.rand(4, 1, 5, 6).expand(4, 3, 5, 6)
    assert torch.allclose(random_grey(grey, rng), grey[:, :1], atol=1e-6)  # the weights sum to one
    channels = torch.eye(3).view(3, 3, 1, 1).repeat(2, 1, 1, 1)  # pure R, G, B images, twice
    weights = random_grey(channels, rng).view(2, 3)  # each image's grey is its weight of that channel
    assert not torch.allclose(weights[0], weights[1])  # a new draw per image
    assert weights.min() > min(LUMA) - SHIFT - 0.05 and weights.max() < max(LUMA) + SHIFT + 0.05


def _losses(run):
    """Each logged iteration's losses by name (gan logs no NCE)."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    names = ("G_gan", "NCE", "NCE_idt", "G_idt", "G_texture", "D", "D_texture")
    return {r["iteration"]: {k: r[k] for k in names if k in r} for r in records if r["type"] == "train"}


def test_gan_holds_b_with_its_identity_loss_unless_told_not_to(data, tmp_path):
    """On by default for --objective gan (the filter's held-out grades need it: README, "Which objective"), off with
    --lambda-identity-b 0, and never on for another objective, which has its own."""
    from cgan.train.config import IDENTITY_B_DEFAULT_WEIGHT, TrainConfig

    settings = {**TINY, "objective": "gan", "preset": "filter", "ngf": None, "log_every": 1, "max_iters": 2}
    default = train(data=str(data), out=str(tmp_path / "default"), **settings)
    off = train(data=str(data), out=str(tmp_path / "off"), lambda_identity_b=0, **settings)
    assert TrainConfig(objective="gan").resolved_lambda_identity_b == IDENTITY_B_DEFAULT_WEIGHT == 1.0
    assert _losses(default.run_dir)[1]["G_idt"] > 0 and "G_idt" not in _losses(off.run_dir)[1]
    assert TrainConfig(objective="fastcut").resolved_lambda_identity_b == 0.0


@pytest.mark.parametrize("objective, lambda_texture, preset", [("cut", 0.0, "resnet6"), ("fastcut", 0.0, "resnet6"),
                                                               ("fastcut", 1.0, "resnet6"), ("gan", 1.0, "filter")])
def test_each_objective_trains_resumes_exactly_exports_and_translates(data, tmp_path, objective, lambda_texture,
                                                                      preset):
    from cgan.export import export_onnx
    from cgan.runtime.translator import Translator

    settings = {**TINY, "objective": objective, "log_every": 1, "lambda_texture": lambda_texture, "preset": preset,
                "ngf": TINY["ngf"] if preset != "filter" else None,
                "lambda_identity_b": 0.5 if objective == "gan" else 0.0,  # (gan's identity loss on B: the filter)
                "epochs_decay": 0}  # a constant rate: the part's bound (3 steps) would fit its own schedule
    whole = train(data=str(data), out=str(tmp_path / "whole"), max_iters=8, **settings)
    part = train(data=str(data), out=str(tmp_path / "part"), max_iters=3, **settings)
    resumed = train(resume=str(part.run_dir), max_iters=8)
    a, b = _losses(whole.run_dir), _losses(resumed.run_dir)
    assert sorted(b) == list(range(1, 9))
    for it in range(1, 9):
        assert a[it] == pytest.approx(b[it], rel=1e-5, abs=1e-6), it
    assert ("NCE" in a[1]) == (objective != "gan")  # gan keeps no structure loss, and logs none
    assert a[1].get("NCE", 0) > 0 or objective == "gan"
    assert (a[1].get("NCE_idt", 0) > 0) == (objective == "cut")  # identity NCE: cut only
    assert (a[1]["G_texture"] > 0 and a[1]["D_texture"] > 0) == (lambda_texture > 0)  # only when asked
    assert (a[1].get("G_idt", 0) > 0) == (objective == "gan")  # logged where asked for: gan here
    net = load_model(resumed.run_dir)
    assert net.meta.provenance["objective"] == objective and not (resumed.run_dir / "G_BtoA.safetensors").exists()
    weights = load_model(whole.run_dir).state_dict()
    assert all(torch.equal(weights[k], net.state_dict()[k]) for k in weights)
    onnx_path, report = export_onnx(resumed.run_dir / "G_AtoB.safetensors", tmp_path / "g.onnx")
    image = np.random.default_rng(0).integers(0, 255, (36, 44, 3), dtype=np.uint8)
    assert Translator(onnx_path, backend="onnxruntime").translate([image])[0].shape == image.shape
    assert "identity_l1" in [json.loads(line) for line in (whole.run_dir / "metrics.jsonl").read_text().splitlines()
                             if '"val"' in line][-1]


def test_bad_objectives_and_presets_without_an_encoder_are_one_line(data, tmp_path):
    def run(*flags):
        return CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "r"), *flags])

    result = run("--objective", "cutmix")
    assert result.exit_code == 2 and "'cutmix' is not one of 'cyclegan', 'cut', 'fastcut', 'gan'" in result.output
    result = run("--objective", "cut", "--preset", "unet128", "--size", "128")
    assert result.exit_code == 2 and result.output.startswith("error: --objective cut contrasts the generator's")
    result = run("--lambda-nce", "3")
    assert result.exit_code == 2 and "--lambda-nce is an option of --objective cut or fastcut" in result.output
    result = run("--lambda-texture", "1")
    assert result.exit_code == 2 and "--lambda-texture is an option of --objective cut, fastcut or gan" in result.output
    for flag, value in (("--lambda-identity", "0.5"), ("--lambda-cycle", "5"), ("--pool", "0")):
        result = run("--objective", "fastcut", flag, value)
        assert result.exit_code == 2 and result.output.startswith(f"error: {flag} is an option of --objective cyclegan")
    result = run("--objective", "gan", "--lambda-nce", "1")
    assert result.exit_code == 2 and "--lambda-nce is an option of --objective cut or fastcut" in result.output
    result = run("--objective", "fastcut", "--preset", "filter")
    assert result.exit_code == 2 and "which the resnet and mobile generators have and filter has not" in result.output
    result = run("--preset", "filter", "--ngf", "8")
    assert result.exit_code == 2 and result.output.startswith("error: --ngf does not apply to --preset filter")
    result = run("--objective", "fastcut", "--lambda-identity-b", "1")
    assert result.exit_code == 2 and "--lambda-identity-b is an option of --objective gan" in result.output
    result = run("--objective", "gan", "--lambda-identity-b", "-1")
    assert result.exit_code == 2 and result.output.startswith("error: --lambda-identity-b must not be negative")
    result = run("--objective", "fastcut", "--lambda-texture", "-1")
    assert result.exit_code == 2 and result.output.startswith("error: --lambda-texture must not be negative")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_cut_trains_compiled_like_eager(data, tmp_path):
    """The patch positions are drawn outside the compiled call, so the compiled first step computes the eager
    one's losses (later steps drift apart by rounding, which Adam's first updates magnify)."""
    settings = {**TINY, "objective": "cut", "log_every": 1, "max_iters": 2}
    eager = train(data=str(data), out=str(tmp_path / "eager"), **settings)
    compiled = train(data=str(data), out=str(tmp_path / "compiled"), compile=True, **settings)
    a, b = _losses(eager.run_dir), _losses(compiled.run_dir)
    assert sorted(b) == [1, 2] and all(np.isfinite(list(b[2].values())))
    assert a[1] == pytest.approx(b[1], rel=1e-4, abs=1e-5)
    assert not any("_orig_mod" in k for k in load_model(compiled.run_dir).state_dict())


def test_identity_nce_is_computed_when_a_and_b_differ_in_size():
    from cgan.nets import GeneratorConfig, build_generator
    from cgan.train.contrastive import ContrastiveGenerator, PatchProjector, encoder_features

    generator = build_generator(GeneratorConfig(ngf=4, n_blocks=2))
    layers = [0, 4, 8]
    projector = PatchProjector.for_layers(generator, layers, seed=0)
    assert projector.geometry == [(1, 6), (2, 0), (4, 0)]  # the padded input, then two stride-2 convolutions
    contrastive = ContrastiveGenerator(generator, projector, layers, temperature=0.07)
    real_a, real_b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 40, 48) * 2 - 1
    fake_b, nce, nce_idt = contrastive(real_a, real_b, projector.sample_places(32, 32, 16),
                                       projector.sample_places(40, 48, 16))
    assert fake_b.shape == real_a.shape and nce.item() > 0 and nce_idt.item() > 0
    for side, feature in zip([(46, 54), (20, 24), (10, 12)], encoder_features(generator, real_b, layers)):
        assert tuple(feature.shape[-2:]) == side  # the geometry sample_places assumes
