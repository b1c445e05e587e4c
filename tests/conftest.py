"""Shared fixtures: tiny models and files the tests build themselves."""
from __future__ import annotations

import pytest
import torch

from cgan.modelfile import new_meta, save_model
from cgan.nets import build_generator, preset_config


def pytest_collection_modifyitems(config, items):
    """GPU tests run wherever PyTorch sees a CUDA GPU and are skipped, with the reason, elsewhere."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none visible to PyTorch)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Compiled-model caches (OpenVINO) go to a temporary folder, not the user's ~/.cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CGAN_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    patch.undo()


@pytest.fixture
def tiny_model_file(tmp_path):
    """A small resnet6 generator saved as a model file."""
    config = preset_config("resnet6", ngf=8)
    net = build_generator(config)
    path = tmp_path / "tom2jerry.safetensors"
    save_model(net, path, new_meta(config, "resnet6", "tom", "jerry", "AtoB", iterations=0))
    return path
