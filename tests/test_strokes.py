"""digits.strokes: the pen in a raster. Thinning keeps the shape's pieces, holes and ends; the
numba kernels agree with their NumPy twins; the width estimate reads the pen; tracing gives strokes.
"""

import numpy as np
import pytest
from scipy import ndimage

from conftest import SHAPES, SIX, draw
from digits.strokes import (
    TRACE_SCALE,
    distance_inside,
    stamp_pen,
    stamp_pen_reference,
    stroke_width,
    thin,
    thin_reference,
    trace,
)


def test_stroke_width_estimate_is_the_pen_width():
    for pen in (4, 10, 24):
        for shape in (SHAPES["one"], SHAPES["seven"]):
            assert stroke_width(draw(shape, pen=pen)) == pytest.approx(pen, rel=0.08)


@pytest.mark.parametrize("shape", [(1, 80), (80, 1)])
def test_stroke_width_of_a_map_one_pixel_thick_is_one_pixel(shape):
    # What a thin straight stroke becomes once cropped to its ink and shrunk: one row of pixels.
    assert stroke_width(np.ones(shape)) == pytest.approx(1.0, abs=0.05)
    assert 0 < stroke_width(np.ones((1, 1))) < 1.5



# ------------------------------------------------------------------------------------------------
# thinning


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("pen", [4, 20])
def test_thinning_leaves_connected_one_pixel_centre_lines(name, pen):
    mask = draw(SHAPES[name], pen=pen) >= 0.5
    skeleton = thin(mask)
    eight = np.ones((3, 3), bool)
    assert ndimage.label(skeleton, eight)[1] == ndimage.label(mask, eight)[1]  # same pieces
    holes = ndimage.label(~skeleton)[1] - 1  # 4-connected background regions besides the outside
    assert holes == ndimage.label(~mask)[1] - 1  # the 0 keeps its hole, the others have none
    assert (skeleton & mask).sum() == skeleton.sum()  # inside the shape
    assert not (skeleton[:-1, :-1] & skeleton[1:, :-1] & skeleton[:-1, 1:] & skeleton[1:, 1:]).any()


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (90, 60), (13, 200)])
@pytest.mark.parametrize("ink", [0.3, 0.8, 0.97])
def test_distance_kernel_matches_scipys_exactly(shape, ink):
    mask = np.random.default_rng(len(shape) * 7 + int(ink * 100)).random(shape) < ink
    mask.flat[0] = False  # at least one background pixel
    np.testing.assert_array_equal(distance_inside(mask), ndimage.distance_transform_edt(mask))


@pytest.mark.parametrize("name", list(SHAPES) + ["six"])
@pytest.mark.parametrize("pen", [2, 9, 30])
def test_thinning_kernel_matches_its_numpy_reference(name, pen):
    mask = draw({**SHAPES, "six": SIX}[name], pen=pen) >= 0.5
    np.testing.assert_array_equal(thin(mask), thin_reference(mask))


@pytest.mark.parametrize("angle", range(0, 180, 15))
@pytest.mark.parametrize("pen", [6, 16, 28])
def test_thinning_keeps_a_straight_strokes_ends_near_its_cap_centres(angle, pen):
    # A 120 px stroke at any angle: its centre line runs from cap centre to cap centre. Peeling
    # may stop a little short at the round caps, never by more than a third of the pen and the
    # pixel that rasterising the cap's outline can add (measured: 2.7, 4.1 and 7.0 px short at
    # worst for pens of 6, 16 and 28 px).
    direction = np.array([np.cos(np.radians(angle)), -np.sin(np.radians(angle))])
    ends = [tuple(0.5 + 0.3 * sign * direction) for sign in (-1, 1)]
    skeleton = thin(draw([ends], box=(0, 0, 200), pen=pen) >= 0.5)
    ys, xs = np.nonzero(skeleton)
    along = (xs + 0.5 - 100) * direction[0] + (ys + 0.5 - 100) * direction[1]  # from the centre
    assert along.min() < -60 + pen / 3 + 1 and along.max() > 60 - pen / 3 - 1


@pytest.mark.parametrize("radius", [0.8, 2.0, 4.6, 7.3])
def test_stamp_pen_kernel_matches_the_distance_transform_reference(radius):
    skeleton = np.random.default_rng(int(radius * 10)).random((60, 45)) < 0.01
    skeleton[0, 0] = skeleton[-1, -1] = True  # centre lines touching the edges
    np.testing.assert_allclose(stamp_pen(skeleton, radius), stamp_pen_reference(skeleton, radius),
                               atol=1e-6)


# ------------------------------------------------------------------------------------------------
# tracing


def test_trace_gives_short_segments_along_the_strokes_of_a_digit():
    seven = draw(SHAPES["seven"], canvas=28, box=(4, 4, 20), pen=2.5)  # an MNIST-sized 7
    digit = np.round(255 * seven).astype(np.uint8)
    segments = trace(digit)  # (S, 2, 2) of (x, y) in 28x28 pixels
    lengths = np.hypot(*(segments[:, 1] - segments[:, 0]).T)
    assert len(segments) > 20 and lengths.max() <= np.sqrt(2) / TRACE_SCALE + 1e-9
    x, y = segments.reshape(-1, 2).T
    assert (digit[y.astype(int), x.astype(int)] > 64).all()  # every point lies on the ink
    assert np.ptp(x) > 10 and np.ptp(y) > 14  # and they span the whole 7
