"""digits.canvas: the one stroke renderer draws a round pen of the width asked, where it was asked,
smooths points as the page does, places a digit as a person would, and exports the page's PNG."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.canvas import (
    PENS,
    _any_within,
    _any_within_reference,
    _nearest,
    _nearest_reference,
    canvas_png,
    place_strokes,
    render,
    segments,
    smooth,
    to_png,
    within_reach,
)
from digits.strokes import stroke_width

REPO = Path(__file__).resolve().parents[1]


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


# ------------------------------------------------------------------------------------------------
# the kernel


@pytest.mark.parametrize("reach", [0.7, 3.0, 12.5])
def test_distance_kernel_matches_its_numpy_reference(reach):
    rng = np.random.default_rng(int(reach * 10))
    strokes = [rng.uniform(-10, 70, (n, 2)) for n in (1, 2, 7)]  # a dot, a line, a path
    strokes.append(np.array([[0.0, 0.0], [59.9, 44.9]]))  # corner to corner
    pieces = segments(strokes, smoothing=True)
    fast, slow = _nearest(pieces, 45, 60, reach), _nearest_reference(pieces, 45, 60, reach)
    np.testing.assert_array_equal(np.isinf(fast), np.isinf(slow))
    np.testing.assert_allclose(fast[np.isfinite(fast)], slow[np.isfinite(slow)], atol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_reach_kernel_matches_its_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    pieces = segments([rng.uniform(0, 50, (n, 2)) for n in (1, 2, 9)])
    for _ in range(50):
        points, reach = rng.uniform(-20, 70, (int(rng.integers(1, 6)), 2)), rng.uniform(0.1, 9)
        assert _any_within(points, pieces, reach) == _any_within_reference(points, pieces, reach)


def test_within_reach_measures_to_the_line_between_points_not_just_the_points():
    line = segments([np.array([[0.0, 0.0], [100.0, 0.0]])])
    assert within_reach(np.array([[50.0, 4.0]]), line, 4.0)  # 50 from either end
    assert not within_reach(np.array([[50.0, 4.1]]), line, 4.0)
    assert not within_reach(np.zeros((0, 2)), line, 4.0)


# ------------------------------------------------------------------------------------------------
# the pen


@pytest.mark.parametrize("pen", [1.5, 6.0, 15.4, 30.0])
@pytest.mark.parametrize("angle", [0, 30, 45, 90])
def test_a_straight_stroke_has_the_area_and_width_of_its_pen(pen, angle):
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    ends = [100 - 60 * direction, 100 + 60 * direction]  # 120 px long, centred
    ink = render([ends], (200, 200), pen)
    area = 120 * pen + np.pi * pen ** 2 / 4  # a rectangle and two half-disc caps
    assert ink.sum() == pytest.approx(area, rel=0.02)
    if pen >= 4:  # the gradient-based estimate blurs strokes of a pixel or two
        assert stroke_width(ink) == pytest.approx(pen, rel=0.1)
        assert ink[100, 100] == 1.0  # solid on the centre line


def test_edges_are_anti_aliased_and_ink_stays_in_0_1():
    ink = render([[(20.3, 30.7), (170.2, 140.9)]], (200, 200), 9.0)
    assert ink.dtype == np.float32 and ink.min() == 0.0 and ink.max() == 1.0
    assert ((ink > 0) & (ink < 1)).sum() > 200  # a soft edge all along the stroke


def test_a_tap_is_a_round_dot():
    ink = render([[(50.0, 50.0)]], (100, 100), 20.0)
    assert ink.sum() == pytest.approx(np.pi * 100, rel=0.02)
    top, bottom, left, right = bbox(ink >= 0.5)
    assert (bottom - top + 1, right - left + 1) == (20, 20)


def test_ink_off_the_canvas_is_cut_off_and_an_empty_drawing_is_blank():
    ink = render([[(-50.0, 10.0), (150.0, 10.0)]], (20, 100), 4.0)
    assert ink[10].min() == 1.0 and ink[:5].max() < 1.0 and ink[16:].max() == 0.0
    assert render([], (10, 10), 3.0).max() == 0.0


def test_a_pen_must_have_a_width():
    with pytest.raises(ValueError, match="wider than 0"):
        render([[(0, 0), (5, 5)]], (10, 10), 0.0)


# ------------------------------------------------------------------------------------------------
# smoothing, as the page draws


def test_smoothing_follows_the_pages_quadratic_curves():
    points = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [20.0, 10.0]])
    curve = smooth(points)
    np.testing.assert_array_equal(curve[0], points[0])
    np.testing.assert_array_equal(curve[-1], points[-1])
    for mid in ((points[1] + points[2]) / 2,):  # every curve passes through a midpoint
        assert np.hypot(*(curve - mid).T).min() < 1e-9
    assert np.hypot(*(curve - points[1]).T).min() > 2  # and cuts the corner it controls
    two = np.array([[0.0, 0.0], [5.0, 5.0]])
    np.testing.assert_array_equal(smooth(two), two)  # a line stays a line


# ------------------------------------------------------------------------------------------------
# placing a digit on a canvas


SEVEN = [[(0.2, 0.1), (0.8, 0.1), (0.4, 0.9)]]


@pytest.mark.parametrize(("size", "pen"), [(0.25, 2.0), (0.6, 12.0), (0.95, 40.0)])
def test_a_placed_digit_has_the_chosen_size(size, pen):
    ink = render(place_strokes(SEVEN, 280, size, pen), (280, 280), pen, smoothing=False)
    top, bottom, left, right = bbox(ink >= 0.5)
    assert max(bottom - top, right - left) + 1 == pytest.approx(size * 280, abs=2)


@pytest.mark.parametrize("where", [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
def test_a_placed_digit_can_touch_any_edge_but_never_leaves_the_canvas(where):
    placed = place_strokes(SEVEN, 280, 0.5, 8.0, where=where)
    ink = render(placed, (280, 280), 8.0, smoothing=False)
    top, bottom, left, right = bbox(ink > 0)
    assert (left if where[0] == 0 else 279 - right) <= 1
    assert (top if where[1] == 0 else 279 - bottom) <= 1


def test_positive_slant_leans_the_digit_right():
    def lean(slant: float) -> float:
        placed = place_strokes([[(0.5, 0.0), (0.5, 1.0)]], 280, 0.8, 10.0, slant=slant)
        (x_top, _), (x_bottom, _) = placed[0]
        return x_top - x_bottom

    assert lean(20.0) > 50 and lean(-20.0) < -50 and abs(lean(0.0)) < 1e-9


# ------------------------------------------------------------------------------------------------
# the page's export


@pytest.mark.parametrize(("background", "paper", "ink"), [
    ("transparent", (0, 0, 0, 0), (0, 0, 0, 255)),  # what a browser canvas exports
    ("white", (255, 255, 255, 255), (0, 0, 0, 255)),
    ("black", (0, 0, 0, 255), (255, 255, 255, 255)),
])
def test_exported_png_has_the_chosen_background_and_solid_ink(background, paper, ink):
    data = canvas_png(SEVEN, 350, "thick", background)
    rgba = np.asarray(Image.open(io.BytesIO(data)))
    assert Image.open(io.BytesIO(data)).size == (350, 350) and rgba.shape == (350, 350, 4)
    assert tuple(rgba[0, 0]) == paper
    assert (rgba.reshape(-1, 4) == ink).all(axis=1).sum() > 3000
    assert len(np.unique(rgba[..., 3 if background == "transparent" else 0])) > 10  # soft edges


def test_to_png_refuses_an_unknown_background():
    with pytest.raises(ValueError, match="background"):
        to_png(np.zeros((4, 4)), "green")


def test_the_pens_are_the_pages_pens():
    script = (REPO / "static" / "drawing.js").read_text()
    table = re.search(r"const PEN_WIDTHS = \{([^}]*)\}", script).group(1)
    page = {name: float(value) for name, value in re.findall(r"(\w+): ([\d.]+)", table)}
    assert page == PENS


@pytest.mark.parametrize("side", [1.0, 280.0, 2048.0])
def test_placing_works_in_any_canvas_unit(side):
    placed = place_strokes(SEVEN, side, 0.9, 0.05 * side, where=(1.0, 1.0))[0] / side
    np.testing.assert_allclose(placed.max(axis=0), [0.975, 0.975])  # the pen's edge on the edge
    assert placed.min() > 0
