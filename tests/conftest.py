"""Shared fixtures: tiny models and files the tests build themselves."""
from __future__ import annotations

import pytest
import torch

from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)


@pytest.fixture
def tiny_model_file(tmp_path):
    """A small resnet6 generator saved as a model file."""
    config = preset_config("resnet6", ngf=8)
    net = build_generator(config)
    path = tmp_path / "tom2jerry.safetensors"
    save_model(net, path, new_meta(config, "resnet6", "tom", "jerry", "AtoB", iterations=0))
    return path
