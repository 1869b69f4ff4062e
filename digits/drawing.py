"""A drawing as it arrives: PNG bytes or pen strokes, read into arrays, or refused with a reason.

Two forms reach the server, and both are read here before anything is computed from them:

- ``load_drawing(png_bytes)`` -> an *ink map*, float32 (H, W) in 0..1 where 1 is ink. Ink is how
  much a pixel stands out from the background, so black-on-white, white-on-black,
  black-on-transparent (what a browser canvas exports) and coloured ink all give the same map.
  The size and the chunk list are checked before a pixel is decoded (``check_png``, which a
  server can also call on its own, before the PNG waits for its turn).
- ``load_strokes(strokes)`` -> the pen-down traces as float64 arrays (P, 2) of (x, y), y down, in
  the sender's own units, after checking their number, their length and every coordinate.

The errors say, in a sentence for a person, what was wrong: ``DrawingError`` (HTTP 400, the
drawing cannot be read), ``DrawingTooLargeError`` (413, it is too big to read) and
``BlankDrawingError`` (422, nothing is drawn). ``ImageError`` and ``ImageTooLargeError`` are
their PNG cases. Turning either form into MNIST's 28x28 is digits.preprocess's job.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

MAX_SIDE = 2048  # the API takes canvas exports up to 2048x2048; larger is refused before decoding
# Blank drawings: paper noise in a scan is a few percent, the faintest pen we read (#d8d8d8 on
# white) differs by 15%; a drawing fainter than that is blank.
MIN_CONTRAST = 0.15
# Strokes. A person writes a digit in one to four strokes of a few hundred points (a pen sampled
# at 200 Hz for two seconds); these limits are ten times anything seen in UNIPEN's 15,000 digits.
MAX_STROKES = 64
MAX_POINTS = 20_000  # in all strokes together
MAX_COORDINATE = 1e6  # any unit is fine, but not one that overflows when squared
# The centre lines together are at most this many times as long as the drawing is wide: 2.5 for
# a median UNIPEN digit, 4.8 at its 99.9th percentile, 19.4 at most. Drawing costs time in
# proportion to the length of the lines, so this bounds it too: 20,000 points zigzagging
# corner to corner took a second to draw, a 100-long scribble takes a few milliseconds.
MAX_LENGTH = 100

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A PNG is a list of chunks, and the decoder spends time on each: a 1.8 MB file of 115,000
# empty ones took 0.25 s of CPU to open instead of 3 ms. Encoders write the pixels in chunks
# of 8-64 KB, so the largest PNG a request holds (1.5 MB) needs about 200; text, colour profile
# and other optional chunks number a handful in files from any editor we know.
MAX_CHUNKS = 1024
MAX_ANCILLARY = 64


class DrawingError(ValueError):
    """The drawing cannot be read: not a PNG, a damaged one, or malformed strokes (HTTP 400)."""


class DrawingTooLargeError(DrawingError):
    """The drawing is too big to read: too many pixels, strokes or points (HTTP 413)."""


class BlankDrawingError(ValueError):
    """Nothing, or almost nothing, is drawn (HTTP 422)."""


class ImageError(DrawingError):
    """The bytes are not a PNG image we can decode (HTTP 400)."""


class ImageTooLargeError(ImageError, DrawingTooLargeError):
    """Width or height over MAX_SIDE, or a decompression bomb (HTTP 413)."""


# ------------------------------------------------------------------------------------------------
# PNG bytes -> ink map


def check_png(data: bytes) -> tuple[int, int]:
    """A PNG's (width, height), read and checked before a pixel is decoded: the signature, the
    header, the chunk list (every chunk inside the file, at most MAX_CHUNKS of them and
    MAX_ANCILLARY optional ones: text, colour profiles, unknown kinds) and the size (at most
    MAX_SIDE x MAX_SIDE, not zero). Costs microseconds, so a server can refuse a PNG before it
    waits for its turn to decode one. Raises ImageError or ImageTooLargeError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a PNG is bytes, got {type(data).__name__}.")
    data = bytes(data)
    if len(data) < 24 or data[:8] != PNG_SIGNATURE:
        kind = "a JPEG" if data[:3] == b"\xff\xd8\xff" else "not a PNG"
        raise ImageError(f"The image is {kind}: send the drawing as a PNG (image/png).")
    if data[12:16] != b"IHDR":
        raise ImageError("The PNG is damaged (no IHDR header): export the drawing again.")
    width, height = struct.unpack(">II", data[16:24])
    offset, chunks, ancillary = 8, 0, 0
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        offset += 12 + length  # length, type, data, CRC
        chunks += 1
        ancillary += kind[0] >= ord("a")  # a lower-case first letter: a chunk a decoder may skip
        if kind == b"IEND":
            break
        if chunks > MAX_CHUNKS or ancillary > MAX_ANCILLARY:
            raise ImageTooLargeError(
                f"The PNG has more than {MAX_CHUNKS} chunks or {MAX_ANCILLARY} optional ones "
                "(text, colour profiles...); export the drawing again as a plain PNG.")
    if offset > len(data):  # a chunk (IEND included) runs past the end of the file
        raise ImageError("The PNG is truncated: export the drawing again.")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLargeError(
            f"The image is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}. "
            "Send a smaller canvas."
        )
    if width == 0 or height == 0:
        raise ImageError("The PNG has zero width or height: export the drawing again.")
    return width, height


def _decode(data: bytes) -> Image.Image:
    """Open and fully decode a PNG, refusing oversized ones before any pixel is allocated."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_drawing expects PNG bytes, got {type(data).__name__}.")
    data = bytes(data)
    check_png(data)
    try:
        img = Image.open(io.BytesIO(data), formats=["PNG"])
        img.load()
    except Image.DecompressionBombError as err:
        raise ImageTooLargeError(f"The PNG is too large to decode safely: {err}") from err
    except Exception as err:  # anything Pillow raises on untrusted bytes is a bad image, not a bug
        raise ImageError(
            f"The PNG could not be decoded ({err}); it may be truncated or damaged."
        ) from err
    return img


def _alpha(img: Image.Image) -> np.ndarray | None:
    """uint8 (H, W), how much of each pixel is painted; None when the file has no alpha.

    Only an alpha channel or a palette with alpha says that; an RGB or L file with one colour
    marked transparent (tRNS) is read as paper of that colour. ``getchannel`` copies one channel
    out in C: a quarter of the bytes of the whole RGBA image (which matters at 2048x2048).
    """
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return np.asarray(img.getchannel("A"))
    if img.mode == "P" and "transparency" in img.info:
        return np.asarray(img.convert("RGBA").getchannel("A"))
    return None


def _colour(img: Image.Image) -> tuple[np.ndarray, float]:
    """Integer colour, uint8 or uint16 (H, W, C) with C = 1 (grey) or 3 (RGB), and the value
    of full intensity (255 or 65535)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey PNG
        return np.asarray(img).astype(np.uint16)[:, :, None], 65535.0
    if img.mode in ("1", "L", "LA", "La"):
        return np.asarray(img.convert("L"))[:, :, None], 255.0
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB")), 255.0


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels on the four edges of a (H, W, ...) array, as (2H + 2W, ...)."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def load_drawing(data: bytes) -> np.ndarray:
    """Decode a PNG drawing into an ink map.

    Inputs:  data, the bytes of a PNG of at most MAX_SIDE x MAX_SIDE, any mode (RGBA, LA, P with
             transparency, RGB, L, I;16, 1).
    Returns: float32 (H, W) in 0..1, 1 = ink. The background is read off the border: where it is
             transparent, ink is the alpha channel; where it is opaque, ink is the largest
             per-channel difference from the border's median colour (so any polarity and any ink
             colour work). The strongest ink is scaled to 1.
    Raises:  ImageError (not a PNG, damaged), ImageTooLargeError (too many pixels).
    """
    img = _decode(data)
    alpha = _alpha(img)  # (H, W) or None
    if alpha is not None and np.median(_border(alpha)) < 128:
        ink = alpha * np.float32(1.0 / 255.0)  # transparent canvas: anything painted is ink
    else:
        colour, full = _colour(img)  # (H, W, C)
        background = np.median(_border(colour), axis=0).astype(np.float32)  # (C,)
        ink = np.zeros(colour.shape[:2], dtype=np.float32)  # (H, W)
        for c in range(colour.shape[2]):  # Chebyshev distance to the background, channel by channel
            np.maximum(ink, np.abs(colour[:, :, c] - background[c]), out=ink)
        ink *= np.float32(1.0 / full)
        if alpha is not None:
            ink *= alpha * np.float32(1.0 / 255.0)  # half-transparent: half as different
    peak = float(ink.max())
    if peak >= MIN_CONTRAST:  # faint pens count fully; near-uniform images stay faint (blank)
        ink *= np.float32(1.0 / peak)
    return ink


# ------------------------------------------------------------------------------------------------
# strokes


def load_strokes(strokes) -> list[np.ndarray]:
    """Check strokes as they come from JSON and return them as arrays.

    Inputs:  strokes, a list of strokes, each a list of [x, y] points (numbers, y down), in any
             units; a stroke of one point is a tap.
    Returns: list of float64 (P, 2), empty strokes left out.
    Raises:  DrawingError for anything that is not that shape or holds a coordinate that is not a
             finite number within MAX_COORDINATE; DrawingTooLargeError over MAX_STROKES strokes,
             MAX_POINTS points, or centre lines MAX_LENGTH times longer than the drawing is wide;
             BlankDrawingError when there is no point at all.
    """
    if not isinstance(strokes, list):
        raise DrawingError('"strokes" must be a list of strokes, each a list of [x, y] points.')
    if len(strokes) > MAX_STROKES:
        raise DrawingTooLargeError(f"The drawing has {len(strokes)} strokes; the limit is "
                                   f"{MAX_STROKES}. Send one digit at a time.")
    total = sum(len(stroke) for stroke in strokes if isinstance(stroke, list))
    if total > MAX_POINTS:
        raise DrawingTooLargeError(f"The drawing has {total} points; the limit is {MAX_POINTS}. "
                                   "Send fewer points per stroke.")
    arrays = []
    for i, stroke in enumerate(strokes):
        if not isinstance(stroke, list):
            raise DrawingError(f"Stroke {i} is not a list of [x, y] points.")
        for point in stroke:  # about 0.3 us a point
            if (type(point) is list and len(point) == 2 and type(point[0]) in _NUMBERS
                    and type(point[1]) in _NUMBERS):
                continue  # what JSON gives, checked without a call
            if (not isinstance(point, list) or len(point) != 2
                    or not (_is_number(point[0]) and _is_number(point[1]))):
                raise DrawingError(f"Stroke {i} has a point that is not [x, y] with two numbers: "
                                   f"{_show(point)}.")
        if not stroke:
            continue
        try:
            array = np.array(stroke, dtype=np.float64)  # (P, 2)
            bad = ~(np.abs(array) <= MAX_COORDINATE).all(axis=1)  # NaN and inf are never <=
        except OverflowError:  # an integer with hundreds of digits
            bad = [not all(abs(v) <= MAX_COORDINATE for v in point) for point in stroke]
        if np.any(bad):
            raise DrawingError(f"Stroke {i} has a point with a coordinate that is not a "
                               f"finite number between -{MAX_COORDINATE:.0e} and "
                               f"{MAX_COORDINATE:.0e}: {_show(stroke[int(np.argmax(bad))])}.")
        arrays.append(array)
    if not arrays:
        raise BlankDrawingError("There are no strokes: draw a digit first.")
    width = float(np.ptp(np.concatenate(arrays), axis=0).max())
    length = sum(float(np.hypot(*np.diff(a, axis=0).T).sum()) for a in arrays)
    if length > MAX_LENGTH * width:
        raise DrawingTooLargeError(f"The strokes are {length / width:.0f} times as long as the "
                                   f"drawing is wide; the limit is {MAX_LENGTH}. Send one digit, "
                                   "not a scribble.")
    return arrays


def load_pen(pen) -> float | None:
    """The optional width of the pen that drew the strokes, in their units: None or a positive
    finite number, else a DrawingError."""
    if pen is None:
        return None
    if not _is_number(pen) or not 0 < pen <= MAX_COORDINATE:
        raise DrawingError(f'"pen" must be a positive number, the width of the pen in the units '
                           f"of the strokes; got {_show(pen)}.")
    return float(pen)


_NUMBERS = (int, float)  # what JSON numbers parse to


def _is_number(value) -> bool:
    """int or float (NumPy's float64 too), but not bool: JSON's true is not 1."""
    return type(value) in _NUMBERS or (isinstance(value, _NUMBERS) and not isinstance(value, bool))


def _show(value) -> str:
    """A short repr of a piece of untrusted JSON, for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
