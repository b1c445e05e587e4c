import json

import pytest
import torch
from safetensors.torch import save_file

from cgan.errors import CganError
from cgan.modelfile import FORMAT_VERSION, load_model, read_meta, resolve_model_path, save_model, new_meta
from cgan.nets import build_generator, preset_config


def test_round_trip_gives_identical_outputs(tiny_model_file):
    net = load_model(tiny_model_file)
    again = load_model(tiny_model_file)
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(net(x), again(x))
    meta = net.meta
    assert (meta.source_domain, meta.target_domain, meta.direction) == ("tom", "jerry", "AtoB")
    assert meta.preset == "resnet6" and meta.config.ngf == 8 and meta.size_multiple == 4
    assert meta.provenance["iterations"] == 0 and "created" in meta.provenance
    assert meta.input_range == (-1.0, 1.0) and meta.channel_order == "RGB"


@pytest.mark.parametrize("preset", ["unet128", "mobile"])
def test_round_trip_other_architectures(tmp_path, preset):
    config = preset_config(preset, ngf=4)
    net = build_generator(config).eval()
    path = save_model(net, tmp_path / "m.safetensors", new_meta(config, preset))
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(net(x), load_model(path)(x))


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, tiny_model_file):
    net = load_model(tiny_model_file)
    save_model(net, tmp_path / "out" / "m.safetensors", net.meta)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["m.safetensors"]


def test_save_refuses_to_overwrite_unless_asked(tmp_path, tiny_model_file):
    net = load_model(tiny_model_file)
    with pytest.raises(CganError, match="--overwrite"):
        save_model(net, tiny_model_file, net.meta, overwrite=False)


def test_run_directory_resolves_to_its_generators(tmp_path, tiny_model_file):
    run = tmp_path / "run"
    run.mkdir()
    (run / "G_AtoB.safetensors").write_bytes(tiny_model_file.read_bytes())
    assert resolve_model_path(run) == run / "G_AtoB.safetensors"
    with pytest.raises(CganError, match="G_BtoA"):
        resolve_model_path(run, "BtoA")


def test_missing_file(tmp_path):
    with pytest.raises(CganError, match="not found"):
        load_model(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("keep", [5, 100, 5000])
def test_truncated_file(tmp_path, tiny_model_file, keep):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(tiny_model_file.read_bytes()[:keep])
    with pytest.raises(CganError, match="truncated or corrupt"):
        load_model(bad)


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(CganError, match="truncated or corrupt"):
        load_model(bad)


def test_safetensors_without_cgan_metadata(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CganError, match="without cgan metadata"):
        load_model(plain)


def test_pickle_checkpoint_is_refused_with_the_convert_hint(tmp_path):
    ckpt = tmp_path / "latest_net_G_A.pth"
    torch.save({"w": torch.zeros(2)}, ckpt)
    with pytest.raises(CganError, match="cgan convert"):
        load_model(ckpt)


def _with_metadata(tmp_path, tiny_model_file, edit):
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(tiny_model_file), "pt") as f:
        meta = json.loads(f.metadata()["cgan"])
    edit(meta)
    path = tmp_path / "edited.safetensors"
    save_file(load_file(str(tiny_model_file)), str(path), metadata={"cgan": json.dumps(meta)})
    return path


def test_future_format_version(tmp_path, tiny_model_file):
    path = _with_metadata(tmp_path, tiny_model_file, lambda m: m.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(CganError, match="upgrade cgan"):
        read_meta(path)


def test_wrong_format_name(tmp_path, tiny_model_file):
    path = _with_metadata(tmp_path, tiny_model_file, lambda m: m.update(format="something-else"))
    with pytest.raises(CganError, match="not a cgan generator"):
        read_meta(path)


def test_weights_that_do_not_match_the_metadata(tmp_path, tiny_model_file):
    path = _with_metadata(tmp_path, tiny_model_file, lambda m: m["generator"].update(ngf=16))
    with pytest.raises(CganError, match="do not match"):
        load_model(path)


def test_incomplete_metadata(tmp_path, tiny_model_file):
    path = _with_metadata(tmp_path, tiny_model_file, lambda m: m.pop("domains"))
    with pytest.raises(CganError, match="incomplete"):
        read_meta(path)


def test_written_files_get_the_usual_permissions(tmp_path, tiny_model_file):
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(tiny_model_file.stat().st_mode) == 0o666 & ~mask


def _tensor_bytes_start(path):
    import struct

    raw = path.read_bytes()
    return raw, 8 + struct.unpack("<Q", raw[:8])[0]


def test_a_flipped_byte_in_the_weights_is_caught_by_the_checksum(tmp_path, tiny_model_file):
    raw, start = _tensor_bytes_start(tiny_model_file)
    damaged = bytearray(raw)
    damaged[start + len(raw[start:]) // 2] ^= 0x40
    (tmp_path / "damaged.safetensors").write_bytes(bytes(damaged))
    assert read_meta(tiny_model_file).weights_sha256
    with pytest.raises(CganError, match="do not match their checksum: the file is damaged"):
        load_model(tmp_path / "damaged.safetensors")


def test_files_without_a_checksum_still_load_with_a_note(tmp_path, tiny_model_file, caplog):
    path = _with_metadata(tmp_path, tiny_model_file, lambda m: m.pop("weights_sha256"))
    load_model(path)
    assert "no checksum of its weights" in caplog.text


@pytest.mark.parametrize("change,message", [
    (lambda m: m["generator"].update(ngf=20000), "ngf 20000 is over the limit"),
    (lambda m: m["generator"].update(ngf=256, n_blocks=20), "do not match the architecture"),
    (lambda m: m["generator"].update(ngf=8.5), "ngf is 8.5, not a whole number"),
    (lambda m: m["generator"].update(colour_map="yes"), "colour_map is 'yes', not true or false"),
    (lambda m: m.update(domains=[1, 2]), "section of the wrong type"),
    (lambda m: m.update(generator=[1]), "generator options are a list"),
    (lambda m: m["input"].update(range="ab"), r"invalid cgan metadata \(input range\)"),
    (lambda m: m.update(direction=3), r"invalid cgan metadata \(direction\)"),
])
def test_hostile_metadata_is_refused_before_anything_is_built(tmp_path, tiny_model_file, change, message):
    import resource

    path = _with_metadata(tmp_path, tiny_model_file, change)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CganError, match=message):
        load_model(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: nothing huge allocated


@pytest.mark.parametrize("metadata", ["[1, 2]", "[" * 100_000 + "]" * 100_000, '"text"'])
def test_metadata_that_is_not_an_object_is_one_clear_error(tmp_path, tiny_model_file, metadata):
    from safetensors.torch import load_file

    save_file(load_file(str(tiny_model_file)), str(tmp_path / "m.safetensors"), metadata={"cgan": metadata})
    with pytest.raises(CganError, match="corrupt"):
        read_meta(tmp_path / "m.safetensors")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_that_are_not_finite_are_refused(tmp_path, value):
    config = preset_config("resnet6", ngf=4)
    net = build_generator(config)
    with torch.no_grad():
        next(net.parameters())[0] = value
    path = save_model(net, tmp_path / "broken.safetensors", new_meta(config, "resnet6"))
    with pytest.raises(CganError, match="NaN or infinite values: the model is broken"):
        load_model(path)


def test_weights_of_another_dtype_are_refused(tmp_path, tiny_model_file):
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(tiny_model_file), framework="pt") as f:
        metadata = f.metadata()
    tensors = {k: v.to(torch.float16) for k, v in load_file(str(tiny_model_file)).items()}
    save_file(tensors, str(tmp_path / "half.safetensors"), metadata=metadata)
    with pytest.raises(CganError, match="stored as F16, not float32"):
        load_model(tmp_path / "half.safetensors")


def test_a_folder_written_atomically_is_the_old_one_or_the_whole_new_one(tmp_path):
    from cgan.fileio import atomic_folder

    out = tmp_path / "page"
    with atomic_folder(out) as staging:
        (staging / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as staging:
            (staging / "a.txt").write_text("half")
            raise RuntimeError("killed while writing")
    assert (out / "a.txt").read_text() == "first"  # the failed write left the old folder as it was
    with atomic_folder(out) as staging:
        (staging / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]  # replaced whole
    assert [p.name for p in tmp_path.iterdir()] == ["page"]  # nothing temporary left beside it
