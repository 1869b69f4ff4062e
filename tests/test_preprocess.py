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
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from conftest import FOUR, ONE, SEVEN, SHAPES, SIX, ZERO, _t, draw, encode, png
from digits.preprocess import (
    BOX_SIDE,
    CENTRE,
    MAX_SIDE,
    BlankDrawingError,
    ImageError,
    ImageTooLargeError,
    load_drawing,
    preprocess,
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
# background and polarity


def test_transparent_canvas_export_reads_ink_from_alpha_not_colour():
    cov = draw(SEVEN)
    ink = load_drawing(png(cov, ink=(0, 0, 0), transparent=True))  # all pixels are black in RGB
    np.testing.assert_allclose(ink, cov, atol=1 / 255)  # naive convert("L") would give all 0
    assert preprocess(png(cov, transparent=True)).sum() > 40


STYLES = {
    "black_on_white": dict(ink=(0, 0, 0), paper=(255, 255, 255)),
    "white_on_black": dict(ink=(255, 255, 255), paper=(0, 0, 0)),
    "white_on_transparent": dict(ink=(255, 255, 255), transparent=True),
    "red_on_white": dict(ink=(220, 30, 30), paper=(255, 255, 255)),
    "faint_grey_on_white": dict(ink=(150, 150, 150), paper=(255, 255, 255)),
    "blue_on_yellow": dict(ink=(20, 40, 200), paper=(250, 230, 80)),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_every_polarity_and_colour_gives_the_canvas_export_result(style):
    cov = draw(FOUR)
    reference = preprocess(png(cov, transparent=True))  # black on transparent: our page
    assert_same_digit(preprocess(png(cov, **STYLES[style])), reference)


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


# ------------------------------------------------------------------------------------------------
# pen width


@pytest.mark.parametrize("name", ["seven", "four", "zero"])
@pytest.mark.parametrize("pen", [3, 8, 30])
def test_thin_and_thick_pens_give_the_same_strokes(name, pen):
    medium = to_mnist(draw(SHAPES[name], pen=16))
    x = to_mnist(draw(SHAPES[name], pen=pen))
    assert x.sum() == pytest.approx(medium.sum(), rel=0.1)
    assert stroke_width(x) == pytest.approx(stroke_width(medium), rel=0.1)
    assert_same_digit(x, medium, mean=0.05, worst=0.8)


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


# ------------------------------------------------------------------------------------------------
# bad input


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming width x height (8-bit RGBA), then IEND: no pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, format="JPEG")
    return buf.getvalue()


def truncated_png() -> bytes:
    data = png(draw(SEVEN), transparent=True)
    return data[: len(data) // 2]


BAD = {
    "empty": lambda: b"",
    "text": lambda: b"hello, this is not an image",
    "jpeg": jpeg_bytes,
    "truncated": truncated_png,
    "signature_only": lambda: b"\x89PNG\r\n\x1a\n",
    "header_without_pixels": lambda: png_header(280, 280),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bytes_that_are_not_a_whole_png_give_an_image_error_that_says_png(name):
    with pytest.raises(ImageError, match="PNG") as caught:
        preprocess(BAD[name]())
    assert not isinstance(caught.value, ImageTooLargeError)


def test_a_jpeg_is_named_as_a_jpeg():
    with pytest.raises(ImageError, match="JPEG"):
        load_drawing(jpeg_bytes())


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (MAX_SIDE + 1, 10),
                                               (10, 3000), (2**31 - 1, 2**31 - 1)])
def test_oversized_png_is_refused_from_its_header_without_allocating_it(width, height):
    data = png_header(width, height)
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLargeError, match=f"{width}x{height}"):
            load_drawing(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # bytes: nothing the size of the image was allocated


def test_a_real_3000x3000_png_is_too_large():
    with pytest.raises(ImageTooLargeError, match="2048"):
        load_drawing(encode(Image.new("L", (3000, 3000), 255)))


def test_to_mnist_rejects_arrays_that_are_not_ink_maps():
    with pytest.raises(ValueError, match="2-D"):
        to_mnist(np.zeros((28, 28, 3), np.float32))
    with pytest.raises(ValueError, match="finite"):
        to_mnist(np.full((28, 28), np.nan, np.float32))
    with pytest.raises(TypeError, match="PNG bytes"):
        load_drawing("a file name.png")


# ------------------------------------------------------------------------------------------------
# every PNG mode


def mode_png(cov: np.ndarray, mode: str) -> bytes:
    """The same black-on-white (or black-on-transparent) drawing saved in PNG mode `mode`."""
    grey = np.round(255 * (1 - cov)).astype(np.uint8)  # black ink on white
    alpha = np.round(255 * cov).astype(np.uint8)
    if mode == "RGB":
        img = Image.fromarray(np.stack([grey] * 3, axis=2), "RGB")
    elif mode == "L":
        img = Image.fromarray(grey, "L")
    elif mode == "LA":
        img = Image.fromarray(np.stack([np.zeros_like(grey), alpha], axis=2), "LA")
    elif mode == "1":
        img = Image.fromarray(cov >= 0.5)
    elif mode == "I;16":  # 16-bit grey
        img = Image.fromarray(grey.astype(np.uint16) * 257)
    elif mode == "P":  # a 256-grey palette, opaque
        img = Image.fromarray(grey, "L").convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    elif mode == "P_transparency":  # a black palette whose entries carry alpha (tRNS)
        img = Image.fromarray(alpha, "P")
        img.putpalette([0, 0, 0] * 256)
        img.info["transparency"] = bytes(range(256))
    elif mode == "RGB_transparency":  # white marked transparent by a tRNS colour
        img = Image.fromarray(np.stack([grey] * 3, axis=2), "RGB")
        img.info["transparency"] = (255, 255, 255)
    else:
        raise AssertionError(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=img.info.get("transparency"))
    return buf.getvalue()


MODES = {  # mode written -> (mode Pillow reads back, tolerance mean, max)
    "RGB": ("RGB", 0.01, 0.2), "L": ("L", 0.01, 0.2), "LA": ("LA", 0.01, 0.2),
    "I;16": ("I;16", 0.01, 0.2), "P": ("P", 0.01, 0.2),
    "P_transparency": ("P", 0.01, 0.2), "RGB_transparency": ("RGB", 0.01, 0.2),
    "1": ("1", 0.04, 0.6),  # no anti-aliasing left: the outline moves by up to half a pixel
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_png_mode_reads_as_the_same_drawing(mode):
    cov = draw(SEVEN)
    data = mode_png(cov, mode)
    read_back, mean, worst = MODES[mode]
    assert Image.open(io.BytesIO(data)).mode == read_back  # the file really is in that mode
    assert_same_digit(preprocess(data), preprocess(png(cov, transparent=True)), mean, worst)


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
