"""training.handwriting: strokes drawn by random hands come out as MNIST-like training images, the
same ones for the same seed however many cores draw them."""

import numpy as np
import pytest

from conftest import FOUR, SEVEN, ZERO
from training import handwriting
from training.handwriting import draw, handwriting_images, random_hand

SHAPES = [[np.asarray(s, dtype=float) for s in shape] for shape in (SEVEN, FOUR, ZERO)]


def test_a_random_hand_keeps_the_drawing_centred_and_about_its_size():
    rng = np.random.default_rng(0)
    for _ in range(50):
        moved = np.concatenate(random_hand([s * 300 + 17 for s in SHAPES[1]], rng))
        centre = (moved.min(axis=0) + moved.max(axis=0)) / 2
        assert np.abs(centre).max() < 0.25 and 0.7 < np.ptp(moved, axis=0).max() < 1.4


@pytest.mark.parametrize("png_way", [False, True])
def test_both_ways_give_an_mnist_like_image(png_way):
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        x = draw(random_hand(shape, rng), rng, png_way=png_way)
        assert x.shape == (28, 28) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
        rows, cols = np.nonzero(x >= 0.5)
        assert 17 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # the 20 px box
        mass = x.sum()
        assert abs((np.arange(28) @ x.sum(axis=1)) / mass - 14) < 0.6  # centre of mass


def test_the_same_seed_draws_the_same_images_on_one_core_or_several(monkeypatch):
    drawings = SHAPES * 400  # enough to be spread over processes
    several = handwriting_images(drawings, np.random.default_rng(5))
    monkeypatch.setattr(handwriting.os, "cpu_count", lambda: 1)
    one = handwriting_images(drawings, np.random.default_rng(5))
    np.testing.assert_array_equal(several, one)
    assert not np.array_equal(one, handwriting_images(drawings, np.random.default_rng(6)))
    assert handwriting_images([], np.random.default_rng(0)).shape == (0, 28, 28)
