import cv2
import numpy as np
import pytest

from cgan.errors import CganError
from cgan.sampledata import FILTERS, build_unpaired_dataset


def test_dataset_layout_and_determinism(tmp_path):
    a = build_unpaired_dataset(tmp_path / "a", n_train=6, n_test=3, size=32, seed=1)
    b = build_unpaired_dataset(tmp_path / "b", n_train=6, n_test=3, size=32, seed=1)
    for folder, count in {"trainA": 6, "trainB": 6, "testA": 3, "testB": 3, "testA_truth": 3}.items():
        files = sorted((a / folder).iterdir())
        assert len(files) == count
        for f in files:
            assert np.array_equal(cv2.imread(str(f)), cv2.imread(str(b / folder / f.name)))
    image = cv2.imread(str(a / "trainA" / "0000.png"))
    assert image.shape == (32, 32, 3)


@pytest.mark.parametrize("task", list(FILTERS))
def test_truth_is_the_filter_applied_to_the_test_input(tmp_path, task):
    data = build_unpaired_dataset(tmp_path, n_train=2, n_test=2, size=32, task=task)
    x = cv2.cvtColor(cv2.imread(str(data / "testA" / "0000.png")), cv2.COLOR_BGR2RGB)
    truth = cv2.cvtColor(cv2.imread(str(data / "testA_truth" / "0000.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(FILTERS[task](x), truth)
    assert not np.array_equal(x, truth)


def test_unknown_task(tmp_path):
    with pytest.raises(CganError, match="colour-grade"):
        build_unpaired_dataset(tmp_path, task="sepia")
