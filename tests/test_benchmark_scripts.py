"""The hand-written measurements inside benchmarks/ scripts, checked against known answers; RESULTS.md rendered."""
import json

import numpy as np
import torch

from benchmarks.family_ceiling import blurred_and_posterised, fitted
from benchmarks.stylise_ceiling import conditional_mean_colours, fitted_path, histogram_matched
from cgan.task_families import mosaic


def test_histogram_matching_takes_the_references_colours_and_keeps_the_order_of_pixels():
    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    darker = (rng.integers(0, 256, (3, 32, 32, 3)) // 2).astype(np.uint8)
    assert np.array_equal(histogram_matched(photos[:1], photos[:1]), photos[:1])  # its own histogram: unchanged
    matched = histogram_matched(photos, darker)
    assert np.abs(matched.mean((1, 2)) - darker.mean((0, 1, 2))).max() < 3
    first = photos[0, ..., 0].ravel()
    assert np.all(np.diff(matched[0, ..., 0].ravel()[np.argsort(first, kind="stable")].astype(int)) >= 0)


def test_mean_true_colour_recovers_a_colour_change_and_leaves_unseen_colours():
    rng = np.random.default_rng(0)
    train = (rng.integers(0, 128, (4, 16, 16, 3))).astype(np.uint8)  # only the darker half of each channel
    change = lambda images: (images // 8 * 8 + 4).clip(0, 255).astype(np.uint8)[..., ::-1]  # noqa: E731
    photos = np.concatenate([train[:1], np.full((1, 16, 16, 3), 250, np.uint8)])
    mapped = conditional_mean_colours(train, change(train), photos)
    assert np.array_equal(mapped[0], change(photos[:1])[0])
    assert np.array_equal(mapped[1], photos[1])  # a colour never seen in training is left alone


def test_a_3x3_path_fits_a_neighbourhood_filter_that_a_per_pixel_path_cannot():
    torch.manual_seed(0)
    images = torch.rand(8, 3, 72, 72) * 1.6 - 0.8
    laplacian = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]).expand(3, 1, 3, 3)
    sharpened = (images + 0.5 * torch.nn.functional.conv2d(torch.nn.functional.pad(images, (1,) * 4, mode="reflect"),
                                                           laplacian, groups=3)).clamp(-0.95, 0.95)
    truth = ((sharpened + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()
    errors = {}
    for kernel in (1, 3):
        out = fitted_path(kernel, images, sharpened, images, steps=120)
        errors[kernel] = np.abs(out.astype(float) - truth).mean()
    assert errors[3] < 0.5 * errors[1]


def test_blur_and_posterise_gives_the_mosaics_levels_and_its_colours_inside_flat_cells():
    cells = np.kron(np.random.default_rng(0).integers(0, 256, (4, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    answer = blurred_and_posterised(cells[None], cell=4, levels=3)[0]
    assert set(np.unique(answer)) <= {0, 128, 255}  # 3 levels: 0, 127.5 and 255, rounded
    inner = (slice(2, None, 8), slice(2, None, 8))  # a 4-pixel box inside an 8-pixel flat cell sees only the cell
    assert np.array_equal(answer[inner], mosaic(cells, cell=8, levels=3)[inner])


def test_a_fitted_trunk_learns_what_no_single_pixel_tells():
    """Each pixel's output is the mean of its 8x8 block (a mosaic without posterising): the student's trunk fitted
    to it comes closer than doing nothing."""
    torch.manual_seed(0)
    from cgan.nets import build_generator, preset_config

    images = torch.rand(4, 3, 32, 32) * 1.6 - 0.8
    blocks = torch.nn.functional.avg_pool2d(images, 8).repeat_interleave(8, 2).repeat_interleave(8, 3)
    out = fitted(lambda: build_generator(preset_config("student-tiny")), images, blocks, images, steps=60)
    truth = ((blocks + 1) * 127.5).permute(0, 2, 3, 1).numpy()
    before = ((images + 1) * 127.5).permute(0, 2, 3, 1).numpy()
    assert np.abs(out - truth).mean() < 0.8 * np.abs(before - truth).mean()


def test_result_labels_name_what_differs_from_the_profile_and_a_seed_other_than_the_first():
    from benchmarks.quality_curves import label

    settings = {"fast": True, "size": 128, "load_size": 128, "seed": 0, "objective": "fastcut", "edge_map": True,
                "colour_map": True, "batch": 2}
    assert label({"settings": settings}) == "--fast size=128 objective=fastcut edge_map=True"
    assert label({"settings": {**settings, "seed": 1}}) == "--fast size=128 seed=1 objective=fastcut edge_map=True"
    # the filter always has its options, and --fast leaves its colour map at the common rate
    filter_settings = {"preset": "filter", **settings, "objective": "gan", "colour_map_lr": 1.0}
    assert label({"settings": filter_settings}) == "--fast preset=filter size=128 objective=gan"
    assert label({"settings": {**filter_settings, "colour_map_lr": 3.0}}) == \
        "--fast preset=filter size=128 objective=gan colour_map_lr=3.0"


def test_results_md_is_what_the_stored_results_render_to():
    """RESULTS.md is generated from benchmarks/results/ and the findings in benchmarks/findings/, never typed."""
    from pathlib import Path

    from benchmarks.render_results import render
    from benchmarks.result_files import RESULTS

    results = json.loads((RESULTS / "all.json").read_text())
    assert render(results) == (Path(RESULTS.parent) / "RESULTS.md").read_text()


def test_the_readmes_objective_table_is_what_the_stored_results_render_to():
    from benchmarks.readme_table import README, with_table

    readme = README.read_text()
    assert with_table(readme) == readme


def test_findings_render_each_of_their_branches():
    from benchmarks.prose import prose

    gain = {"gain_db": 6.5, "minutes": 10}
    reference = {"reference_code": {"gain_db_at_10_minutes": -1.0},
                 "images_per_second_by_batch": {"command": "python -m benchmarks.x"}}
    met = prose("quality_reading", reference=reference, batch2_rate=1.5, final=gain)
    assert met[-1] == "After 10 minutes `--fast` gains +6.50 dB: the target of +6 dB is met."
    assert prose("quality_reading", reference=reference, batch2_rate=1.5, final=None)[-1].endswith("minutes on.")
    eager = {"graph_ms": 2.0}
    assert prose("gpu_profile", compiled={"graph_ms": 1.0}, eager=eager)[0].endswith(": 2.00x.")
    assert prose("gpu_profile", compiled=None, eager=eager)[0].startswith("Instance normalisation")
    assert len(prose("average", early=[1.0], differences=[0.5], pairs=[])) == 6
    assert prose("average", early=[1.0], differences=[0.5], pairs=[(1.0, 2.0)])[-1].endswith("+1.00 / +2.00 dB).")
    best = {"answer": "blur and posterise", "mean_gain_db": 2.0}
    below = prose("family_ceiling_reading", d={"kind": "mosaic"}, best=best, trained=[])[0]
    assert below.endswith("+2.00 dB (below the structural family's target of +3 dB).")
    assert prose("family_ceiling_reading", d={"kind": "stylise"}, best=best, trained=[])[0].endswith("+2.00 dB.")
