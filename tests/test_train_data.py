import sys
import cv2
import numpy as np
import pytest
import torch

from cgan.errors import CganError
from cgan.train.config import TrainConfig
from cgan.train.config_files import resolve_config
from cgan.train.durations import parse_duration
from cgan.images import list_images, read_rgb
from cgan.train.data import EpochSampler, augment, find_data
from cgan.train.pool import ImagePool
from cgan.train.state import load_state, save_state


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


def test_every_image_kind_becomes_8bit_rgb(tmp_path):
    rng = np.random.default_rng(0)
    gray = _write(tmp_path / "g.png", rng.integers(0, 255, (10, 12), dtype=np.uint8))
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 2] = 255  # red in BGR order
    rgba[:5, ..., 3] = 255  # top half opaque, bottom half transparent
    rgba_path = _write(tmp_path / "a.png", rgba)
    deep = _write(tmp_path / "d.tif", (rng.random((10, 12, 3)) * 65535).astype(np.uint16))
    jpeg = _write(tmp_path / "c.jpg", rng.integers(0, 255, (10, 12, 3), dtype=np.uint8))
    for path in (gray, rgba_path, deep, jpeg):
        image = read_rgb(path)
        assert image.shape == (10, 12, 3) and image.dtype == np.uint8, path
    composited = read_rgb(rgba_path)
    assert tuple(composited[0, 0]) == (255, 0, 0)  # opaque red stays red
    assert tuple(composited[9, 0]) == (255, 255, 255)  # transparent shows white
    assert np.array_equal(read_rgb(gray)[..., 0], cv2.imread(str(gray), cv2.IMREAD_GRAYSCALE))


def test_palette_png_becomes_rgb(tmp_path):
    from PIL import Image

    image = Image.new("P", (8, 6))
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    image.putpixel((1, 1), 1)
    image.save(tmp_path / "p.png")
    rgb = read_rgb(tmp_path / "p.png")
    assert rgb.shape == (6, 8, 3) and tuple(rgb[1, 1]) == (10, 200, 30)


def test_unreadable_files_give_none(tmp_path):
    (tmp_path / "bad.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    assert read_rgb(tmp_path / "bad.jpg") is None and read_rgb(tmp_path / "empty.png") is None


def test_list_images_is_recursive_and_skips_hidden(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    for name in ("x/1.png", "x/y/2.JPG", ".hidden/3.png", "4.webp", "notes.txt"):
        if name.endswith(".txt"):
            (tmp_path / name).write_text("x")
        else:
            _write(tmp_path / name, img)
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == ["4.webp", "x/1.png", "x/y/2.JPG"]


@pytest.mark.parametrize("preprocess,shape", [("resize_crop", (32, 32, 3)), ("scale_width_crop", (32, 32, 3)),
                                              ("crop", (32, 32, 3)), ("none", (52, 72, 3))])
def test_preprocessing_output_sizes(preprocess, shape):
    config = TrainConfig(a="a", b="b", size=32, preprocess=preprocess)
    image = np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    out = augment(image, config, 4, np.random.default_rng(1))
    assert out.shape == shape


def test_small_images_are_scaled_up_to_the_crop():
    config = TrainConfig(a="a", b="b", size=64, preprocess="crop")
    out = augment(np.zeros((20, 30, 3), np.uint8), config, 4, np.random.default_rng(0))
    assert out.shape == (64, 64, 3)


def test_sampler_is_deterministic_and_resumable():
    full = EpochSampler(10, 7, seed=3)
    full.set_epoch(2)
    again = EpochSampler(10, 7, seed=3)
    again.set_epoch(2, start=4)
    assert again.keys == full.keys[4:]
    assert sorted(k[0] for k in full.keys) == list(range(10))  # every A once per epoch
    other_epoch = EpochSampler(10, 7, seed=3)
    other_epoch.set_epoch(3)
    assert other_epoch.keys != full.keys


def test_sampler_shards_equally_across_ranks():
    shards = []
    for rank in range(3):
        s = EpochSampler(10, 4, seed=0, rank=rank, world=3)
        shards.append(s.keys)
    assert [len(s) for s in shards] == [3, 3, 3]
    assert len({k for s in shards for k in s}) == 9


def test_pool_returns_history_and_resumes():
    pool = ImagePool(2, seed=0)
    images = [torch.full((1, 3, 2, 2), float(i)) for i in range(20)]
    for im in images[:2]:
        assert torch.equal(pool.query(im), im)  # filling up: returned as given
    twin = ImagePool(2, seed=5)
    twin.load_state_dict(pool.state_dict(), torch.device("cpu"))
    outs = [pool.query(im) for im in images[2:]]
    assert any(not torch.equal(o, im) for o, im in zip(outs, images[2:]))  # some swapped for history
    assert all(torch.equal(a, twin.query(im)) for a, im in zip(outs, images[2:]))
    assert torch.equal(ImagePool(0).query(images[3]), images[3])


def test_state_round_trip_keeps_structure(tmp_path):
    state = {"step": 3, "opt": {0: {"exp_avg": torch.randn(2, 2)}, "groups": [{"betas": (0.5, 0.999), "x": None}]},
             "rng": torch.get_rng_state(), "best": {"psnr": 20.5}, "empty": []}
    save_state(tmp_path / "s.safetensors", state)
    back = load_state(tmp_path / "s.safetensors")
    assert back["step"] == 3 and back["opt"]["groups"][0]["betas"] == (0.5, 0.999)
    assert torch.equal(back["opt"][0]["exp_avg"], state["opt"][0]["exp_avg"]) and 0 in back["opt"]
    assert torch.equal(back["rng"], state["rng"]) and back["empty"] == []


def test_damaged_state_is_a_clear_error(tmp_path):
    save_state(tmp_path / "s.safetensors", {"w": torch.zeros(100)})
    data = (tmp_path / "s.safetensors").read_bytes()
    (tmp_path / "s.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CganError, match="damaged"):
        load_state(tmp_path / "s.safetensors")


def test_durations():
    assert parse_duration("90") == 90 and parse_duration("30m") == 1800 and parse_duration("1h30m") == 5400
    assert parse_duration("2.5s") == 2.5 and parse_duration(None) is None
    with pytest.raises(CganError, match="30m"):
        parse_duration("ten minutes")


def test_config_file_and_flags(tmp_path):
    (tmp_path / "c.yaml").write_text("preset: resnet6\nlambda-cycle: 5\nsize: 64\n")
    config = resolve_config({"size": 32, "lr": None}, str(tmp_path / "c.yaml"))
    assert (config.preset, config.lambda_cycle, config.size, config.lr) == ("resnet6", 5, 32, 2e-4)
    (tmp_path / "bad.yaml").write_text("colour: blue\n")
    with pytest.raises(CganError, match="unknown options colour"):
        resolve_config({}, str(tmp_path / "bad.yaml"))
    (tmp_path / "broken.yaml").write_text("a: [1, 2\n")
    with pytest.raises(CganError, match="not valid YAML"):
        resolve_config({}, str(tmp_path / "broken.yaml"))


def test_fast_profile_sits_under_the_file_and_the_flags(tmp_path):
    from cgan.train.fast import FAST_PROFILE

    fast = resolve_config({"fast": True})
    assert all(getattr(fast, k) == v for k, v in FAST_PROFILE.items())
    (tmp_path / "c.yaml").write_text("size: 96\n")
    mixed = resolve_config({"fast": True, "identity_start": False, "ema": None}, str(tmp_path / "c.yaml"))
    assert (mixed.size, mixed.identity_start, mixed.ema, mixed.upsample) == (96, False, FAST_PROFILE["ema"], "resize")
    assert resolve_config({}).identity_start is False  # without --fast nothing changes
    from cgan.presets import EDGE_MAP_ARCHES, PRESETS, preset_has_fast_start, preset_traits

    assert {p for p, v in PRESETS.items() if v["arch"] in EDGE_MAP_ARCHES} == {"resnet9", "resnet6", "mobile"}
    assert {p for p in PRESETS if preset_traits(p).encoder_layers} == {"resnet9", "resnet6", "mobile"}  # cut, fastcut
    assert {p for p in PRESETS if preset_has_fast_start(p)} == {"resnet9", "resnet6", "mobile", "filter"}
    filter_fast = resolve_config({"fast": True, "preset": "filter"})
    assert filter_fast.colour_map_lr == 1 and filter_fast.size == FAST_PROFILE["size"]
    plain_filter = resolve_config({"preset": "filter"})  # the filter is its options: on without --fast too
    assert plain_filter.identity_start and plain_filter.colour_map and plain_filter.edge_map
    unet = resolve_config({"fast": True, "preset": "unet128"})
    assert (unet.identity_start, unet.upsample, unet.colour_map, unet.colour_map_lr) == (False, "transpose", False, 1)
    assert resolve_config({"fast": True, "colour_map": False}).colour_map_lr == 1
    assert unet.ema == FAST_PROFILE["ema"]
    assert resolve_config({"fast": True, "preprocess": "none"}).batch == 1
    resumed = resolve_config({"max_iters": 9}, resume_config=fast.to_dict())
    assert resumed.size == FAST_PROFILE["size"] and resumed.max_iters == 9
    with pytest.raises(CganError, match="--fast"):
        resolve_config({"fast": True}, resume_config=TrainConfig(a="x", b="y").to_dict())


def test_resume_refuses_changes_to_what_is_learned():
    saved = TrainConfig(a="x", b="y").to_dict()
    assert resolve_config({"max_iters": 50}, resume_config=saved).max_iters == 50
    with pytest.raises(CganError, match="--preset"):
        resolve_config({"preset": "mobile"}, resume_config=saved)


@pytest.mark.parametrize("options,message", [
    ({"preset": "vgg"}, "resnet9"), ({"monitor": "psnr"}, "--val-truth"), ({"batch": 0}, "--batch"),
    ({"preprocess": "none", "batch": 2}, "--batch 1"), ({"max_time": "soon"}, "duration"),
    ({"val_fraction": 1.5}, "--val-fraction"), ({"device": "tpu"}, "--device"),
    ({"colour_map_lr": 3.0}, "needs --colour-map"), ({"colour_map": True, "colour_map_lr": 0.0}, "positive"),
    ({"edge_map": True}, "--edge-map feeds the colour map"),
])
def test_bad_options(options, message):
    with pytest.raises(CganError, match=message):
        TrainConfig(a="x", b="y", **options)


def test_data_errors(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(CganError, match="--data DIR"):
        find_data(TrainConfig())
    with pytest.raises(CganError, match="not found"):
        find_data(TrainConfig(a=str(tmp_path / "nope"), b=str(tmp_path)))
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    _write(tmp_path / "good" / "1.png", img)
    with pytest.raises(CganError, match="no images in"):
        find_data(TrainConfig(a=str(tmp_path / "empty"), b=str(tmp_path / "good")))
    with pytest.raises(CganError, match="no images in"):
        find_data(TrainConfig(a=str(tmp_path / "good"), b=str(tmp_path / "texts")))
    with pytest.raises(CganError, match="trainA"):
        find_data(TrainConfig(data=str(tmp_path / "good")))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.jpg").write_text("garbage")
    with pytest.raises(CganError, match="can be read"):
        find_data(TrainConfig(a=str(tmp_path / "junk"), b=str(tmp_path / "good")))


def test_hold_out_and_unreadable_count(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    for i in range(20):
        _write(tmp_path / "a" / f"{i}.png", img)
        _write(tmp_path / "b" / f"{i}.png", img)
    (tmp_path / "a" / "broken.png").write_text("garbage")
    split = find_data(TrainConfig(a=str(tmp_path / "a"), b=str(tmp_path / "b"), val_fraction=0.1))
    assert len(split.val_a) == 2 and len(split.train_a) == 18 and not set(split.val_a) & set(split.train_a)
    assert any("skipped 1 unreadable" in note for note in split.notes)


def test_no_forked_workers_where_openvino_runs(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from cgan.sampledata import build_unpaired_dataset
    from cgan.train.data import training_loader

    data = build_unpaired_dataset(tmp_path / "data", n_train=4, n_test=2, size=40)
    config = TrainConfig(data=str(data), size=32, workers=1)
    split = find_data(config)
    monkeypatch.setitem(sys.modules, "openvino", SimpleNamespace())
    loader, _ = training_loader(split, config, 4, SimpleNamespace(rank=0, world=1), pin_memory=False)
    assert loader.num_workers == 0 and any("OpenVINO" in note for note in split.notes)
