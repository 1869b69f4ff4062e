"""Pen strokes -> pixels: the one stroke renderer, and the page's pens.

Everything in this project that draws strokes draws them here: the server when a drawing arrives
as strokes, the training data drawn from real writers' pen traces and from synthetic styles, the
evaluation, the scripts and the tests. One renderer means one idea of what a pen looks like.

    strokes = [[(0.2, 0.1), (0.8, 0.1), (0.4, 0.9)]]              # a 7, in canvas fractions
    png = canvas_png(strokes)                                       # what the page would send
    ink = render(scale_strokes(strokes, 280), (280, 280), pen=16)   # float32 (280, 280) in 0..1

A stroke is a sequence of (x, y) points, x to the right and y down, in pixels of the canvas for
``render`` (pixel (i, j) covers x in [j, j + 1), y in [i, i + 1)). The pen is round: a pixel's ink
is how much of it lies within pen / 2 of the stroke's centre line, anti-aliased over one pixel
(clip(pen / 2 + 0.5 - d, 0, 1), d the distance from the pixel's centre to the nearest segment),
which is what a browser's round caps and joins give. The page (static/drawing.js) smooths the points
it records with quadratic curves through their midpoints; ``smooth`` does the same, so a drawing
replayed here looks like the PNG the page exports.

What this module is not: a general 2-D graphics library. One colour, round pens, no fills.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from numba import njit
from PIL import Image

# The page's pens, as fractions of the canvas width (static/drawing.js has the same table; a test
# holds the two equal). On the page's 280 px export they are 8.4, 15.4 and 25.2 px wide.
PENS = {"thin": 0.03, "medium": 0.055, "thick": 0.09}
EXPORT_SIZE = 280  # the side of the PNG the page sends
BACKGROUNDS = ("transparent", "white", "black")

Strokes = Sequence[Sequence[Sequence[float]]]


# ------------------------------------------------------------------------------------ geometry


def smooth(points: np.ndarray, steps: int = 8) -> np.ndarray:
    """The polyline the page draws for recorded points: float64 (P, 2) -> (Q, 2).

    The page moves to the first point, draws a quadratic curve through the midpoint of each pair
    of neighbours with the point between them as its control point, and a straight line to the
    last point (drawing.js, drawStroke). Each curve becomes ``steps`` straight pieces.
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 3:
        return points
    t = np.linspace(0.0, 1.0, steps + 1)[1:, None]  # (steps, 1)
    out = [points[:1]]
    start = points[0]
    for i in range(1, len(points) - 1):
        control, end = points[i], (points[i] + points[i + 1]) / 2
        out.append((1 - t) ** 2 * start + 2 * (1 - t) * t * control + t ** 2 * end)
        start = end
    out.append(points[-1:])
    return np.concatenate(out)


def scale_strokes(strokes: Strokes, width: float, height: float | None = None) -> list[np.ndarray]:
    """Strokes in fractions of a canvas (0..1) -> in its pixels, float64 (P, 2) each."""
    factor = np.array([width, width if height is None else height], dtype=np.float64)
    return [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) * factor for stroke in strokes]


def place_strokes(strokes: Strokes, side: int, size: float, pen: float, slant: float = 0.0,
                  where: Sequence[float] = (0.5, 0.5)) -> list[np.ndarray]:
    """Put strokes in any units on a square canvas of ``side`` px, as a person would draw them.

    Inputs:  strokes, (x, y) points in any units, y down; size, the ink's longer side as a
             fraction of the canvas (the pen included); pen, its width in px; slant, degrees of
             shear, leaning right when > 0; where, (x, y) in 0..1: the position within the room
             left free around the ink (0 = at the left/top edge, 1 = at the right/bottom edge).
    Returns: the strokes in canvas pixels, float64 (P, 2) each, for ``render``.
    """
    arrays = [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) for stroke in strokes]
    points = np.concatenate(arrays)  # (P, 2)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    shear = np.tan(np.radians(slant))
    moved = [np.stack([(a[:, 0] - centre[0]) - shear * (a[:, 1] - centre[1]),
                       a[:, 1] - centre[1]], axis=1) for a in arrays]
    points = np.concatenate(moved)
    extent = points.max(axis=0) - points.min(axis=0)  # (2,) centre lines' width, height
    scale = max(size * side - pen, 0.01 * side) / max(extent.max(), 1e-9)  # any canvas unit
    low = points.min(axis=0) * scale - pen / 2
    room = np.maximum(side - (extent * scale + pen), 0.0)  # free space along x and y
    offset = -low + np.asarray(where, dtype=np.float64) * room
    return [a * scale + offset for a in moved]


def segments(strokes: Strokes, smoothing: bool = False) -> np.ndarray:
    """float64 (S, 4): every straight piece (x0, y0, x1, y1) of the strokes' centre lines (through
    the page's curves when ``smoothing``); a one-point stroke is a dot, (x, y, x, y)."""
    pieces = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0:
            continue
        if smoothing:
            points = smooth(points)
        if len(points) == 1:
            points = np.concatenate([points, points])
        pieces.append(np.concatenate([points[:-1], points[1:]], axis=1))
    return np.concatenate(pieces) if pieces else np.zeros((0, 4))


@njit(cache=True, nogil=True)
def _any_within(points, segments, reach):
    """True when some point (P, 2) lies within ``reach`` of some segment (S, 4) of (x0, y0, x1,
    y1). Segments whose bounding box is farther than ``reach`` from the points' bounding box are
    passed over without measuring, and the search stops at the first point in reach: no (P, S)
    array, and at most P * S steps."""
    left, right = points[:, 0].min() - reach, points[:, 0].max() + reach
    top, bottom = points[:, 1].min() - reach, points[:, 1].max() + reach
    reach2 = reach * reach
    for s in range(segments.shape[0]):
        x0, y0, x1, y1 = segments[s, 0], segments[s, 1], segments[s, 2], segments[s, 3]
        if max(x0, x1) < left or min(x0, x1) > right or max(y0, y1) < top or min(y0, y1) > bottom:
            continue
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        for p in range(points.shape[0]):
            px, py = points[p, 0], points[p, 1]
            t = 0.0
            if length2 > 0.0:
                t = min(1.0, max(0.0, ((px - x0) * dx + (py - y0) * dy) / length2))
            ex, ey = px - (x0 + t * dx), py - (y0 + t * dy)
            if ex * ex + ey * ey <= reach2:
                return True
    return False


def _any_within_reference(points, segments, reach):
    """NumPy twin of ``_any_within``: every point against every segment at once."""
    a, d = segments[None, :, :2], segments[None, :, 2:] - segments[None, :, :2]  # (1, S, 2)
    p = points[:, None, :]  # (P, 1, 2)
    length2 = np.maximum((d * d).sum(axis=2), 1e-300)  # (1, S)
    t = np.clip(((p - a) * d).sum(axis=2) / length2, 0.0, 1.0)  # (P, S)
    return bool((((p - (a + t[..., None] * d)) ** 2).sum(axis=2) <= reach * reach).any())


def within_reach(points: np.ndarray, pieces: np.ndarray, reach: float) -> bool:
    """Does any of ``points``, float64 (P, 2), lie within ``reach`` of any of ``pieces``, float64
    (S, 4) from ``segments``? Same units throughout; at most P * S steps and no (P, S) array."""
    if len(points) == 0 or len(pieces) == 0:
        return False
    return bool(_any_within(np.ascontiguousarray(points, dtype=np.float64),
                            np.ascontiguousarray(pieces, dtype=np.float64), float(reach)))


# ------------------------------------------------------------------------------------ rendering


@njit(cache=True, nogil=True)
def _nearest(segments, height, width, reach):
    """float64 (height, width): each pixel centre's distance to the nearest segment where it is
    at most ``reach``, inf elsewhere. segments: float64 (S, 4) of (x0, y0, x1, y1).
    ``_nearest_reference`` is the same in NumPy, and the two agree to the bit."""
    best = _nearest_squared(segments, height, width, reach)
    nearest = np.empty((height, width))
    for i in range(height):
        for j in range(width):
            d = np.sqrt(best[i, j])
            nearest[i, j] = d if d <= reach else np.inf
    return nearest


@njit(cache=True, nogil=True)
def _nearest_squared(segments, height, width, reach):
    """The square of each pixel centre's distance to the nearest segment, for the pixels within
    ``reach`` of one (others: inf, or a distance beyond ``reach``).

    Only the pixels within ``reach`` of each segment's bounding box are visited, row by row:
    for a drawing that is a hundred or so per segment, not the whole canvas. The smallest
    squared distance is kept; its square root is the smallest distance exactly (the square
    root is monotonic), and the loop over a row has no branch, so the compiler vectorises it."""
    best = np.full((height, width), np.inf)
    for s in range(segments.shape[0]):
        x0, y0, x1, y1 = segments[s, 0], segments[s, 1], segments[s, 2], segments[s, 3]
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        xlo, xhi, ylo, yhi = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        for i in range(max(0, int(np.floor(ylo - reach))),
                       min(height, int(np.ceil(yhi + reach)) + 1)):
            py = i + 0.5
            gap = max(0.0, ylo - py, py - yhi)  # from the row to the segment's box
            if gap > reach:
                continue
            half = np.sqrt(reach * reach - gap * gap)  # columns farther cannot be in reach
            lo = max(0, int(np.ceil(xlo - half - 0.5 - 1e-9)))  # pixel centres j + 0.5
            hi = min(width, int(np.floor(xhi + half - 0.5 + 1e-9)) + 1)
            row = best[i, lo:hi]
            across = (py - y0) * dy
            for k in range(hi - lo):
                px = (lo + k) + 0.5
                t = 0.0
                if length2 > 0.0:
                    t = ((px - x0) * dx + across) / length2
                    t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
                ex, ey = px - (x0 + t * dx), py - (y0 + t * dy)
                d2 = ex * ex + ey * ey
                row[k] = d2 if d2 < row[k] else row[k]
    return best


def _nearest_reference(segments, height, width, reach):
    """NumPy twin of ``_nearest``: every pixel against every segment."""
    py, px = np.mgrid[0:height, 0:width] + 0.5  # (H, W) pixel centres
    nearest = np.full((height, width), np.inf)
    for x0, y0, x1, y1 in segments:
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.zeros_like(px) if length2 == 0 else np.clip(
            ((px - x0) * dx + (py - y0) * dy) / length2, 0.0, 1.0)
        d = np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))
        nearest = np.minimum(nearest, np.where(d <= reach, d, np.inf))
    return nearest


def render(strokes: Strokes, shape: tuple[int, int], pen: float, *,
           smoothing: bool = True) -> np.ndarray:
    """Draw strokes with a round pen: coverage float32 ``shape`` (H, W) in 0..1, 1 = ink.

    Inputs:  strokes in this canvas's pixels (see the module docstring); pen, its width in px;
             smoothing, draw the page's curves through the points (False: straight lines).
    Returns: float32 (H, W). Ink outside the canvas is cut off, as on a real canvas.
    """
    if not pen > 0:
        raise ValueError(f"the pen must be wider than 0 px, got {pen}")
    height, width = int(shape[0]), int(shape[1])
    radius = pen / 2
    # Pixels farther than radius + 0.5 get no ink: _nearest need not measure them.
    nearest = _nearest(segments(strokes, smoothing), height, width, radius + 0.5)
    # A pen narrower than a pixel covers at most its width of one: cap the edge ramp there.
    return np.clip(radius + 0.5 - nearest, 0.0, min(1.0, pen)).astype(np.float32)


def to_png(ink: np.ndarray, background: str = "transparent") -> bytes:
    """Encode coverage (H, W) in 0..1 as the RGBA PNG a canvas exports.

    background "transparent": black ink whose alpha is the coverage on transparent black (what a
    browser's canvas.toDataURL gives); "white": black ink on white; "black": white ink on black.
    """
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    level = np.clip(np.rint(np.asarray(ink, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    height, width = level.shape
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    if background == "transparent":
        rgba[..., 3] = level
    else:
        grey = 255 - level if background == "white" else level
        rgba[..., :3] = grey[..., None]
        rgba[..., 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def canvas_png(strokes: Strokes, size: int = EXPORT_SIZE, pen: str | float = "medium",
               background: str = "transparent") -> bytes:
    """Strokes in canvas fractions (0..1) drawn as the page exports them: a ``size`` px square
    PNG, the pen one of PENS (a fraction of the canvas) or a width in px, smoothed like the page."""
    width = PENS[pen] * size if isinstance(pen, str) else float(pen)
    return to_png(render(scale_strokes(strokes, size), (size, size), width), background)
