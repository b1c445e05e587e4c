"""Generators (ResNet, U-Net, mobile; the filter and the students in their own files), the PatchGAN
discriminator and MACs counting (configs: presets.py).

Layer order and module nesting follow the reference PyTorch CycleGAN code on purpose: its
checkpoints then carry the same parameter names and shapes as ours (see convert.py).

Generators take any height and width that is a multiple of ``size_multiple`` and have no
Python control flow on shapes, so they export to ONNX with dynamic height and width.
Checking or padding sizes is the caller's job (``check_input_size``; the runtime pads).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .blocks import changed_image, colour_map
from .edges import Neighbourhood
from .errors import CganError
from .presets import (  # noqa: F401 (re-exported: the configs are part of what nets offers)
    ARCH_TRAITS, ARCHES, COLOUR_MAP_WIDTH, LIMITS, PRESETS, UPSAMPLING, GeneratorConfig, preset_config,
    preset_has_fast_start)


def _norm(channels: int) -> nn.Module:
    # The reference CycleGAN "instance" norm: no affine parameters, no running statistics.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + F(x), F = two reflection-padded 3x3 convolutions (depthwise-separable when ``separable``)."""

    def __init__(self, dim: int, dropout: bool = False, separable: bool = False) -> None:
        super().__init__()

        def conv() -> list[nn.Module]:
            if separable:
                return [nn.Conv2d(dim, dim, 3, groups=dim), nn.Conv2d(dim, dim, 1)]
            return [nn.Conv2d(dim, dim, 3)]

        layers = [nn.ReflectionPad2d(1), *conv(), _norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), *conv(), _norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN generator: 7x7 stem, two stride-2 convs, residual blocks, two transposed convs, tanh.

    ``arch="mobile"`` keeps this shape but uses depthwise-separable residual blocks.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        ngf = config.ngf
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(config.in_channels, ngf, 7), _norm(ngf), nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1), _norm(ngf * mult * 2), nn.ReLU(True)]
        separable = config.arch == "mobile"
        layers += [ResnetBlock(ngf * 4, config.dropout, separable) for _ in range(config.n_blocks)]
        for mult in (4, 2):
            layers += [_upsample(ngf * mult, ngf * mult // 2, config.upsample), _norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, config.out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        if config.colour_map:
            # Instance norm right after the stem makes the convolutional path blind to global brightness and
            # contrast, so on its own it cannot learn tone curves that depend on absolute colour; this path can.
            self.edges = Neighbourhood(config.in_channels) if config.edge_map else None
            extra = Neighbourhood.channels(config.in_channels) if config.edge_map else 0
            self.colour_map = colour_map(config.in_channels + extra, config.out_channels)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.config.identity_start or self.config.colour_map):
            return self.model(x)
        before_tanh = self.model[:-1](x)
        if self.config.colour_map:
            mapped = torch.cat([x, self.edges(x)], 1) if self.edges is not None else x
            before_tanh = before_tanh + self.colour_map(mapped)
        if self.config.identity_start:  # the network learns a change to its input, not the whole image
            return changed_image(x, before_tanh)
        return torch.tanh(before_tanh)


def _upsample(in_channels: int, out_channels: int, mode: str) -> nn.Module:
    if mode == "resize":  # every output pixel sees the same number of weights, so no checkerboard
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                             nn.Conv2d(in_channels, out_channels, 3))
    return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1)


class UnetSkipBlock(nn.Module):
    """One U-Net level: down, the inner levels, up, and the skip connection around them."""

    def __init__(self, outer: int, inner: int, in_channels: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        in_channels = outer if in_channels is None else in_channels
        down = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif submodule is None:  # innermost
            up = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, _norm(outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)
            layers = [nn.LeakyReLU(0.2, True), down, _norm(inner), submodule, nn.ReLU(True), up, _norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """The pix2pix U-Net (unet256: 8 levels, unet128: 7), built from the innermost level outwards."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        ngf = config.ngf
        block = UnetSkipBlock(ngf * 8, ngf * 8)
        for _ in range(config.num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, dropout=config.dropout)
        for mult in (4, 2, 1):
            block = UnetSkipBlock(ngf * mult, ngf * mult * 2, submodule=block)
        self.model = UnetSkipBlock(config.out_channels, ngf, config.in_channels, block, outermost=True)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: a grid of real/fake scores; n_layers=3 sees 70x70 patches."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1), _norm(ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_generator(config: GeneratorConfig) -> nn.Module:
    """A freshly initialised generator for ``config``."""
    if config.arch == "student":
        from .student_net import build_student

        return build_student(config)
    if config.arch == "filter":
        from .filter_net import FilterGenerator

        net, zeroed = FilterGenerator(config), []
    else:
        net = init_weights(UnetGenerator(config) if config.arch == "unet" else ResnetGenerator(config))
        zeroed = [net.model[-2]] if config.identity_start else []  # a zero residual: the output starts as the input
    if config.colour_map:
        # PyTorch's default (He) initialisation gives the hidden colour features their full range from the start;
        # the last layer starts at zero, so the colour map begins by changing nothing.
        for layer in net.colour_map[:-1]:
            if isinstance(layer, nn.Conv2d):
                layer.reset_parameters()
        zeroed.append(net.colour_map[-1])
    for layer in zeroed:
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    return net


def init_weights(net: nn.Module, std: float = 0.02) -> nn.Module:
    """The reference initialisation: conv weights ~ N(0, std), biases 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def count_macs(net: nn.Module, height: int = 256, width: int = 256, batch: int = 1) -> int:
    """Multiply-accumulates of the convolutions and transposed convolutions for one forward pass.

    Runs on the meta device: shapes propagate, nothing is computed, so it is instant at any size.
    """
    total = 0

    def on_forward(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1]
        if isinstance(module, nn.ConvTranspose2d):  # each input element meets out/groups * k*k weights
            total += inputs[0].numel() * module.out_channels // module.groups * kernel
        else:  # each output element sums in/groups * k*k products
            total += output.numel() * module.in_channels // module.groups * kernel

    ghost = copy.deepcopy(net).to("meta")
    for module in ghost.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.register_forward_hook(on_forward)
    config = getattr(net, "config", None)  # generators say; a discriminator's first convolution does
    first_conv = next(m for m in ghost.modules() if isinstance(m, nn.Conv2d))
    in_channels = config.in_channels if config else first_conv.in_channels
    with torch.no_grad():
        ghost(torch.empty(batch, in_channels, height, width, device="meta"))
    return total


def check_input_size(height: int, width: int, multiple: int) -> None:
    """Raise a CganError unless height and width are positive multiples of ``multiple``."""
    if height <= 0 or width <= 0 or height % multiple or width % multiple:
        raise CganError(
            f"input size {height}x{width} is not a multiple of {multiple}: pad or resize it "
            f"(the cgan runtime pads automatically)"
        )
