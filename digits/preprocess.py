"""A drawing (any size, any background) -> the 28x28 image MNIST would have made of it.

A network trained on MNIST only knows MNIST's conventions, so a drawing must be brought to them:

1. ``load_drawing``: PNG bytes -> an *ink map*, float32 (H, W) in 0..1 where 1 is ink. Ink is how
   much a pixel stands out from the background, so black-on-white, white-on-black,
   black-on-transparent (what a browser canvas exports) and coloured ink all give the same map.
2. ``to_mnist``: ink map -> (28, 28) float32 in 0..1, MNIST polarity (white digit on black):
   crop to the ink, make the pen width MNIST's, scale the longer side to 20 px with anti-aliasing,
   and put the intensity-weighted centre of mass at (14, 14) of a 28x28 field.

``preprocess`` is the two in a row, used by the server for both the prediction and the preview.
The pen step (thinning, redrawing, stroke width) lives in ``digits.strokes``. ``to_mnist_steps``
returns every intermediate image, so the README figure shows exactly this code.

What this module deliberately is not: a photo pipeline. It expects a drawing on a plain background
(a canvas export or a scan); it does not deskew, denoise paper texture or find a digit among others.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from digits.strokes import redraw, stroke_width, strokes_mask, thin

MAX_SIDE = 2048  # the API takes canvas exports up to 2048x2048; larger is refused before decoding

# --- MNIST's conventions, measured on the 60,000 training images (tests/test_preprocess.py) ---
BOX_SIDE = 20  # the bounding box of pixels >= 0.5 has its longer side 20 px (mean 19.98)
CENTRE = 14.0  # mean centre of mass is (13.997, 14.006) in (row, col), pixel centres at 0..27
# Stroke width of MNIST digits at 28x28: stroke_width() gives a median of 2.75 px (10th-90th
# percentile 2.2-3.8). The soft edge of our redrawn pen adds about 0.2 to that estimate, so the
# pen is drawn 2.55 px wide: MNIST test digits traced and drawn again (evaluate_drawings.py) then
# measure 2.80 px against 2.79 for the same digits in MNIST, with 4% more ink.
STROKE_WIDTH = 2.55

INK_THRESHOLD = 0.5  # a pixel is "ink" for the bounding box when it is at least half covered
# Blank drawings. Paper noise in a scan is a few percent, the faintest pen we read (#d8d8d8 on
# white) differs by 15%. A speck is under 2% of the canvas side: 5.6 px on the page's 280 px
# canvas, below its thinnest pen (8.4 px). A tap with any pen is caught by DOT_RATIO: ink less
# than twice as long as its pen is wide is a dot or a smudge, not a digit.
MIN_CONTRAST = 0.15
SPECK_FRACTION = 0.02
DOT_RATIO = 0.5
WORK = 4 * BOX_SIDE  # thickness is fixed at 4x the final resolution: 80 px for the longer side
STRAY_FRACTION = 0.03  # a detached blob holding < 3% of the ink is a stray tap, not the digit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(ValueError):
    """The bytes are not a PNG image we can decode (HTTP 400)."""


class ImageTooLargeError(ImageError):
    """Width or height over MAX_SIDE, or a decompression bomb (HTTP 413)."""


class BlankDrawingError(ValueError):
    """Nothing, or almost nothing, is drawn (HTTP 422)."""


# ------------------------------------------------------------------------------------------------
# 1. PNG bytes -> ink map


def _png_size(data: bytes) -> tuple[int, int]:
    """Read (width, height) from the IHDR chunk, before Pillow decodes anything."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE:
        kind = "a JPEG" if data[:3] == b"\xff\xd8\xff" else "not a PNG"
        raise ImageError(f"The image is {kind}: send the drawing as a PNG (image/png).")
    if data[12:16] != b"IHDR":
        raise ImageError("The PNG is damaged (no IHDR header): export the drawing again.")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _decode(data: bytes) -> Image.Image:
    """Open and fully decode a PNG, refusing oversized ones before any pixel is allocated."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_drawing expects PNG bytes, got {type(data).__name__}.")
    data = bytes(data)
    width, height = _png_size(data)
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLargeError(
            f"The image is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}. "
            "Send a smaller canvas."
        )
    if width == 0 or height == 0:
        raise ImageError("The PNG has zero width or height: export the drawing again.")
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
# 2. ink map -> 28x28


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), bottom/right exclusive, of the True pixels; None if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resample float32 (h, w) to (height, width): area average to shrink, bilinear to enlarge."""
    shrink = height < x.shape[0] or width < x.shape[1]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    out = Image.fromarray(np.ascontiguousarray(x, dtype=np.float32)).resize((width, height), method)
    return np.asarray(out, dtype=np.float32)


def _check_ink(ink: np.ndarray) -> np.ndarray:
    ink = np.asarray(ink)
    if ink.ndim != 2 or ink.shape[0] < 1 or ink.shape[1] < 1:
        raise ValueError(f"to_mnist expects a 2-D ink map (H, W), got shape {ink.shape}.")
    if not np.issubdtype(ink.dtype, np.number) or not np.isfinite(ink).all():
        raise ValueError("to_mnist expects finite numbers in 0..1 (1 = ink).")
    return np.clip(ink.astype(np.float32, copy=False), 0.0, 1.0)


def to_mnist(ink: np.ndarray, *, normalise_pen: bool = True,
             steps: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Turn an ink map into the 28x28 image MNIST would have made of the same drawing.

    Inputs:  ink, float (H, W) in 0..1, 1 = ink (from ``load_drawing``); normalise_pen=False
             skips the thinning and redrawing (to measure what that step is worth); steps, a dict
             to fill with the intermediate images (see ``to_mnist_steps``), or None.
    Returns: float32 (28, 28) in 0..1, MNIST polarity: longer side of the ink 20 px, pen about
             STROKE_WIDTH px, centre of mass at (14, 14).
    Raises:  BlankDrawingError when there is no ink, only a speck, or only a dot.
             ValueError when ``ink`` is not a 2-D array of finite numbers.
    """
    ink = _check_ink(ink)
    height, width = ink.shape
    box = _bbox(ink >= INK_THRESHOLD)
    speck = max(3.0, SPECK_FRACTION * max(height, width))
    if box is None or max(box[1] - box[0], box[3] - box[2]) < speck:
        raise BlankDrawingError("The canvas is empty: draw a digit first.")
    crop, work, mask = _crop(ink, box)
    if stroke_width(np.where(mask, work, 0.0)) > DOT_RATIO * max(work.shape):
        raise BlankDrawingError("There is only a dot or a blot on the canvas: draw a digit first.")
    skeleton = thin(mask) if normalise_pen else np.zeros_like(mask)
    thick = _redraw(mask, skeleton) if normalise_pen else None
    if thick is None:  # a blob, not strokes (or not asked): no pen width to fix, keep it as drawn
        thick = np.where(mask, work, 0.0).astype(np.float32)
    top, bottom, left, right = _bbox(thick >= INK_THRESHOLD)  # the pen is >= 1 px: never None
    thick = thick[top:bottom, left:right]  # (h', w'), longer side about WORK
    mnist = _centre(thick, BOX_SIDE / max(thick.shape))  # one resampling, straight to 28x28
    if steps is not None:
        steps.update(ink=ink, crop=crop, work=work, skeleton=skeleton.astype(np.float32),
                     thickness=thick, mnist=mnist)
    return mnist


def to_mnist_steps(ink: np.ndarray, *, normalise_pen: bool = True) -> dict[str, np.ndarray]:
    """Every step of ``to_mnist``, for figures and tests.

    Returns: dict of float32 images, in order:
             "ink" (H, W), the input;
             "crop" (h, w), the bounding box of ink >= 0.5;
             "work" (longer side 80), the crop area-resampled to 4x the final scale;
             "skeleton" (same shape), the centre lines of the strokes, stray dots left out;
             "thickness" (longer side ~80), the skeleton redrawn with MNIST's pen, cropped;
             "scaled" (longer side 20), that shape at the final scale (for figures only: ``mnist``
             is resampled from "thickness" directly);
             "mnist" (28, 28), the same, centred by centre of mass.
    """
    steps: dict[str, np.ndarray] = {}
    to_mnist(ink, normalise_pen=normalise_pen, steps=steps)
    thick = steps["thickness"]
    scale = BOX_SIDE / max(thick.shape)
    steps["scaled"] = _resize(thick, max(1, round(thick.shape[0] * scale)),
                              max(1, round(thick.shape[1] * scale)))
    return {key: steps[key] for key in
            ("ink", "crop", "work", "skeleton", "thickness", "scaled", "mnist")}


def _crop(ink: np.ndarray, box: tuple[int, int, int, int]):
    """Crop ``ink`` to ``box`` and resample it to the work scale (4x the final one).

    Returns: crop (h, w), work float32 with longer side WORK, and mask bool (same shape), the
             strokes in ``work``. When stray dots had widened the box, the crop is made again
             around what is left, so a dot in a corner does not shrink the digit.
    """
    for _ in range(2):
        top, bottom, left, right = box
        crop = ink[top:bottom, left:right]  # (h, w)
        scale = WORK / max(crop.shape)
        work = _resize(crop, max(1, round(crop.shape[0] * scale)),
                       max(1, round(crop.shape[1] * scale)))  # (~h * scale, ~w * scale)
        mask, dropped = strokes_mask(work, STRAY_FRACTION)
        if not dropped:
            break
        t, b, l, r = _bbox(mask)  # in work pixels; back to ink pixels with a pixel to spare
        t, l = top + max(int(t / scale) - 1, 0), left + max(int(l / scale) - 1, 0)
        b, r = top + int(np.ceil(b / scale)) + 1, left + int(np.ceil(r / scale)) + 1
        sub = _bbox(ink[t:b, l:r] >= INK_THRESHOLD)
        if sub is None or sub == (0, bottom - top, 0, right - left):
            break
        box = (t + sub[0], t + sub[1], l + sub[2], l + sub[3])
    return crop, work, mask


def _redraw(mask: np.ndarray, skeleton: np.ndarray) -> np.ndarray | None:
    """Redraw a shape with a round pen that will be STROKE_WIDTH px wide at 28x28.

    Inputs:  mask, bool (h, w), the strokes; skeleton, bool (h, w), their centre lines.
    Returns: float32 (h + 2p, w + 2p) in 0..1 (``digits.strokes.redraw``); None when the skeleton
             spans under a quarter of WORK (a dot or a blob: no strokes to redraw).

    The final box (BOX_SIDE px) holds the skeleton's extent E plus one pen width, so the pen in
    these pixels is STROKE_WIDTH * E / (BOX_SIDE - STROKE_WIDTH).
    """
    ys, xs = np.nonzero(skeleton)
    extent = max(np.ptp(ys), np.ptp(xs)) if ys.size else 0
    if extent < WORK / 4:
        return None
    return redraw(mask, skeleton, STROKE_WIDTH * extent / (BOX_SIDE - STROKE_WIDTH))


def _area_weights(n_out: int, n_src: int, start: float, scale: float) -> np.ndarray:
    """(n_out, n_src) matrix of area resampling along one axis, with a fractional start.

    Source pixel k covers [k, k+1); output pixel j covers [start + j/scale, start + (j+1)/scale).
    Entry (j, k) is the overlap of the two intervals times ``scale``, so a row averages the source
    over the output pixel's footprint: anti-aliasing and a sub-pixel shift in one product.
    """
    lo = start + np.arange(n_out, dtype=np.float64)[:, None] / scale  # (n_out, 1)
    k = np.arange(n_src, dtype=np.float64)[None, :]  # (1, n_src)
    overlap = np.minimum(k + 1.0, lo + 1.0 / scale) - np.maximum(k, lo)  # (n_out, n_src)
    return np.clip(overlap, 0.0, None) * scale


def _centre(thick: np.ndarray, scale: float) -> np.ndarray:
    """Area-resample ``thick`` at ``scale`` into 28x28 with its centre of mass at (CENTRE, CENTRE).

    In pixel-centre coordinates the centre of mass c lands on output CENTRE when the 28x28 window
    starts at c + 0.5 - (CENTRE + 0.5) / scale. Averaging over whole output pixels moves the centre
    by a few hundredths of a pixel, so the window is corrected once with the measured error.
    """
    src = thick.astype(np.float64)
    h, w = src.shape
    total = float(src.sum())
    cy = float(src.sum(axis=1) @ np.arange(h)) / total
    cx = float(src.sum(axis=0) @ np.arange(w)) / total
    r = np.arange(28, dtype=np.float64)
    for _ in range(3):  # measure, correct, measure: the second correction is ~1e-3 px
        wy = _area_weights(28, h, cy + 0.5 - (CENTRE + 0.5) / scale, scale)  # (28, h)
        wx = _area_weights(28, w, cx + 0.5 - (CENTRE + 0.5) / scale, scale)  # (28, w)
        out = wy @ src @ wx.T  # (28, h) @ (h, w) @ (w, 28) -> (28, 28)
        mass = float(out.sum())
        err_y = float(out.sum(axis=1) @ r) / mass - CENTRE
        err_x = float(out.sum(axis=0) @ r) / mass - CENTRE
        if abs(err_y) < 0.01 and abs(err_x) < 0.01:
            break
        cy += err_y / scale
        cx += err_x / scale
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def preprocess(data: bytes) -> np.ndarray:
    """The one function the server calls, for the prediction and for the preview it shows.

    Inputs:  data, PNG bytes (see load_drawing).
    Returns: float32 (28, 28) in 0..1, MNIST polarity: exactly what the network sees.
    Raises:  ImageError (400), ImageTooLargeError (413), BlankDrawingError (422), each with a
             sentence for a person.
    """
    return to_mnist(load_drawing(data))
