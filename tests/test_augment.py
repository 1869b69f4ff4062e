"""training.augment: kernels agree with their NumPy twins; distortions do what they claim.

The digits here are drawn in the test (anti-aliased polylines about 3 px wide in a 20 px box, like
MNIST), so the file needs no dataset and every expected value can be reasoned about.
"""

from __future__ import annotations

import numpy as np
import pytest

from training.augment import (
    augment_batch,
    centre_of_mass,
    thicken,
    thicken_reference,
    warp,
    warp_reference,
)

# everything off: augment_batch must then give its input back
IDENTITY = dict(rotation=0.0, scale=(1.0, 1.0), stretch=0.0, shear=0.0, shift=0.0,
                thickness_fraction=0.0, elastic=0.0)


def draw(polyline: list[tuple[float, float]], width: float = 3.0) -> np.ndarray:
    """A (28, 28) float32 image of a pen stroke through (row, col) points, soft edges 1 px wide."""
    ii, jj = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    distance = np.full((28, 28), np.inf)
    for (r0, c0), (r1, c1) in zip(polyline[:-1], polyline[1:], strict=True):
        dr, dc = r1 - r0, c1 - c0
        t = np.clip(((ii - r0) * dr + (jj - c0) * dc) / (dr * dr + dc * dc), 0, 1)
        distance = np.minimum(distance, np.hypot(ii - r0 - t * dr, jj - c0 - t * dc))
    return np.clip(width / 2 + 0.5 - distance, 0, 1).astype(np.float32)


def digits() -> np.ndarray:
    """(4, 28, 28): a 0, a 1, a 7 and a 4, each within rows and columns 4..23."""
    angle = np.linspace(0, 2 * np.pi, 40)
    zero = list(zip(14 + 9 * np.sin(angle), 14 + 6 * np.cos(angle), strict=True))
    one = [(4.5, 15.5), (23.5, 12.5)]
    seven = [(5, 8), (5, 20), (23.5, 11)]
    four = [(4, 13), (16, 7), (16, 21), (10, 17), (23.5, 17)]
    return np.stack([draw(p) for p in (zero, one, seven, four)])


def ink(images: np.ndarray) -> np.ndarray:
    """Total ink of each image: (N, H, W) -> (N,)."""
    return images.sum(axis=(1, 2), dtype=np.float64)


def many(repeats: int = 16) -> np.ndarray:
    return np.tile(digits(), (repeats, 1, 1))  # (4 * repeats, 28, 28)


# ---------------------------------------------------------------------------------------------
# kernels against their NumPy twins


@pytest.mark.parametrize("elastic", [False, True], ids=["affine", "affine+displacement"])
def test_warp_matches_numpy_reference(elastic):
    rng = np.random.default_rng(0)
    N = 6
    images = rng.random((N, 28, 28), dtype=np.float32)
    inv = np.eye(2) + rng.normal(0, 0.4, (N, 2, 2))  # includes strong shears and flips
    src = rng.uniform(5, 23, (N, 2))
    dst = rng.uniform(-4, 32, (N, 2))  # some images land partly or wholly outside the frame
    disp = rng.normal(0, 2, (N, 2, 28, 28)).astype(np.float32) * elastic
    fast = warp(images, inv, src, dst, disp)
    slow = warp_reference(images, inv, src, dst, disp)
    assert fast.dtype == slow.dtype == np.float32
    np.testing.assert_allclose(fast, slow, atol=1e-5, rtol=0)


def test_thicken_matches_numpy_reference():
    rng = np.random.default_rng(1)
    images = rng.random((7, 28, 28), dtype=np.float32)
    images[:, 0, :] = 1.0  # ink on the border exercises the "background outside" rule
    amount = np.array([-1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0], dtype=np.float32)
    np.testing.assert_allclose(thicken(images, amount), thicken_reference(images, amount),
                               atol=1e-6, rtol=0)


def test_warp_with_identity_map_copies_and_with_shift_moves_by_whole_pixels():
    images = digits()
    N = len(images)
    eye, zeros = np.tile(np.eye(2), (N, 1, 1)), np.zeros((N, 2, 28, 28), np.float32)
    centre = np.full((N, 2), 14.0)
    np.testing.assert_allclose(warp(images, eye, centre, centre, zeros), images, atol=1e-6)
    moved = warp(images, eye, centre, centre + [2.0, -3.0], zeros)  # 2 down, 3 left
    np.testing.assert_allclose(moved[:, 2:, :25], images[:, :26, 3:], atol=1e-6)


# ---------------------------------------------------------------------------------------------
# augment_batch


@pytest.mark.parametrize("elastic", [0.0, 1.5])
def test_output_is_float32_in_0_1_with_the_input_shape(elastic):
    out = augment_batch(many(), np.random.default_rng(2), elastic=elastic)
    assert out.shape == (64, 28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, many(), atol=0.05)  # it did distort


def test_identity_parameters_give_back_the_input():
    images = digits()
    out = augment_batch(images, np.random.default_rng(3), **IDENTITY)
    np.testing.assert_allclose(out, images, atol=1e-5, rtol=0)


@pytest.mark.parametrize("elastic", [0.0, 1.5])
def test_same_seed_gives_the_same_batch_and_another_seed_another(elastic):
    first = augment_batch(many(2), np.random.default_rng(42), elastic=elastic)
    again = augment_batch(many(2), np.random.default_rng(42), elastic=elastic)
    other = augment_batch(many(2), np.random.default_rng(43), elastic=elastic)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.5


@pytest.mark.parametrize("size", [0.85, 1.0, 1.1])
def test_ink_mass_follows_the_area_change_of_the_affine_map(size):
    # rotation, shear and stretch keep areas, so the ink scales by size**2 only; bilinear
    # resampling of 3 px strokes keeps the total within a few percent (measured: under 2.5%)
    images = many()
    out = augment_batch(images, np.random.default_rng(4), rotation=15.0, shear=0.3, stretch=0.1,
                        scale=(size, size), shift=2.0, thickness_fraction=0.0)
    ratio = ink(out) / ink(images)
    np.testing.assert_allclose(ratio, size**2, rtol=0.04)


def test_rotation_and_shear_turn_the_digit_about_its_centre_of_mass():
    # off-centre in a larger canvas, so that the pivot matters and no ink leaves the frame
    images = np.pad(many(), ((0, 0), (4, 12), (12, 4)))
    out = augment_batch(images, np.random.default_rng(5), rotation=15.0, shear=0.3,
                        stretch=0.1, scale=(0.85, 1.1), shift=0.0, thickness_fraction=0.0)
    moved = np.abs(centre_of_mass(out) - centre_of_mass(images)).max()
    assert moved < 0.15  # pixels; resampling alone moves it a little (measured: 0.04)


def test_shift_moves_the_centre_of_mass_by_at_most_shift():
    images = many()
    out = augment_batch(images, np.random.default_rng(6), **{**IDENTITY, "shift": 2.0})
    moved = np.abs(centre_of_mass(out) - centre_of_mass(images))
    assert moved.max() <= 2.0 + 0.05
    assert moved.max() > 1.0  # and it does move them


def test_default_distortions_keep_the_digit_in_the_frame():
    # augment the digits on a canvas padded by 8 px (same seed, so the same maps) and measure the
    # ink that lands outside the middle 28x28: the ink the real 28x28 output would lose
    padded = np.pad(many(64), ((0, 0), (8, 8), (8, 8)))
    out = augment_batch(padded, np.random.default_rng(7))
    lost = 1 - ink(out[:, 8:-8, 8:-8]) / ink(out)
    assert lost.mean() < 0.002 and lost.max() < 0.02  # measured: 0.0001 and 0.005


@pytest.mark.parametrize(("amount", "more", "less"), [(0.3, 1.1, 0.98), (0.8, 1.3, 0.95)])
def test_thicker_pen_adds_ink_and_thinner_pen_removes_it(amount, more, less):
    # these strokes have 1 px soft edges, which is all a thinner pen peels off (MNIST's are
    # softer and lose more); measured at 0.3: ink x1.17-1.22 / x0.94-0.97, at 0.8: x1.46-1.59 /
    # x0.83-0.94
    images = many(1)
    common = {**IDENTITY, "thickness_fraction": 1.0}
    thicker = augment_batch(images, np.random.default_rng(8), **{**common,
                            "thickness": (amount, amount)})
    thinner = augment_batch(images, np.random.default_rng(8), **{**common,
                            "thickness": (-amount, -amount)})
    assert np.all(ink(thicker) > more * ink(images))
    assert np.all(ink(thinner) < less * ink(images))
    # a thinner pen is still a solid line: the darkest pixels stay dark
    assert np.all(thinner.max(axis=(1, 2)) == 1.0)


def test_thickness_fraction_picks_that_share_of_the_batch():
    images = many(64)  # 256 images
    out = augment_batch(images, np.random.default_rng(9), **{
        **IDENTITY, "thickness": (0.5, 0.5), "thickness_fraction": 0.25})
    changed = np.abs(out - images).max(axis=(1, 2)) > 1e-4
    assert 0.15 < changed.mean() < 0.35  # 256 draws: the share is 0.25 +- 0.027 (1 sd)


def test_elastic_wobble_bends_strokes_but_keeps_the_ink_on_average():
    # a random displacement field stretches some places and squeezes others (+-1.5 px over 9 px
    # between control points changes local area by about +-30%), but on average it is a wash
    images = many()
    out = augment_batch(images, np.random.default_rng(10), **{**IDENTITY, "elastic": 1.5})
    assert np.abs(out - images).max() > 0.5
    ratio = ink(out) / ink(images)
    assert abs(ratio.mean() - 1) < 0.05
    assert np.all((0.6 < ratio) & (ratio < 1.5))


def test_centre_of_mass_of_a_blank_image_is_the_middle():
    images = np.zeros((2, 28, 28), np.float32)
    images[1, 3, 5] = 1.0
    np.testing.assert_allclose(centre_of_mass(images), [[13.5, 13.5], [3.0, 5.0]])


@pytest.mark.parametrize(
    ("images", "kwargs", "error", "message"),
    [
        (np.zeros((2, 28, 28), np.uint8), {}, TypeError, r"uint8.*/ 255"),
        (np.zeros((2, 1, 28, 28), np.float32), {}, ValueError, r"images\[:, 0\]"),
        (np.full((2, 28, 28), 255.0, np.float32), {}, ValueError, r"got 255\.\.255.*255"),
        (np.zeros((2, 28, 28), np.float32), {"scale": (1.2, 0.8)}, ValueError, r"low <= high"),
        (np.zeros((2, 28, 28), np.float32), {"thickness": (-2, 1)}, ValueError, r"-1\.\.1"),
        (np.zeros((2, 28, 28), np.float32), {"elastic": 1.0, "elastic_grid": 1}, ValueError,
         r"elastic_grid must be at least 2"),
    ],
    ids=["uint8", "channel-axis", "0-255-floats", "scale-order", "thickness-range", "grid"],
)
def test_bad_input_is_refused_with_advice(images, kwargs, error, message):
    with pytest.raises(error, match=message):
        augment_batch(images, np.random.default_rng(0), **kwargs)
