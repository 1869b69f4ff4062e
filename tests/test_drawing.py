"""digits.drawing: a PNG of any mode, polarity and colour reads as the same ink, strokes are checked
point by point, and whatever cannot be read is refused with a sentence (and, for PNGs too large,
before a pixel is decoded)."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import FOUR, SEVEN, draw, encode, png
from digits.canvas import canvas_png
from digits.drawing import (
    MAX_CHUNKS,
    MAX_COORDINATE,
    MAX_LENGTH,
    MAX_POINTS,
    MAX_SIDE,
    MAX_STROKES,
    PNG_SIGNATURE,
    BlankDrawingError,
    DrawingError,
    DrawingTooLargeError,
    ImageError,
    ImageTooLargeError,
    load_drawing,
    load_pen,
    load_strokes,
)
from digits.preprocess import preprocess


def assert_same_digit(a: np.ndarray, b: np.ndarray, mean: float = 0.01, worst: float = 0.2):
    diff = np.abs(a - b)
    assert diff.mean() < mean and diff.max() < worst, (diff.mean(), diff.max())


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
# PNGs that cannot be read


def chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (type, data), in order."""
    found, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        found.append((data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]))
        offset += 12 + length
    return found


def rechunked(data: bytes, idat_size: int, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """The same PNG with its pixels split into IDAT chunks of `idat_size` bytes, and `extra`
    chunks put after the header: a PNG as other encoders (or an attacker) write it."""
    parts = chunks(data)
    pixels = b"".join(body for kind, body in parts if kind == b"IDAT")
    return (PNG_SIGNATURE + chunk(*parts[0]) + b"".join(chunk(*c) for c in extra)
            + b"".join(chunk(b"IDAT", pixels[i:i + idat_size])
                       for i in range(0, len(pixels), idat_size))
            + chunk(b"IEND", b""))


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming width x height (8-bit RGBA), then IEND: no pixels."""
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


def test_a_png_padded_with_many_empty_chunks_is_refused_before_decoding():
    # The case: 115,000 empty ancillary chunks (1.8 MB) cost Pillow 0.25 s to open.
    data = canvas_png(SEVEN)  # 3.7 kB
    padded = rechunked(data, 1 << 20, [(b"zzZz", b"")] * 115_000)
    with pytest.raises(ImageTooLargeError, match="chunks"):
        load_drawing(padded)
    with pytest.raises(ImageTooLargeError, match="chunks"):
        load_drawing(rechunked(data, 1, []))  # its pixels a byte a chunk


def test_a_png_in_many_small_chunks_with_some_text_reads_as_the_same_drawing():
    data = canvas_png(SEVEN)
    texts = [(b"tEXt", b"Software\x00an editor"), (b"tIME", bytes(7))] * 10
    other = rechunked(data, len(data) // 600, texts)
    assert 600 < len(chunks(other)) <= MAX_CHUNKS
    np.testing.assert_array_equal(load_drawing(other), load_drawing(data))


def test_a_png_cut_inside_a_chunk_is_truncated():
    data = png(draw(SEVEN), transparent=True)
    with pytest.raises(ImageError, match="truncated"):
        load_drawing(data[:-20])


def test_a_real_3000x3000_png_is_too_large():
    with pytest.raises(ImageTooLargeError, match="2048"):
        load_drawing(encode(Image.new("L", (3000, 3000), 255)))


def test_load_drawing_wants_bytes():
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
# strokes


def test_strokes_come_back_as_float_arrays_without_empty_strokes():
    arrays = load_strokes([[[0, 0], [10.5, 3]], [], [[7, 7]]])
    assert [a.shape for a in arrays] == [(2, 2), (1, 2)]
    assert all(a.dtype == np.float64 for a in arrays)


@pytest.mark.parametrize("strokes, message", [
    ({"x": 1}, "must be a list of strokes"),
    ([[0, 0]], "Stroke 0 has a point that is not"),
    ([[[0, 0]], "abc"], "Stroke 1 is not a list"),
    ([[[0, 0, 0]]], "not \\[x, y\\] with two numbers"),
    ([[[0, "1"]]], "two numbers"),
    ([[[True, 1]]], "two numbers"),
    ([[[0, None]]], "two numbers"),
    ([[[0, float("nan")]]], "not a finite number"),
    ([[[0, float("inf")]]], "not a finite number"),
    ([[[0, 2 * MAX_COORDINATE]]], "not a finite number between"),
], ids=["not-a-list", "flat", "stroke-not-a-list", "three-numbers", "string", "bool", "null",
        "nan", "inf", "huge"])
def test_malformed_strokes_are_refused_saying_where(strokes, message):
    with pytest.raises(DrawingError, match=message) as info:
        load_strokes(strokes)
    assert not isinstance(info.value, DrawingTooLargeError)


def test_too_many_strokes_or_points_are_too_large():
    with pytest.raises(DrawingTooLargeError, match=f"limit is {MAX_STROKES}"):
        load_strokes([[[0, 0]]] * (MAX_STROKES + 1))
    with pytest.raises(DrawingTooLargeError, match=f"limit is {MAX_POINTS}"):
        load_strokes([[[i, i] for i in range(MAX_POINTS + 1)]])


def test_a_scribble_far_longer_than_a_digit_is_too_large():
    zigzag = [[[(i % 2) * 100, i % 3] for i in range(2_000)]]  # 2000 strokes across, 100 wide
    with pytest.raises(DrawingTooLargeError, match=f"limit is {MAX_LENGTH}"):
        load_strokes(zigzag)
    load_strokes([zigzag[0][:MAX_LENGTH]])  # as long as allowed


@pytest.mark.parametrize("strokes", [[], [[]], [[], []]])
def test_no_points_at_all_is_a_blank_drawing(strokes):
    with pytest.raises(BlankDrawingError, match="draw a digit first"):
        load_strokes(strokes)


@pytest.mark.parametrize("pen", [0, -3, "thick", True, float("nan"), [2]])
def test_a_pen_that_is_not_a_positive_number_is_refused(pen):
    with pytest.raises(DrawingError, match='"pen" must be a positive number'):
        load_pen(pen)
    assert load_pen(None) is None and load_pen(12) == 12.0
