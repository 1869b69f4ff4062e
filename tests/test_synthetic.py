"""The drawn training digits: balanced, repeatable, and shaped like MNIST after preprocessing."""

import numpy as np

from training.synthetic import DIGITS, synthetic_digits


def test_synthetic_digits_are_balanced_repeatable_and_in_range():
    x, y = synthetic_digits(60, np.random.default_rng(3))
    assert x.shape == (60, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == [6] * 10
    assert 0.0 <= x.min() and x.max() <= 1.0
    x2, y2 = synthetic_digits(60, np.random.default_rng(3))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_synthetic_digits_follow_mnist_conventions():
    """Centre of mass at (14, 14) and a 20 px box: they went through digits.preprocess.to_mnist."""
    x, _ = synthetic_digits(30, np.random.default_rng(0))
    rows, cols = np.indices((28, 28))
    for image in x:
        mass = image.sum()
        assert abs((rows * image).sum() / mass - 14) < 0.6
        assert abs((cols * image).sum() / mass - 14) < 0.6
        ink_rows, ink_cols = np.nonzero(image >= 0.5)
        assert 17 <= max(np.ptp(ink_rows), np.ptp(ink_cols)) + 1 <= 21


def test_every_style_program_draws_strokes_in_the_unit_square():
    rng = np.random.default_rng(1)
    for draw in DIGITS:
        for _ in range(20):
            points = np.concatenate([np.asarray(stroke) for stroke in draw(rng)])
            assert points.shape[1] == 2
            assert points.min() >= -0.05 and points.max() <= 1.05
            assert np.ptp(points, axis=0).max() > 0.5  # a digit, not a speck
