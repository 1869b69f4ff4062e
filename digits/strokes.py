"""Pen strokes in an image: how wide they are, where their centre lines run, and drawing them again.

``digits.preprocess`` uses these three to give a drawing MNIST's pen width whatever pen it was drawn
with: ``thin`` finds the centre lines, ``redraw`` draws them again with another round pen, and
``stroke_width`` measures the pen (of a drawing, or of an MNIST digit to compare with). ``trace``
turns an MNIST digit into strokes, so that it can be drawn again like a person's drawing.

What this module deliberately is not: a general skeletoniser. ``thin`` keeps topology and the
strokes' ends for pen strokes a few to ~30 pixels wide; it does not prune spurs of ragged outlines
(scans, photos), which pen strokes on a canvas do not have.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from PIL import Image
from scipy import ndimage

TRACE_SCALE = 4  # MNIST digits are upsampled 4x (to 112x112) before tracing: smoother centre lines


def stroke_width(ink: np.ndarray) -> float:
    """Estimate the pen width of an ink map, in its own pixels.

    With A the ink area (sum of ink) and P the outline length (sum of |gradient|, the co-area
    formula), a stroke of width w and length L with round caps has A = wL + pi w^2/4 and
    P = 2L + pi w, hence pi/2 w^2 - P w + 2A = 0 and w = (P - sqrt(P^2 - 4 pi A)) / pi. It is exact
    for a straight stroke and for a dot, and a little high for loops (about w^2 / L).

    Any shape works: everything outside the map counts as background, so ink touching an edge
    (a drawing cropped to its ink) has its whole outline measured. The map is framed with two
    pixels of background, as np.gradient's central differences need to see a step whole; along
    an axis one pixel thick (a thin straight stroke cropped and shrunk) with one, where the
    one-sided difference at the frame counts each side of the pixel in full. Measured as cropped,
    without the frame, real writers' digits drawn with a pen a quarter of their size came out
    0.31 of their size wide instead of 0.28 (0.42 instead of 0.34 for the widest tenth), and one
    in thirty was refused as a blot (digits.preprocess, DOT_RATIO).
    """
    ink = np.asarray(ink, dtype=np.float64)
    ink = np.pad(ink, [(1, 1) if side < 2 else (2, 2) for side in ink.shape])
    gy, gx = np.gradient(ink)  # (H, W) each
    perimeter = float(np.sqrt(gx * gx + gy * gy).sum())
    area = float(ink.sum())
    if perimeter <= 0.0:
        return 0.0
    disc = max(perimeter * perimeter - 4.0 * np.pi * area, 0.0)
    return (perimeter - np.sqrt(disc)) / np.pi


def strokes_mask(work: np.ndarray, stray_fraction: float) -> tuple[np.ndarray, bool]:
    """bool (h, w): the pixels of the strokes in ``work``, stray dots left out; and whether a
    stray dot was left out.

    A pixel belongs to a stroke when it holds at least half the ink of its brightest neighbour:
    the half-covered edge of a wide stroke, and the ridge of a line so thin that shrinking it to
    ``work`` left it faint. Detached blobs with < ``stray_fraction`` of the ink are stray taps.
    """
    mask = (work >= 0.5 * ndimage.maximum_filter(work, size=5)) & (work >= 0.1 * work.max())
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count <= 1:
        return mask, False
    mass = ndimage.sum_labels(work, labels, index=np.arange(1, count + 1))  # (count,)
    keep = mass >= stray_fraction * mass.sum()
    return np.concatenate([[False], keep])[labels], not keep.all()


# ------------------------------------------------------------------------------------------------
# thinning


def _removable_table() -> np.ndarray:
    """bool (2, 256): may a pixel be peeled off in sub-step 0 or 1 of Guo-Hall thinning?

    The index is a byte of the 8 neighbours, bit k for P(k+2), clockwise from north (P2) to
    north-west (P9). A pixel goes when its neighbours form exactly one 8-connected group (C = 1:
    removing it neither splits the shape nor opens a hole), it is not a stroke's end (N >= 2) nor
    inside a thick part (N <= 3), and it is on the side the sub-step peels: sub-step 0 takes the
    east side and north-east corners, sub-step 1 the west side and south-west corners.

    Guo & Hall (CACM 32(3), 1989), not Zhang & Suen (1984): Zhang-Suen erases a diagonal line
    two pixels wide from its end, so a thick diagonal stroke (the stem of a 6 drawn with a fat
    pen) could be eaten away down to the loop it joins.
    """
    table = np.zeros((2, 256), dtype=bool)
    for code in range(256):
        p2, p3, p4, p5, p6, p7, p8, p9 = ((code >> k) & 1 for k in range(8))
        groups = ((not p2) and (p3 or p4)) + ((not p4) and (p5 or p6)) \
            + ((not p6) and (p7 or p8)) + ((not p8) and (p9 or p2))
        n1 = (p9 | p2) + (p3 | p4) + (p5 | p6) + (p7 | p8)
        n2 = (p2 | p3) + (p4 | p5) + (p6 | p7) + (p8 | p9)
        ok = groups == 1 and 2 <= min(n1, n2) <= 3
        table[0, code] = ok and ((p2 | p3 | (1 - p5)) & p4) == 0
        table[1, code] = ok and ((p6 | p7 | (1 - p9)) & p8) == 0
    return table


_REMOVABLE = _removable_table()
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2..P9


def thin_reference(mask: np.ndarray) -> np.ndarray:
    """``thin`` in NumPy, one whole-image pass per sub-step: the slow twin the kernel is tested
    against, and the clearest statement of the algorithm. Same inputs and result as ``thin``."""
    h, w = mask.shape
    img = np.pad(mask.astype(np.uint8), 1)  # (H+2, W+2), so every pixel has 8 neighbours
    centre = img[1:-1, 1:-1]  # a view: peeling it peels img
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            code = np.zeros((h, w), dtype=np.uint8)  # (H, W), the neighbour byte of each pixel
            for bit, (dy, dx) in enumerate(_NEIGHBOURS):
                code |= img[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] << bit
            remove = (centre == 1) & _REMOVABLE[step][code]
            if remove.any():  # all at once: the sub-step sees the image as it was before it
                centre[remove] = 0
                changed = True
    return centre.astype(bool)


@njit(cache=True, nogil=True)
def _thin_kernel(img: np.ndarray, table: np.ndarray) -> None:
    """Peel ``img``, uint8 (H+2, W+2) with a zero border, to its skeleton in place.

    ``table`` is bool (2, 256) from ``_removable_table``. Each sub-step first lists the pixels it
    removes, then removes them, exactly as ``thin_reference``'s whole-image pass does.
    """
    h, w = img.shape
    ys = np.empty(h * w, dtype=np.int64)
    xs = np.empty(h * w, dtype=np.int64)
    changed = True
    while changed:
        changed = False
        for step in range(2):
            count = 0
            for y in range(1, h - 1):
                for x in range(1, w - 1):
                    if img[y, x] == 0:
                        continue
                    code = (img[y - 1, x] | (img[y - 1, x + 1] << 1) | (img[y, x + 1] << 2)
                            | (img[y + 1, x + 1] << 3) | (img[y + 1, x] << 4)
                            | (img[y + 1, x - 1] << 5) | (img[y, x - 1] << 6)
                            | (img[y - 1, x - 1] << 7))
                    if table[step, code]:
                        ys[count] = y
                        xs[count] = x
                        count += 1
            for k in range(count):
                img[ys[k], xs[k]] = 0
            if count > 0:
                changed = True


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a shape to one-pixel-wide centre lines (Guo & Hall, CACM 32(3), 1989).

    Inputs:  mask, bool (H, W).
    Returns: bool (H, W), the skeleton: each pass peels the boundary pixels whose removal keeps
             the shape connected, its holes and the strokes' ends in place, until nothing changes.
             A numba kernel; ``thin_reference`` is the same in NumPy.
    """
    img = _framed(np.asarray(mask, dtype=bool), 1, np.uint8)  # (H+2, W+2)
    _thin_kernel(img, _REMOVABLE)
    return img[1:-1, 1:-1].astype(bool)


# ------------------------------------------------------------------------------------------------
# redrawing


@njit(cache=True, nogil=True)
def stamp_pen(skeleton: np.ndarray, radius: float) -> np.ndarray:
    """Ink of a round pen of ``radius`` px moved along ``skeleton``, bool (H, W) -> float32 (H, W).

    Each pixel gets clip(radius + 0.5 - d, 0, 1), d its distance to the nearest skeleton pixel:
    the same as computing d with a full Euclidean distance transform, but only the pixels
    within radius + 0.5 of a centre line are visited (a disc stamped at each skeleton pixel),
    which is a few thousand steps instead of a pass over the whole image.
    ``stamp_pen_reference`` is the same with scipy's distance transform.
    """
    h, w = skeleton.shape
    reach = int(np.ceil(radius + 0.5))
    nearest = np.full((h, w), np.inf)
    for y in range(h):
        for x in range(w):
            if not skeleton[y, x]:
                continue
            for yy in range(max(0, y - reach), min(h, y + reach + 1)):
                for xx in range(max(0, x - reach), min(w, x + reach + 1)):
                    d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2)
                    if d < nearest[yy, xx]:
                        nearest[yy, xx] = d
    out = np.empty((h, w), dtype=np.float32)
    for y in range(h):
        for x in range(w):
            out[y, x] = min(1.0, max(0.0, radius + 0.5 - nearest[y, x]))
    return out


def stamp_pen_reference(skeleton: np.ndarray, radius: float) -> np.ndarray:
    """NumPy/scipy twin of ``stamp_pen``."""
    along = ndimage.distance_transform_edt(~skeleton)  # to the nearest centre line
    return np.clip(radius + 0.5 - along, 0.0, 1.0).astype(np.float32)


@njit(cache=True, nogil=True)
def _lower_envelope(f, n, d, v, z):
    """d[q] = min over p of (q - p)^2 + f[p], for q < n: the 1-D squared distance transform of
    Felzenszwalb & Huttenlocher (Theory of Computing 8, 2012) in O(n). v and z are scratch:
    int64 (n,) and float64 (n + 1,)."""
    k = 0
    v[0], z[0], z[1] = 0, -np.inf, np.inf
    for q in range(1, n):
        s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k])
        while s <= z[k]:  # the parabola from q hides the last one of the envelope
            k -= 1
            s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k])
        k += 1
        v[k], z[k], z[k + 1] = q, s, np.inf
    k = 0
    for q in range(n):
        while z[k + 1] < q:
            k += 1
        d[q] = (q - v[k]) ** 2 + f[v[k]]


@njit(cache=True, nogil=True)
def distance_inside(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance from each True pixel of ``mask``, bool (H, W), to the nearest False
    one (0 on False pixels), float64 (H, W): exact, down the columns then along the rows.
    ``scipy.ndimage.distance_transform_edt(mask)`` is its twin; this takes a third of its time
    on a 90x60 mask (0.09 ms against 0.28).
    A mask without a False pixel gets distances beyond any in it."""
    h, w = mask.shape
    far = float(h * h + w * w + 1)  # farther than any two pixels: exact in float64, unlike inf
    n = max(h, w)
    f, d = np.empty(n), np.empty(n)
    v, z = np.empty(n, dtype=np.int64), np.empty(n + 1)
    out = np.empty((h, w))  # squared distances down the columns first
    for x in range(w):
        for y in range(h):
            f[y] = far if mask[y, x] else 0.0
        _lower_envelope(f, h, d, v, z)
        for y in range(h):
            out[y, x] = d[y]
    for y in range(h):
        for x in range(w):
            f[x] = out[y, x]
        _lower_envelope(f, w, d, v, z)
        for x in range(w):
            out[y, x] = np.sqrt(d[x])
    return out


def redraw(mask: np.ndarray, skeleton: np.ndarray, pen: float) -> np.ndarray:
    """Draw the centre lines of a shape again with a round pen ``pen`` px wide.

    Inputs:  mask, bool (h, w), the strokes; skeleton, bool (h, w), their centre lines (``thin``);
             pen, the new pen width in these pixels.
    Returns: float32 (h + 2p, w + 2p) in 0..1, padded by p = ceil(pen / 2) + 2 so a wider pen
             fits. Ink falls from 1 to 0 over the pixel around distance pen/2 from the nearest
             centre line (the caller's reduction anti-aliases it).

    Where the drawing is much wider than its pen (a loop filled in by a thick pen), the blot is
    kept too, its outline moved in as much as the strokes', so a filled loop stays filled. A blot
    is what lies deeper than 1.5 pen half-widths inside the ink, which the corners and junctions
    of ordinary strokes (about 1.4 half-widths at most) never do.
    """
    pad = int(np.ceil(pen / 2)) + 2
    mask, skeleton = _framed(mask, pad), _framed(skeleton, pad)
    inside = distance_inside(mask)  # to the nearest background pixel
    half_width = float(np.median(inside[skeleton])) - 0.5  # of the pen as drawn
    redrawn = stamp_pen(skeleton, pen / 2)
    core = inside > 1.5 * half_width + 0.5  # deeper inside than any stroke: a blot
    if not core.any():
        return redrawn.astype(np.float32)
    # The blot, its outline moved in like the strokes': the core grown back by what is left.
    grow = 0.5 * half_width + pen / 2
    blot = np.clip(grow + 0.5 - distance_inside(~core), 0.0, 1.0)
    return np.maximum(redrawn, blot).astype(np.float32)


def _framed(a: np.ndarray, width: int, dtype=None) -> np.ndarray:
    """(H, W) -> (H + 2 width, W + 2 width): ``a`` in a frame of zeros, as np.pad(a, width)
    makes it without np.pad's 20 us of Python (it was called four times a drawing)."""
    out = np.zeros((a.shape[0] + 2 * width, a.shape[1] + 2 * width), dtype or a.dtype)
    out[width:width + a.shape[0], width:width + a.shape[1]] = a
    return out


# ------------------------------------------------------------------------------------------------
# tracing


def trace(digit: np.ndarray) -> np.ndarray:
    """The strokes of an MNIST digit as segments between neighbouring skeleton pixels.

    Inputs:  digit, uint8 (28, 28), MNIST polarity.
    Returns: float64 (S, 2, 2), S segments of two (x, y) points in 28x28 pixel units; a lone
             skeleton pixel becomes a segment of length zero (a dot).
    """
    side = 28 * TRACE_SCALE
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR)
    skeleton = thin(np.asarray(big) >= 128)  # (112, 112)
    ys, xs = np.nonzero(skeleton)
    pixels = list(zip(ys.tolist(), xs.tolist(), strict=True))  # row by row: a fixed order
    on = set(pixels)
    segments = []
    for y, x in pixels:
        linked = False
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1), (0, -1), (-1, -1), (-1, 0), (-1, 1)):
            if (y + dy, x + dx) in on:
                linked = True
                if (dy, dx) in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each pair once
                    segments.append(((x, y), (x + dx, y + dy)))
        if not linked:
            segments.append(((x, y), (x, y)))
    return (np.array(segments, dtype=np.float64).reshape(-1, 2, 2) + 0.5) / TRACE_SCALE
