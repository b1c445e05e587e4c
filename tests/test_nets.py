import pytest
import torch

from cgan.errors import CganError
from cgan.nets import (PRESETS, GeneratorConfig, PatchDiscriminator, build_generator, check_input_size,
                       count_macs, count_parameters, preset_config)

SMALL = {"resnet9": 8, "resnet6": 8, "unet256": 4, "unet128": 4, "mobile": 8, "student": 8, "student-tiny": 8,
         "filter": 1}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_output_shape_equals_input_shape(preset):
    net = build_generator(preset_config(preset, ngf=SMALL[preset])).eval()
    m = net.size_multiple
    for h, w in [(m, m), (2 * m, m), (m, 3 * m)] if m > 4 else [(64, 64), (36, 52), (8, 100)]:
        x = torch.rand(2, 3, h, w) * 2 - 1
        with torch.no_grad():
            y = net(x)
        assert y.shape == x.shape
        assert y.abs().max() <= 1.0


def test_size_multiples():
    assert preset_config("resnet9").size_multiple == 4
    assert preset_config("mobile").size_multiple == 4
    assert preset_config("unet256").size_multiple == 256
    assert preset_config("unet128").size_multiple == 128


@pytest.mark.parametrize("preset", list(PRESETS))
def test_gradients_reach_every_parameter(preset):
    net = build_generator(preset_config(preset, ngf=SMALL[preset]))
    if net.config.arch in ("student", "filter"):  # zero-started last layers stop every gradient before a first step
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    m = net.size_multiple
    size = max(m, 16)
    net(torch.randn(1, 3, size, size)).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_paper_resnet9_parameters_and_macs():
    net = build_generator(preset_config("resnet9"))
    assert count_parameters(net) == 11_378_179
    assert abs(count_macs(net, 256, 256) / 1e9 - 49.6) < 0.1


def test_macs_scale_with_area_and_batch():
    net = build_generator(preset_config("resnet6", ngf=8))
    base = count_macs(net, 64, 64)
    assert count_macs(net, 128, 64) == 2 * base
    assert count_macs(net, 64, 64, batch=3) == 3 * base


def test_macs_of_a_single_conv_by_hand():
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ConvTranspose2d(8, 4, 2, stride=2))
    # conv: 8*10*10 outputs x 3*3*3 products; transposed: 8*10*10 inputs x 4*2*2 weights
    assert count_macs(conv, 10, 10) == 8 * 100 * 27 + 8 * 100 * 16


def test_discriminator_is_a_patch_grid():
    d = PatchDiscriminator(ndf=8, n_layers=3)
    assert d(torch.randn(2, 3, 256, 256)).shape == (2, 1, 30, 30)  # 70x70 PatchGAN on 256x256


def test_unknown_preset_lists_valid_names():
    with pytest.raises(CganError, match="resnet9.*mobile"):
        preset_config("resnet50")


def test_invalid_configs_are_refused():
    with pytest.raises(CganError):
        GeneratorConfig(arch="transformer")
    with pytest.raises(CganError):
        GeneratorConfig(arch="unet", num_downs=3)
    with pytest.raises(CganError, match="newer cgan"):
        GeneratorConfig.from_dict({"arch": "resnet", "warp_drive": True})


def test_sizes_that_are_not_a_multiple_are_refused_by_the_check():
    check_input_size(256, 128, 4)
    with pytest.raises(CganError, match="multiple of 4"):
        check_input_size(130, 128, 4)
    with pytest.raises(CganError, match="multiple of 256"):
        check_input_size(300, 256, 256)


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("preset", ["resnet6", "mobile"])
def test_identity_start_begins_as_the_input_and_still_learns(preset, upsample):
    net = build_generator(preset_config(preset, ngf=4, identity_start=True, upsample=upsample))
    x = torch.rand(2, 3, 24, 40) * 1.98 - 0.99
    y = net(x)
    assert y.shape == x.shape and torch.allclose(y, x, atol=1e-5)
    y.sub(torch.rand_like(y)).square().mean().backward()
    last = net.model[-2]
    assert last.weight.grad.abs().sum() > 0  # the zeroed layer gets gradients, so training moves away from x


@pytest.mark.parametrize("preset", ["resnet6", "mobile"])
def test_colour_map_sees_absolute_colour_that_the_convolutions_cannot(preset):
    net = build_generator(preset_config(preset, ngf=4, identity_start=True, colour_map=True))
    x = torch.rand(1, 3, 32, 32) * 1.2 - 0.9
    assert torch.allclose(net(x), x, atol=1e-5)  # the colour map starts at zero too
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        brighter = x * 0.5 + 0.3  # the same picture, lower contrast and brighter
        # Instance norm after the stem removes global brightness and contrast: the convolutional path gives the
        # same change for both pictures, so alone it cannot learn a tone curve. The colour map does see them.
        assert torch.allclose(net.model[:-1](x), net.model[:-1](brighter), atol=1e-3)  # up to the eps of the norm
        assert not torch.allclose(net.colour_map(x), net.colour_map(brighter), atol=1e-2)
    assert preset_config(preset, colour_map=True).colour_map


def test_neighbourhood_features_see_the_mean_colour_and_edges_at_two_scales():
    from cgan.edges import Neighbourhood

    features = Neighbourhood(3)
    step = torch.full((1, 3, 40, 40), -1.0)
    step[..., 20:] = 1.0  # black | white
    out = features(step)
    assert out.shape == (1, 3 + 2, 40, 40) and Neighbourhood.channels(3) == 5
    blurred, fine, coarse = out[:, :3], out[0, 3, 20], out[0, 4, 20]
    assert torch.allclose(blurred[..., :5], step[..., :5], atol=1e-4)  # far from the edge: the colour itself
    assert blurred[0, 0, 20, 19] < 0 < blurred[0, 0, 20, 20]  # at the edge: a mix, symmetric around it
    assert torch.allclose(fine[19:21], torch.ones(2), atol=1e-3) and fine[:18].max() < 0.01  # thin: two pixels
    assert abs(coarse.max().item() - 1.0) < 0.1 and coarse[17] > 0.3 > fine[17]  # thick: spread over pixels
    # a grey image gives the same magnitudes as the same picture in three equal channels
    assert torch.allclose(Neighbourhood(1)(step[:, :1])[:, 1:], out[:, 3:], atol=1e-5)


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (37, 64)])
def test_the_litert_form_of_the_neighbourhood_features_computes_the_same_values(size):
    """The converter's XNNPACK form (replicate padding by slices and concatenations, the channel sum as a 1x1
    convolution) gives the features PyTorch's does, down to frames narrower than the blur's padding; and the
    converter swaps it into a filter, leaving its output the same."""
    from cgan.edges import Neighbourhood
    from cgan.export.litert_convert import XnnpackNeighbourhood, convertible

    x = torch.rand(2, 3, *size) * 2 - 1
    assert torch.allclose(XnnpackNeighbourhood(3)(x), Neighbourhood(3)(x), atol=1e-6)
    net = build_generator(preset_config("filter")).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        before = net(x)
        converted = convertible(net)
        assert isinstance(converted.edges, XnnpackNeighbourhood)
        assert torch.allclose(converted(x), before, atol=1e-6)


def test_edge_map_lets_the_colour_map_change_one_colour_by_its_surroundings():
    net = build_generator(preset_config("resnet6", ngf=4, identity_start=True, colour_map=True, edge_map=True))
    assert net.colour_map[0].in_channels == 3 + 5
    x = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    assert torch.allclose(net(x), x, atol=1e-5)  # starts as the identity, as without the edge map
    picture = torch.full((1, 3, 32, 32), 0.2)
    picture[..., 16:] = -0.8  # one edge: column 2 is far from it, column 15 beside it, both the same colour
    torch.nn.init.normal_(net.colour_map[-1].weight, std=0.1)
    with torch.no_grad():
        change = net.colour_map(torch.cat([picture, net.edges(picture)], 1))
    assert not torch.allclose(change[..., 8, 2], change[..., 8, 15], atol=1e-3)
    with pytest.raises(CganError, match="needs the colour map"):
        preset_config("resnet6", edge_map=True)


def test_the_filter_is_a_per_pixel_map_of_each_pixel_and_its_surroundings():
    net = build_generator(preset_config("filter"))
    assert net.size_multiple == 1 and net.config.normalization == "none"
    assert count_parameters(net) < 2000 and not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)
                                                    for m in net.modules())  # no trunk: 1x1 convolutions only
    x = torch.rand(2, 3, 17, 23) * 1.8 - 0.9
    assert torch.allclose(net(x), x, atol=1e-5)  # starts as the identity, at any size
    torch.nn.init.normal_(net.colour_map[-1].weight, std=0.1)
    picture = torch.full((1, 3, 32, 32), 0.2)
    picture[..., 16:] = -0.8  # the same colour far from the edge and beside it: changed differently
    with torch.no_grad():
        out = net(picture)
    assert not torch.allclose(out[..., 8, 2], out[..., 8, 15], atol=1e-3)
    for missing in ("identity_start", "colour_map", "edge_map"):
        with pytest.raises(CganError, match="needs all three"):
            preset_config("filter", **{missing: False})


def test_resize_upsampling_keeps_sizes_and_has_no_transposed_convs():
    net = build_generator(preset_config("resnet6", ngf=4, upsample="resize"))
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules())
    assert net(torch.randn(1, 3, 36, 52)).shape == (1, 3, 36, 52)


def test_fast_start_options_are_refused_where_they_do_not_apply():
    with pytest.raises(CganError, match="resnet and mobile"):
        preset_config("unet128", identity_start=True)
    with pytest.raises(CganError, match="resnet and mobile"):
        preset_config("unet128", colour_map=True)
    with pytest.raises(CganError, match="transpose or resize"):
        preset_config("resnet6", upsample="bilinear")
