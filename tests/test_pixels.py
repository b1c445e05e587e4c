"""The conversion from a model's values to pixels: the fast image form gives what ``to_pixels`` gives, pixel for
pixel, at every rounding boundary, and leaves the model's output untouched."""
import numpy as np

from cgan.pixels import HALF_RANGE, to_image_pixels, to_pixels


def test_the_image_form_rounds_every_value_as_to_pixels_does():
    boundaries = ((np.arange(256, dtype=np.float64) + 0.5) / HALF_RANGE - 1).astype(np.float32)
    near = [boundaries]
    for direction in (np.float32(2), np.float32(-2)):
        step = boundaries
        for _ in range(24):  # the float32 values on either side of each half-way point
            step = np.nextafter(step, direction)
            near.append(step)
    rng = np.random.default_rng(0)
    values = np.concatenate([*near, rng.uniform(-1.3, 1.3, 300_000).astype(np.float32),
                             np.array([-1, 1, 0, -5, 5, -0.0], np.float32)])
    values = values[:len(values) // 3 * 3].reshape(3, 1, -1)
    expected = to_pixels(values).transpose(1, 2, 0)
    assert np.array_equal(to_image_pixels(values), expected)


def test_a_cropped_output_is_converted_without_being_changed():
    output = np.random.default_rng(1).uniform(-1.2, 1.2, (3, 20, 30)).astype(np.float32)
    kept = output.copy()
    image = to_image_pixels(output[:, :15, :25])
    assert image.shape == (15, 25, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
    assert np.array_equal(image, to_pixels(output[:, :15, :25]).transpose(1, 2, 0))
    assert np.array_equal(output, kept)
