import pytest
import torch

from cgan.convert import convert_checkpoint
from cgan.errors import CganError
from cgan.modelfile import load_model, save_model
from reference_cyclegan import ResnetGenerator, UnetGenerator


def _reference_checkpoint(tmp_path, net, name="latest_net_G_A.pth", old_style=False):
    state = net.state_dict()
    if old_style:  # pre-0.4 checkpoints: InstanceNorm running stats, which the reference strips
        state["model.2.running_mean"] = torch.zeros(8)
        state["model.2.running_var"] = torch.ones(8)
    path = tmp_path / name
    torch.save(state, path)
    return path


def _perturbed(net):
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net.eval()


@pytest.mark.parametrize("old_style", [False, True])
def test_resnet_checkpoint_converts_to_identical_outputs(tmp_path, old_style):
    reference = _perturbed(ResnetGenerator(ngf=8, n_blocks=9))
    ckpt = _reference_checkpoint(tmp_path, reference, old_style=old_style)
    net, meta = convert_checkpoint(ckpt, "resnet9", ngf=8, name_a="horse", name_b="zebra")
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        assert torch.equal(net(x), reference(x))
    assert (meta.source_domain, meta.target_domain, meta.direction) == ("horse", "zebra", "AtoB")
    # and it survives our own file format
    out = save_model(net, tmp_path / "h2z.safetensors", meta)
    with torch.no_grad():
        assert torch.equal(load_model(out)(x), reference(x))


def test_unet_checkpoint_converts_to_identical_outputs(tmp_path):
    reference = _perturbed(UnetGenerator(num_downs=7, ngf=4))
    ckpt = _reference_checkpoint(tmp_path, reference, name="latest_net_G_B.pth")
    net, meta = convert_checkpoint(ckpt, "unet128", ngf=4, name_a="horse", name_b="zebra")
    x = torch.randn(1, 3, 128, 256)
    with torch.no_grad():
        assert torch.allclose(net(x), reference(x), atol=1e-6)
    assert meta.direction == "BtoA" and meta.source_domain == "zebra"


def test_dataparallel_prefix_is_accepted(tmp_path):
    reference = _perturbed(ResnetGenerator(ngf=8, n_blocks=6))
    path = tmp_path / "g.pth"
    torch.save({f"module.{k}": v for k, v in reference.state_dict().items()}, path)
    net, _ = convert_checkpoint(path, "resnet6", ngf=8)
    x = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(net(x), reference(x))


def test_wrong_preset_lists_mismatches_and_suggests_ngf(tmp_path):
    ckpt = _reference_checkpoint(tmp_path, ResnetGenerator(ngf=8, n_blocks=9))
    with pytest.raises(CganError, match=r"unexpected.*--ngf 8"):
        convert_checkpoint(ckpt, "resnet6")


def test_checkpoint_with_code_in_it_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))

    path = tmp_path / "evil.pth"
    torch.save({"model.1.weight": Evil()}, path)
    with pytest.raises(CganError, match="never unpickles"):
        convert_checkpoint(path, "resnet9")
    assert not (tmp_path / "PWNED").exists()


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(CganError, match="not a readable"):
        convert_checkpoint(path, "resnet9")
    with pytest.raises(CganError, match="not found"):
        convert_checkpoint(tmp_path / "missing.pth", "resnet9")
