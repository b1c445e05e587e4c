"""Task families: draws are reproducible from a seed, never repeat a tuning setting (or one another), make
different filters, and build data sets whose truth is the draw's filter; the structural kind depends on blocks."""
import cv2
import numpy as np
import pytest

from cgan.errors import CganError
from cgan.sampledata import FILTERS, build_unpaired_dataset, load_photos, TRAIN_PHOTOS
from cgan.task_families import KINDS, MARGIN, distance, held_out_draws, tuning_draws


@pytest.fixture(scope="module")
def photo():
    return cv2.resize(load_photos(TRAIN_PHOTOS[:1])[0], (96, 96), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("kind", list(KINDS))
def test_held_out_draws_are_reproducible_and_apart_from_the_tuning_settings(kind, photo):
    draws = held_out_draws(kind, 3, seed=0)
    assert draws == held_out_draws(kind, 3, seed=0) and draws != held_out_draws(kind, 3, seed=1)
    settings = [dict(d.parameters) for d in (*tuning_draws(kind), *draws)]
    for i, a in enumerate(settings):
        for b in settings[i + 1:]:
            assert distance(kind, a, b) >= MARGIN  # no two draws share a setting, nor come near one
    for d in draws:
        low_high = KINDS[kind].space
        assert all(low_high[k][0] <= v <= low_high[k][1] for k, v in d.parameters)
    outputs = [d(photo) for d in draws]
    assert all(o.shape == photo.shape and o.dtype == np.uint8 for o in outputs)
    assert not np.array_equal(outputs[0], outputs[1])  # different settings, different tasks


def test_the_tuning_settings_are_the_quality_benchmark_tasks(photo):
    for kind, task in (("colour-grade", "colour-grade"), ("stylise", "stylise"), ("detail", "detail"),
                       ("pencil", "pencil")):
        assert np.array_equal(tuning_draws(kind)[0](photo), FILTERS[task](photo))


def test_a_draw_builds_a_data_set_whose_truth_is_its_filter(tmp_path):
    draw = held_out_draws("mosaic", 1)[0]
    data = build_unpaired_dataset(tmp_path, n_train=2, n_test=2, size=48, task=draw)
    x = cv2.cvtColor(cv2.imread(str(data / "testA" / "0000.png")), cv2.COLOR_BGR2RGB)
    truth = cv2.cvtColor(cv2.imread(str(data / "testA_truth" / "0000.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(draw(x), truth)


def test_the_structural_kind_is_made_of_blocks(photo):
    out = KINDS["mosaic"].apply(photo, cell=8, levels=4)
    blocks = out.reshape(12, 8, 12, 8, 3)
    assert (blocks == blocks[:, :1, :, :1]).all()  # each 8x8 cell is one colour
    assert len(np.unique(out)) <= 4  # posterised to 4 levels a channel


def test_a_family_without_room_or_an_unknown_kind_is_one_error():
    with pytest.raises(CganError, match="room for"):
        held_out_draws("mosaic", 40)
    with pytest.raises(CganError, match="unknown task family 'sepia'"):
        held_out_draws("sepia", 1)
