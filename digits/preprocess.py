"""A drawing (a PNG of any size and background, or pen strokes) -> the 28x28 MNIST would have made.

A network trained on MNIST only knows MNIST's conventions, so a drawing must be brought to them:
the longer side of the digit 20 px, the pen about 2.5 px wide, the intensity-weighted centre of
mass at (14, 14) of a 28x28 field, white ink on black (MNIST polarity). Two ways in:

- strokes (``strokes_to_mnist``), what the page sends: the pen's centre lines are known exactly,
  so they are scaled and drawn once with MNIST's pen (digits.canvas), then centred.
- a PNG (``to_mnist`` on the ink map of digits.drawing.load_drawing), what API users send: crop
  to the ink, find the strokes' centre lines by thinning (digits.strokes), redraw them with
  MNIST's pen, then scale and centre the same way. A pen already as bold as MNIST's for the
  drawing's size (BOLD_PEN) is kept as drawn: redrawing it could only lose what it filled in.

``preprocess`` and ``preprocess_strokes`` are what the server calls, for the prediction and for
the preview it shows. ``to_mnist_steps`` returns every intermediate image of the PNG path, so the
figure in docs/handwriting.md shows exactly this code.

What this module deliberately is not: a photo pipeline. It expects a drawing on a plain background
(a canvas export or a scan); it does not deskew, denoise paper texture or find a digit among others.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from PIL import Image

from digits.canvas import _nearest_squared, render, segments, within_reach
from digits.drawing import BlankDrawingError, load_drawing, load_pen, load_strokes
from digits.strokes import redraw, stroke_width, strokes_mask, thin

# --- MNIST's conventions, measured on the 60,000 training images (tests/test_preprocess.py) ---
BOX_SIDE = 20  # the bounding box of pixels >= 0.5 has its longer side 20 px (mean 19.98)
CENTRE = 14.0  # mean centre of mass is (13.997, 14.006) in (row, col), pixel centres at 0..27
# Stroke width of MNIST digits at 28x28: stroke_width() gives a median of 2.75 px (10th-90th
# percentile 2.2-3.8). The soft edge of our redrawn pen adds about 0.2 to that estimate, so the
# pen is drawn 2.55 px wide: MNIST test digits traced and drawn again (evaluate_drawings.py) then
# measure 2.80 px against 2.79 for the same digits in MNIST, with 4% more ink.
STROKE_WIDTH = 2.55

INK_THRESHOLD = 0.5  # a pixel is "ink" for the bounding box when it is at least half covered
# Blank drawings. A speck is under 2% of the canvas side: 5.6 px on the page's 280 px canvas,
# below its thinnest pen (8.4 px). A tap with any pen is caught by DOT_RATIO: ink less than twice
# as long as its pen is wide is a dot or a smudge, not a digit.
SPECK_FRACTION = 0.02
DOT_RATIO = 0.5
# A pen this share of the ink's longer side or wider is kept as drawn. MNIST's own is about 0.13
# (STROKE_WIDTH / BOX_SIDE), so such a drawing is already MNIST-like or bolder at 28x28, and
# thinning could only lose the loops and gaps it filled in. Chosen on a fold of UNIPEN training
# writers held out of training (0.10-0.14 tie; 0.16 and up lose digits drawn with a pen 0.15 of
# their size); trained so, digits drawn with a pen a fifth of their size were read 98.7% (97.6%
# thinned), a quarter 93.9% (91.9%), ordinary pens as before.
BOLD_PEN = 0.14
WORK = 4 * BOX_SIDE  # thickness is fixed at 4x the final resolution: 80 px for the longer side
STRAY_FRACTION = 0.03  # a detached blob holding < 3% of the ink is a stray tap, not the digit
STRAY_EXTENT = 0.1  # for strokes: a stroke under 10% of the drawing's size, 10% away from the rest


# ------------------------------------------------------------------------------------------------
# a PNG's ink map -> 28x28


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
    if not np.issubdtype(ink.dtype, np.number):
        raise ValueError("to_mnist expects finite numbers in 0..1 (1 = ink).")
    ink = ink.astype(np.float32, copy=False)
    low, high = float(ink.min()), float(ink.max())  # NaN anywhere makes both NaN
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError("to_mnist expects finite numbers in 0..1 (1 = ink).")
    if low < 0.0 or high > 1.0:  # a map from load_drawing never is: no copy of it
        ink = np.clip(ink, 0.0, 1.0)
    return ink


def to_mnist(ink: np.ndarray, *, normalise_pen: bool = True,
             steps: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Turn an ink map into the 28x28 image MNIST would have made of the same drawing.

    Inputs:  ink, float (H, W) in 0..1, 1 = ink (from ``load_drawing``); normalise_pen=False
             skips the thinning and redrawing (to measure what that step is worth; a pen of
             BOLD_PEN or more of the drawing's size skips it anyway); steps, a dict
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
    pen_share = stroke_width(np.where(mask, work, 0.0)) / max(work.shape)
    if pen_share > DOT_RATIO:
        raise BlankDrawingError("There is only a dot or a blot on the canvas: draw a digit first.")
    redraw_pen = normalise_pen and pen_share <= BOLD_PEN
    skeleton = thin(mask) if redraw_pen else np.zeros_like(mask)
    thick = _redraw(mask, skeleton) if redraw_pen else None
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
             "thickness" (longer side ~80), the skeleton redrawn with MNIST's pen, cropped (the
             strokes as drawn, and the skeleton empty, for a pen of BOLD_PEN or more);
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


@njit(cache=True, nogil=True, error_model="numpy")
def _centre(thick: np.ndarray, scale: float) -> np.ndarray:
    """Area-resample ``thick`` at ``scale`` into 28x28 with its centre of mass at (CENTRE, CENTRE).

    In pixel-centre coordinates the centre of mass c lands on output CENTRE when the 28x28 window
    starts at c + 0.5 - (CENTRE + 0.5) / scale. Averaging over whole output pixels moves the centre
    by a few hundredths of a pixel, so the window is corrected once with the measured error.

    ``_centre_reference`` is the same in NumPy: two products with the (28, h) and (28, w)
    matrices of ``_area_weights``. Here each output pixel sums only the few source pixels it
    covers (1 / scale + 1 of them along each axis, where the matrices are not 0), in loops, a
    third of the time for the 84 x 84 of a stroke drawing; the sums round in another order, a
    difference that float32 does not keep (tests/test_preprocess.py).
    """
    h, w = thick.shape
    rows, cols = np.zeros(h), np.zeros(w)
    for i in range(h):
        for j in range(w):
            rows[i] += thick[i, j]
            cols[j] += thick[i, j]
    total, cy, cx = 0.0, 0.0, 0.0
    for i in range(h):
        total += rows[i]
        cy += rows[i] * i
    for j in range(w):
        cx += cols[j] * j
    cy, cx = cy / total, cx / total
    band = int(np.ceil(1.0 / scale)) + 2  # source pixels one output pixel can cover
    wy, wx = np.zeros((28, band)), np.zeros((28, band))  # their weights, from first_y, first_x
    first_y, first_x = np.zeros(28, np.int64), np.zeros(28, np.int64)
    count_y, count_x = np.zeros(28, np.int64), np.zeros(28, np.int64)
    tall = np.empty((28, w))  # the rows resampled
    out = np.empty((28, 28))
    for _ in range(3):  # measure, correct, measure: the second correction is ~1e-3 px
        _area_band(h, cy + 0.5 - (CENTRE + 0.5) / scale, scale, wy, first_y, count_y)
        _area_band(w, cx + 0.5 - (CENTRE + 0.5) / scale, scale, wx, first_x, count_x)
        for r in range(28):  # the same sums, term by term, along whole rows
            row = tall[r]
            row[:] = 0.0
            for k in range(count_y[r]):
                weight, source = wy[r, k], thick[first_y[r] + k]
                for j in range(w):
                    row[j] += weight * source[j]
        mass, my, mx = 0.0, 0.0, 0.0
        for r in range(28):
            for c in range(28):
                acc = 0.0
                for k in range(count_x[c]):
                    acc += tall[r, first_x[c] + k] * wx[c, k]
                out[r, c] = acc
                mass += acc
                my += acc * r
                mx += acc * c
        err_y, err_x = my / mass - CENTRE, mx / mass - CENTRE
        if abs(err_y) < 0.01 and abs(err_x) < 0.01:
            break
        cy += err_y / scale
        cx += err_x / scale
    mnist = np.empty((28, 28), dtype=np.float32)
    for r in range(28):
        for c in range(28):
            mnist[r, c] = min(max(out[r, c], 0.0), 1.0)
    return mnist


@njit(cache=True, nogil=True)
def _area_band(n_src, start, scale, weights, first, count):
    """``_area_weights(28, n_src, start, scale)`` where it is not 0: row j's entries
    first[j] .. first[j] + count[j] - 1, written into weights[j, :count[j]] (the same numbers)."""
    for j in range(28):
        lo = start + j / scale
        hi = lo + 1.0 / scale
        a, b = max(0, int(np.floor(lo))), min(n_src, int(np.ceil(hi)))
        first[j], count[j] = a, max(0, b - a)
        for k in range(a, b):
            weights[j, k - a] = max(min(k + 1.0, hi) - max(float(k), lo), 0.0) * scale


def _centre_reference(thick: np.ndarray, scale: float) -> np.ndarray:
    """NumPy twin of ``_centre``: the same steps as products of whole matrices."""
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


# ------------------------------------------------------------------------------------------------
# strokes -> 28x28


def strokes_to_mnist(strokes: list[np.ndarray], pen: float | None = None) -> np.ndarray:
    """Draw strokes as MNIST would have: their centre lines with MNIST's pen, scaled and centred.

    Inputs:  strokes, float64 (P, 2) arrays of (x, y) in any units, y down (``load_strokes``);
             pen, optionally the width of the pen they were drawn with, in the same units: a
             drawing less than twice as long as that is a tap, not a digit (DOT_RATIO).
    Returns: float32 (28, 28) in 0..1, MNIST polarity, as ``to_mnist`` makes of a PNG.
    Raises:  BlankDrawingError when the strokes are a single point, or a tap of that pen.

    Each stroke is a polyline through its points (the page records them densely enough that its
    own smoothing changes nothing at 28x28; a sparse polyline keeps its corners). Stray taps are
    left out (``_without_strays``). The centre lines are scaled so that, with the pen drawn
    STROKE_WIDTH px wide at 28x28, the ink's longer side fills WORK px, drawn once
    (digits.canvas), cropped and centred like a PNG's.
    """
    lines = _without_strays(list(strokes))
    points = np.concatenate(lines)  # (P, 2)
    low = points.min(axis=0)
    extent = float((points.max(axis=0) - low).max())
    if extent == 0 or (pen is not None and pen > DOT_RATIO * (extent + pen)):  # as for a PNG
        raise BlankDrawingError("There is only a dot on the canvas: draw a digit first.")
    width = WORK * STROKE_WIDTH / BOX_SIDE  # MNIST's pen at the work scale
    ends = np.cumsum([len(line) for line in lines])
    return _draw(points, ends, low, (WORK - width) / extent, width)


def _draw_reference(points: np.ndarray, ends: np.ndarray, low: np.ndarray, scale: float,
                    width: float) -> np.ndarray:
    """NumPy twin of ``_draw``: the strokes points[ends[k - 1]:ends[k]], float64 (P, 2) end to
    end, moved by -low and scaled by ``scale`` to the work scale, drawn with a pen ``width`` px
    wide (digits.canvas.render), cropped to the ink and centred: float32 (28, 28)."""
    margin = width / 2 + 2
    placed = (points - low) * scale + margin  # (P, 2)
    right, bottom = np.ceil(placed.max(axis=0) + margin).astype(int)
    lines = np.split(placed, ends[:-1])
    thick = render(lines, (int(bottom), int(right)), width, smoothing=False)  # ~(84, 84)
    top, bottom, left, right = _bbox(thick >= INK_THRESHOLD)
    thick = thick[top:bottom, left:right]
    return _centre_reference(thick, BOX_SIDE / max(thick.shape))


@njit(cache=True, nogil=True)
def _draw(points, ends, low, scale, width):
    """``_draw_reference`` in one compiled pass: the same pixels, bit for bit, without a dozen
    NumPy calls on small arrays for each candidate digit of a number (a third of its time)."""
    margin = width / 2 + 2
    placed = np.empty_like(points)  # (P, 2)
    for i in range(points.shape[0]):
        placed[i, 0] = (points[i, 0] - low[0]) * scale + margin
        placed[i, 1] = (points[i, 1] - low[1]) * scale + margin
    right = int(np.ceil(placed[:, 0].max() + margin))
    bottom = int(np.ceil(placed[:, 1].max() + margin))
    count, start = 0, 0  # the segments, as digits.canvas.segments makes them
    for end in ends:
        count += max(end - start - 1, 1) if end > start else 0
        start = end
    pieces = np.empty((count, 4))
    k, start = 0, 0
    for end in ends:
        if end - start == 1:  # a dot
            pieces[k] = (placed[start, 0], placed[start, 1], placed[start, 0], placed[start, 1])
            k += 1
        for i in range(start, end - 1):
            pieces[k] = (placed[i, 0], placed[i, 1], placed[i + 1, 0], placed[i + 1, 1])
            k += 1
        start = end
    radius = width / 2  # digits.canvas.render from here
    reach = radius + 0.5
    squared = _nearest_squared(pieces, bottom, right, reach)
    thick = np.empty((bottom, right), dtype=np.float32)
    top, last_row, left, last_col = bottom, -1, right, -1  # the box of ink >= INK_THRESHOLD
    for i in range(bottom):
        for j in range(right):
            d = np.sqrt(squared[i, j])
            nearest = d if d <= reach else np.inf
            ink = np.float32(min(max(reach - nearest, 0.0), min(1.0, width)))
            thick[i, j] = ink
            if ink >= INK_THRESHOLD:
                top, last_row = min(top, i), max(last_row, i)
                left, last_col = min(left, j), max(last_col, j)
    crop = thick[top:last_row + 1, left:last_col + 1]
    return _centre(crop, BOX_SIDE / max(crop.shape[0], crop.shape[1]))


def _without_strays(lines: list[np.ndarray]) -> list[np.ndarray]:
    """The strokes without stray taps: a stroke spanning under STRAY_EXTENT of the drawing that
    lies farther than that from every other stroke (no digit has a detached dot; the crossbar of
    a 7 or the foot of a 1 is longer, and touches or nearly touches the rest).

    A small stroke is measured by one of its points per cell of a grid 1/16 of that distance
    wide (at most 17 x 17 points however many were sent), which moves a decision only for a
    stroke within 1% of the drawing's size of the threshold, and keeps the work bounded:
    20,000 points in two strokes took 29 s and 4.8 GB measured point by point.
    """
    if len(lines) < 2:
        return lines
    points = np.concatenate(lines)  # (P, 2)
    starts = np.cumsum([0] + [len(line) for line in lines[:-1]])
    low = np.minimum.reduceat(points, starts, axis=0)  # (L, 2): each stroke's box
    high = np.maximum.reduceat(points, starts, axis=0)
    reach = STRAY_EXTENT * float((high.max(axis=0) - low.min(axis=0)).max())
    small = (high - low).max(axis=1) < reach  # (L,)
    if not small.any():
        return lines
    pieces = [segments([line]) for line in lines]  # (S_i, 4) each
    kept = []
    for i, line in enumerate(lines):
        if small[i] and not within_reach(_one_per_cell(line, reach / 16),
                                         np.concatenate(pieces[:i] + pieces[i + 1:]), reach):
            continue
        kept.append(line)
    return kept or lines


def _one_per_cell(points: np.ndarray, cell: float) -> np.ndarray:
    """The first of ``points`` (P, 2) in each square of a grid ``cell`` wide."""
    if cell <= 0 or len(points) < 2:
        return points
    _, first = np.unique(np.floor(points / cell), axis=0, return_index=True)
    return points[np.sort(first)]


# ------------------------------------------------------------------------------------------------
# what the server calls


def preprocess(data: bytes) -> np.ndarray:
    """A PNG drawing -> exactly what the network sees, for the prediction and the preview.

    Inputs:  data, PNG bytes (see digits.drawing.load_drawing).
    Returns: float32 (28, 28) in 0..1, MNIST polarity.
    Raises:  ImageError (400), ImageTooLargeError (413), BlankDrawingError (422), each with a
             sentence for a person.
    """
    return to_mnist(load_drawing(data))


def preprocess_strokes(strokes, pen: float | None = None) -> np.ndarray:
    """Strokes as they come from JSON -> exactly what the network sees.

    Inputs:  strokes, a list of strokes of [x, y] points (see digits.drawing.load_strokes); pen,
             optionally its width in the same units.
    Returns: float32 (28, 28) in 0..1, MNIST polarity.
    Raises:  DrawingError (400), DrawingTooLargeError (413), BlankDrawingError (422).
    """
    return strokes_to_mnist(load_strokes(strokes), load_pen(pen))
