"""digits.preprocess: a drawing, whatever its canvas, pen, place and background, becomes MNIST's
28x28.

Drawings are made with digits.canvas (conftest.draw): round-pen strokes, anti-aliased, encoded as
real PNG files in every mode Pillow writes. Tolerances: the same coverage stored with another
colour or mode differs by 8-bit rounding (< 1/200 per pixel), which can move one pixel of the 80-px
skeleton (a quarter of an output pixel), hence "mean < 0.01, max < 0.2" for the same drawing and
looser bounds where the drawing itself is redrawn differently.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from conftest import FOUR, ONE, SEVEN, SHAPES, SIX, ZERO, _t, draw, encode, png
from digits.canvas import render
from digits.drawing import MAX_SIDE, BlankDrawingError, load_drawing
from digits.preprocess import (
    BOX_SIDE,
    CENTRE,
    STROKE_WIDTH,
    WORK,
    _centre,
    _centre_reference,
    _draw,
    _draw_reference,
    preprocess,
    preprocess_strokes,
    to_mnist,
    to_mnist_steps,
)
from digits.strokes import stroke_width
from nn.data import load_mnist


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    r = np.arange(x.shape[0])
    c = np.arange(x.shape[1])
    return float(x.sum(axis=1) @ r / x.sum()), float(x.sum(axis=0) @ c / x.sum())


def bbox_size(x: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero((x >= 0.5).any(axis=1)), np.flatnonzero((x >= 0.5).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def assert_same_digit(a: np.ndarray, b: np.ndarray, mean: float = 0.01, worst: float = 0.2):
    diff = np.abs(a - b)
    assert diff.mean() < mean and diff.max() < worst, (diff.mean(), diff.max())


# ------------------------------------------------------------------------------------------------
# the output contract


def test_output_is_float32_28x28_in_0_1_with_full_ink():
    x = preprocess(png(draw(SEVEN), transparent=True))
    assert x.dtype == np.float32 and x.shape == (28, 28)
    assert x.min() >= 0.0 and x.max() == pytest.approx(1.0, abs=0.01)


def test_steps_end_with_exactly_what_to_mnist_returns():
    ink = load_drawing(png(draw(FOUR), transparent=True))
    steps = to_mnist_steps(ink)
    assert list(steps) == ["ink", "crop", "work", "skeleton", "thickness", "scaled", "mnist"]
    np.testing.assert_array_equal(steps["mnist"], to_mnist(ink))
    assert max(steps["scaled"].shape) == BOX_SIDE


# ------------------------------------------------------------------------------------------------
# position, size, aspect, centre


@pytest.mark.parametrize(("canvas", "left", "top"),
                         [(280, 0, 0), (280, 80, 80), (400, 400 - 200, 0), (MAX_SIDE, 1848, 1848)])
def test_where_the_same_strokes_sit_on_the_canvas_does_not_matter(canvas, left, top):
    cov = draw(SEVEN)[40:240, 60:260]  # the 200x200 box the digit was drawn in
    moved = np.zeros((canvas, canvas), np.float32)
    moved[top:top + 200, left:left + 200] = cov
    assert_same_digit(to_mnist(moved), to_mnist(draw(SEVEN)), mean=1e-6, worst=1e-5)


@pytest.mark.parametrize(("height", "width"), [(500, 280), (280, 500), (210, 2048)])
def test_a_canvas_that_is_not_square_works_the_same(height, width):
    wide = np.zeros((height, width), np.float32)
    wide[5:205, width - 210:width - 10] = draw(SEVEN)[40:240, 60:260]  # the 200x200 digit
    data = png(wide, transparent=True)
    assert Image.open(io.BytesIO(data)).size == (width, height)
    assert_same_digit(preprocess(data), to_mnist(draw(SEVEN)), mean=1e-6, worst=1e-5)


@pytest.mark.parametrize("box", [(2, 2, 90), (190, 5, 85), (10, 150, 125), (5, 5, 270)])
def test_size_and_position_of_a_redrawn_digit_do_not_matter(box):
    pen = box[2] / 200 * 12  # the same pen relative to the digit; the pen is tested below
    assert_same_digit(to_mnist(draw(ZERO, box=box, pen=pen)), to_mnist(draw(ZERO)),
                      mean=0.03, worst=0.5)


@pytest.mark.parametrize("name", ["seven", "four", "zero"])
@pytest.mark.parametrize(("canvas", "box", "pen", "worst"), [
    (MAX_SIDE, (100, 100, 1800), 2.0, 0.6),  # a hairline across a huge canvas
    (MAX_SIDE, (100, 100, 1800), 87.0, 0.6),  # the same pen as 12 px on 280, scaled up
    (MAX_SIDE, (1000, 1000, 500), 2.0, 0.6),
    (64, (5, 5, 50), 2.0, 0.7),  # a thumbnail: the whole digit in 50 px, a coarse outline
])
def test_canvas_resolution_does_not_matter(name, canvas, box, pen, worst):
    x = to_mnist(draw(SHAPES[name], canvas=canvas, box=box, pen=pen))
    assert_same_digit(x, to_mnist(draw(SHAPES[name])), mean=0.03, worst=worst)
    assert x.sum() == pytest.approx(to_mnist(draw(SHAPES[name])).sum(), rel=0.05)


@pytest.mark.parametrize("name", list(SHAPES))
def test_longer_side_becomes_20_pixels(name):
    assert max(bbox_size(to_mnist(draw(SHAPES[name])))) in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1)


def test_a_tall_thin_one_stays_tall_and_thin():
    height, width = bbox_size(to_mnist(draw(ONE)))
    assert height in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1) and width <= 4


def test_aspect_ratio_is_kept_for_a_wide_digit():
    flat_zero = [[(x, 0.3 + 0.4 * (y - 0.05) / 0.9) for x, y in ZERO[0]]]  # 0.64 wide, 0.4 tall
    height, width = bbox_size(to_mnist(draw(flat_zero)))
    assert width in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1)
    assert height / width == pytest.approx((0.4 * 200 + 12) / (0.64 * 200 + 12), abs=0.1)


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("box", [(3, 3, 60), (150, 100, 120), (40, 40, 230)])
def test_centre_of_mass_lands_on_mnist_centre(name, box):
    cy, cx = centre_of_mass(to_mnist(draw(SHAPES[name], box=box)))
    assert abs(cy - CENTRE) < 0.1 and abs(cx - CENTRE) < 0.1


@pytest.mark.parametrize("seed", range(4))
def test_centring_kernel_gives_its_numpy_twins_float32_values(seed):
    """_centre sums each output pixel's few source pixels in loops, _centre_reference multiplies
    whole matrices: float64 sums in another order, the same float32 28x28, bit for bit."""
    rng = np.random.default_rng(seed)
    for _ in range(25):
        points = np.cumsum(rng.normal(0, 3, (int(rng.integers(2, 40)), 2)), axis=0)
        points = 7 + 70 * (points - points.min(axis=0)) / max(np.ptp(points, axis=0).max(), 1e-9)
        ink = render([points], (84, 84), rng.uniform(2, 14), smoothing=False)
        rows, cols = np.flatnonzero(ink.max(axis=1) >= 0.5), np.flatnonzero(ink.max(axis=0) >= 0.5)
        thick = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # a view, as strokes_to_mnist's
        scale = BOX_SIDE / max(thick.shape)
        np.testing.assert_array_equal(_centre(thick, scale), _centre_reference(thick, scale))
    wide = rng.uniform(0, 1, (7, 300)).astype(np.float32)  # any shape, any scale
    np.testing.assert_allclose(_centre(wide, 0.07), _centre_reference(wide, 0.07), atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_stroke_drawing_kernel_gives_its_numpy_twins_pixels(seed):
    """_draw places, draws, crops and centres strokes in one compiled pass; _draw_reference does
    it with digits.canvas.render and NumPy: the same float32 28x28, bit for bit, dots and all."""
    rng = np.random.default_rng(seed)
    width = WORK * STROKE_WIDTH / BOX_SIDE  # MNIST's pen at the work scale
    for _ in range(25):
        lines = [np.cumsum(rng.normal(0, rng.uniform(0.1, 3), (int(rng.integers(1, 40)), 2)),
                           axis=0) + rng.uniform(-5, 5, 2) for _ in range(int(rng.integers(1, 4)))]
        points = np.concatenate(lines)
        low, extent = points.min(axis=0), float(np.ptp(points, axis=0).max())
        if extent == 0:
            continue
        ends = np.cumsum([len(line) for line in lines])
        scale = (WORK - width) / extent
        np.testing.assert_array_equal(_draw(points, ends, low, scale, width),
                                      _draw_reference(points, ends, low, scale, width))


# ------------------------------------------------------------------------------------------------
# pen width


@pytest.mark.parametrize("name", ["seven", "four", "zero"])
@pytest.mark.parametrize("pen", [3, 8, 24])  # up to a tenth of the digit's size
def test_thin_and_thick_pens_give_the_same_strokes(name, pen):
    medium = to_mnist(draw(SHAPES[name], pen=16))
    x = to_mnist(draw(SHAPES[name], pen=pen))
    assert x.sum() == pytest.approx(medium.sum(), rel=0.1)
    assert stroke_width(x) == pytest.approx(stroke_width(medium), rel=0.1)
    assert_same_digit(x, medium, mean=0.05, worst=0.8)


@pytest.mark.parametrize("name", ["seven", "four", "zero"])
@pytest.mark.parametrize("pen", [40, 60])  # a sixth and a fifth of the digit's size
def test_a_pen_bolder_than_mnists_is_kept_as_drawn(name, pen):
    # MNIST's pen is about 0.13 of its digits' size: a pen as bold or bolder needs no redrawing,
    # which could only lose what it filled in (on real writers' digits drawn with a pen a fifth
    # of their size, kept: 98.7% read, thinned and redrawn: 97.6%).
    ink = draw(SHAPES[name], pen=pen)
    x = to_mnist(ink)
    assert_same_digit(x, to_mnist(ink, normalise_pen=False), mean=1e-6, worst=1e-5)
    assert stroke_width(x) > stroke_width(to_mnist(draw(SHAPES[name], pen=16))) + 0.5  # bolder


def test_a_loop_filled_in_by_a_thick_pen_stays_filled_and_an_open_one_stays_open():
    six = [[(0.65, 0.05), (0.4, 0.3), (0.3, 0.6), (0.35, 0.8)],
           list(zip(0.47 + 0.12 * np.cos(_t), 0.8 + 0.12 * np.sin(_t), strict=True))]
    def holes(x: np.ndarray) -> int:  # background regions besides the outside
        return ndimage.label(x < 0.5)[1] - 1

    assert holes(draw(six, pen=50)) == 0 and holes(draw(six, pen=10)) == 1  # as drawn
    filled = to_mnist(draw(six, pen=50))
    assert holes(filled) == 0  # a blot, not thinned back to a ring
    assert holes(to_mnist(draw(six, pen=10))) == 1


def test_a_stray_dot_away_from_the_digit_is_ignored():
    clean = draw(SEVEN, box=(60, 60, 150))
    dotted = np.maximum(clean, draw([[(0.5, 0.5), (0.5, 0.5)]], box=(240, 250, 1), pen=8))
    assert_same_digit(to_mnist(dotted), to_mnist(clean), mean=1e-6, worst=1e-5)


# ------------------------------------------------------------------------------------------------
# blank drawings


def speck_png() -> bytes:
    return png(draw([[(0.5, 0.5), (0.5, 0.5)]], box=(100, 100, 1), pen=3), transparent=True)


BLANKS = {
    "transparent": lambda: encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0))),
    "transparent_white": lambda: encode(Image.new("RGBA", (280, 280), (255, 255, 255, 0))),
    "all_white": lambda: encode(Image.new("RGB", (280, 280), "white")),
    "all_black": lambda: encode(Image.new("L", (280, 280), 0)),
    "speck": speck_png,
    "tap_with_a_thick_pen": lambda: png(draw([[(0.5, 0.5), (0.5, 0.5)]], box=(100, 100, 1),
                                             pen=25), transparent=True),
    "short_thick_dash": lambda: png(draw([[(0.0, 0.5), (1.0, 0.5)]], box=(100, 100, 20),
                                         pen=25), transparent=True),
    "paper_noise": lambda: encode(Image.fromarray(
        (250 + np.random.default_rng(0).integers(-4, 5, (280, 280))).astype(np.uint8))),
}


@pytest.mark.parametrize("name", list(BLANKS))
def test_blank_or_nearly_blank_drawing_is_refused(name):
    with pytest.raises(BlankDrawingError, match=": draw a digit first"):
        preprocess(BLANKS[name]())


def _narrow_eight(half_width: float) -> list:
    t = np.linspace(0, 2 * np.pi, 40)
    return [list(zip(0.5 + half_width * np.sin(t), 0.27 - 0.22 * np.cos(t), strict=True)),
            list(zip(0.5 + (half_width + 0.04) * np.sin(t), 0.73 + 0.25 * np.cos(t), strict=True))]


@pytest.mark.parametrize("half_width, side, pen", [(0.1, 75, 25), (0.15, 70, 30), (0.15, 60, 30)])
def test_a_narrow_eight_drawn_small_with_a_thick_pen_is_a_digit_not_a_blot(half_width, side, pen):
    # Its loops fill in, and cropped to its ink it touches every edge: measured without the
    # outline along those edges its pen looked over half its size, and it was refused.
    x = preprocess(png(draw(_narrow_eight(half_width), box=(90, 90, side), pen=pen),
                       transparent=True))
    assert max(bbox_size(x)) in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1)


# ------------------------------------------------------------------------------------------------
# bad arrays


def test_to_mnist_rejects_arrays_that_are_not_ink_maps():
    with pytest.raises(ValueError, match="2-D"):
        to_mnist(np.zeros((28, 28, 3), np.float32))
    with pytest.raises(ValueError, match="finite"):
        to_mnist(np.full((28, 28), np.nan, np.float32))


# ------------------------------------------------------------------------------------------------
# any valid drawing: a digit or a refusal that says why, never a crash


@pytest.mark.parametrize("canvas, pen, vertical", [
    (280, 3, False), (280, 3, True), (560, 8, False), (560, 8, True), (2048, 24, False),
    (2048, 24, True),
])
def test_a_thin_long_straight_stroke_is_read(canvas, pen, vertical):
    # Cropped to its ink and shrunk to 80 px, the stroke is a single row or column of pixels.
    length = 250 * canvas / 280
    line = [[(0.05 * canvas, canvas / 2), (0.05 * canvas + length, canvas / 2)]]
    if vertical:
        line = [[(y, x) for x, y in line[0]]]
    x = preprocess(png(render(line, (canvas, canvas), pen, smoothing=False), transparent=True))
    assert max(bbox_size(x)) in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1)
    assert min(bbox_size(x)) <= 4  # still a line, drawn with MNIST's pen


@pytest.mark.parametrize("size", [(1, 1), (1, 2048), (2048, 1), (2, 2), (3, 300), (300, 3)])
def test_a_canvas_one_or_a_few_pixels_wide_is_read_or_refused_as_blank(size):
    ink = np.zeros(size, np.float32)
    ink[size[0] // 3:, size[1] // 3:] = 1.0  # ink touching two edges
    try:
        x = preprocess(png(ink, transparent=True))
    except BlankDrawingError:
        return
    assert x.shape == (28, 28) and np.isfinite(x).all()


def random_drawing(rng: np.random.Generator) -> bytes:
    """A PNG of a few random strokes: any canvas shape, pen, length, place and background."""
    height, width = rng.integers(1, 400, 2)
    strokes = [rng.uniform(-0.2, 1.2, (rng.integers(1, 8), 2)) * (width, height)
               for _ in range(rng.integers(1, 4))]
    pen = float(rng.choice([0.5, 1, 2, 3, 8, 25, 60]))
    ink = render(strokes, (int(height), int(width)), pen, smoothing=bool(rng.integers(2)))
    return png(ink, transparent=bool(rng.integers(2)), paper=(255, 255, 255))


def test_any_valid_png_gives_a_digit_or_a_blank_refusal():
    rng = np.random.default_rng(12)
    read = 0
    for _ in range(300):
        try:
            x = preprocess(random_drawing(rng))
        except BlankDrawingError:
            continue
        assert x.shape == (28, 28) and np.isfinite(x).all() and x.max() > 0.5
        read += 1
    assert read > 150  # most random scribbles are read as something


def test_any_valid_strokes_give_a_digit_or_a_blank_refusal():
    rng = np.random.default_rng(13)
    for _ in range(300):
        scale = float(rng.choice([1e-3, 1, 280, 1e4]))
        strokes = [(rng.uniform(0, 1, (rng.integers(1, 30), 2)) * scale).tolist()
                   for _ in range(rng.integers(1, 6))]
        if rng.integers(2):  # one stroke collapsed onto a line or a point
            strokes[0] = [[strokes[0][0][0], y] for _, y in strokes[0]]
        try:
            x = preprocess_strokes(strokes, float(rng.choice([0.01, 1, 15])) * scale)
        except BlankDrawingError:
            continue
        assert x.shape == (28, 28) and np.isfinite(x).all() and x.max() > 0.5


# ------------------------------------------------------------------------------------------------
# against real MNIST


def mnist_test_digits(folder, n: int) -> np.ndarray:
    images, _ = load_mnist(folder, "test")
    return images[:n].astype(np.float32) / 255.0


@pytest.mark.slow
def test_an_mnist_digit_drawn_ten_times_bigger_comes_back_as_itself(mnist_dir):
    digits = mnist_test_digits(mnist_dir, 200)
    bilinear = Image.Resampling.BILINEAR  # soft edges, like an anti-aliased drawing
    out = np.stack([to_mnist(np.asarray(Image.fromarray(d).resize((280, 280), bilinear)))
                    for d in digits])
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(out, digits, strict=True)]
    assert np.median(corr) > 0.85  # shifting an MNIST digit by one pixel gives 0.78
    # The pen is normalised to MNIST's typical width (the training median, STROKE_WIDTH's
    # comment), not to each digit's own, so medians are compared, not single digits.
    assert np.median([stroke_width(x) for x in out]) == pytest.approx(2.75, rel=0.1)
    assert np.median(out.sum(axis=(1, 2))) == pytest.approx(100.3, rel=0.15)  # training median


@pytest.mark.slow
def test_mnist_itself_has_its_centre_of_mass_at_centre(mnist_dir):
    coms = np.array([centre_of_mass(x) for x in mnist_test_digits(mnist_dir, 2000)])
    assert np.abs(coms.mean(axis=0) - CENTRE).max() < 0.05


@pytest.mark.parametrize("pen", [16.8, 28.0])  # the page's medium and thick pens, 6% and 10%
def test_a_six_with_a_short_stem_keeps_its_stem_with_a_thick_pen(pen):
    thin_pen = to_mnist(draw(SIX, box=(0, 0, 280), pen=8.4))  # the page's thin pen, 3%
    thick = to_mnist(draw(SIX, box=(0, 0, 280), pen=pen))
    assert_same_digit(thick, thin_pen, mean=0.03, worst=0.8)  # Zhang-Suen thinning: mean 0.18
    top_right = thick[:9, 14:]  # where the stem starts: above the loop, right of centre
    assert (top_right >= 0.5).sum() >= 11  # thin pen 14 pixels, Zhang-Suen thinning 7


# ------------------------------------------------------------------------------------------------
# strokes: the page's form


def as_strokes(shape, side: float = 200.0, left: float = 60.0, top: float = 40.0):
    """A unit-square shape as the page would send it: lists of [x, y] in canvas pixels."""
    return [[[left + x * side, top + y * side] for x, y in stroke] for stroke in shape]


@pytest.mark.parametrize("name", list(SHAPES))
def test_strokes_give_what_the_png_of_the_same_strokes_gives(name):
    from_strokes = preprocess_strokes(as_strokes(SHAPES[name]))
    from_png = to_mnist(draw(SHAPES[name], pen=12))
    assert_same_digit(from_strokes, from_png, mean=0.02, worst=0.5)


@pytest.mark.parametrize("name", list(SHAPES))
def test_strokes_in_any_unit_and_place_give_the_same_digit(name):
    pixels = preprocess_strokes(as_strokes(SHAPES[name]))
    tablet = preprocess_strokes(as_strokes(SHAPES[name], side=15_000, left=-4_000, top=90_000))
    np.testing.assert_allclose(tablet, pixels, atol=1e-5)
    assert max(bbox_size(pixels)) in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1)
    cy, cx = centre_of_mass(pixels)
    assert abs(cy - CENTRE) < 0.1 and abs(cx - CENTRE) < 0.1


def test_a_stray_tap_beside_the_strokes_is_ignored():
    clean = preprocess_strokes(as_strokes(SEVEN))
    tapped = preprocess_strokes(as_strokes(SEVEN) + [[[270.0, 275.0]]])
    assert_same_digit(tapped, clean, mean=1e-6, worst=1e-5)


def test_the_stray_check_of_many_points_needs_little_memory():
    # Two strokes of 10,000 points, one of them small: measured point against segment, that
    # was a (10000, 10000, 2) array, 4.8 GB and 29 s.
    import tracemalloc

    rng = np.random.default_rng(0)
    tap = (1000 + rng.uniform(0, 5, (10_000, 2))).tolist()
    line = [[i * 0.1, 0.0] for i in range(10_000)]
    tracemalloc.start()
    try:
        x = preprocess_strokes([line, tap])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6
    assert_same_digit(x, preprocess_strokes([line]), mean=1e-6, worst=1e-5)  # the tap is a stray


@pytest.mark.parametrize("strokes, pen", [
    ([[[10, 10]]], None),  # a tap
    ([[[10, 10], [10, 10], [10, 10]]], None),  # a press that did not move
    ([[[10, 10], [13, 12]]], 15.0),  # a tap that slid a little, with the page's medium pen
])
def test_a_tap_is_a_blank_drawing(strokes, pen):
    with pytest.raises(BlankDrawingError, match="draw a digit first"):
        preprocess_strokes(strokes, pen)


def test_a_short_stroke_without_a_pen_is_read_as_a_stroke():
    x = preprocess_strokes([[[10, 10], [10, 13]]])  # no pen given: the shape is all we know
    assert max(bbox_size(x)) in (BOX_SIDE - 1, BOX_SIDE, BOX_SIDE + 1)
