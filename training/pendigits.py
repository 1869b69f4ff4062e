"""Pendigits: 44 writers in Istanbul, their pen trajectories, read from JSON-lines files.

    digits = load_pendigits(resolve_pendigits_dir(None), "train")  # --pendigits-dir, else
    digits[0].strokes, digits[0].label, digits[0].writer           # $PENDIGITS_DIR, else
    smooth_strokes(digits[0].strokes)                              # data/ or ../shared/pendigits

The original, unnormalised pendigits (F. Alimoglu and E. Alpaydin, "Methods of Combining Multiple
Classifiers Based on Different Representations for Pen-based Handwriting Recognition", TAINN 96;
E. Alpaydin and F. Alimoglu, "Pen-Based Recognition of Handwritten Digits", UCI Machine Learning
Repository, 1998, doi:10.24432/C5MG6K, CC BY 4.0): 10,992 digits written on a WACOM tablet, split
by writer into train (30 writers, 7,494 digits) and test (14 writers, 3,498). The files are never
part of this repository; this module reads them from where they are. Use "train" for training
and choices, "test" only to measure.

The files have UNIPEN's format (training/unipen.py reads both; a digit's ``lab`` is "tra" or
"tes"). The tablet reported a point every 100 ms, so a fast curve comes as two or three straight
segments: ``smooth_strokes`` passes a Catmull-Rom spline through the points and samples it
densely, as a pointer's events would have traced the same curve.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.unipen import PenDigit, load_pen_digits, resolve_pen_dir

DEFAULT_DIRS = (Path("data") / "pendigits", Path("..") / "shared" / "pendigits")
CREDIT = ("pendigits (Alimoglu and Alpaydin, TAINN 96; UCI Machine Learning Repository, "
          "doi:10.24432/C5MG6K, CC BY 4.0)")
STEP = 0.02  # smooth_strokes samples the curve about this far apart, a share of the digit's size


def resolve_pendigits_dir(pendigits_dir: str | None) -> Path | None:
    """The pendigits folder: the argument, else $PENDIGITS_DIR, else data/pendigits/ or
    ../shared/pendigits/ when they hold the files; None when there is none."""
    return resolve_pen_dir(pendigits_dir, "PENDIGITS_DIR", DEFAULT_DIRS)


def load_pendigits(folder: str | os.PathLike, split: str) -> list[PenDigit]:
    """Every digit of one split, in file order.

    Raises FileNotFoundError (naming the file and what to do) or ValueError (naming the line)
    for a missing or damaged file.
    """
    return load_pen_digits(folder, split, "pendigits", "pendigits")


def smooth_strokes(strokes: Sequence[np.ndarray], step: float = STEP) -> tuple[np.ndarray, ...]:
    """The strokes as a smooth pen would have traced them through the same points.

    Inputs:  strokes, float (P, 2) arrays of (x, y) in any units; step, about the distance
             between two output points (up to half as much again where the curve bends most),
             as a share of the drawing's longer side.
    Returns: float64 (Q, 2) arrays through every input point, Q >= P: each segment replaced by
             the centripetal Catmull-Rom curve (Barry-Goldman's form, alpha 0.5, which neither
             loops nor overshoots at sharp turns) through its two points, the ends of a stroke
             repeated as their own neighbours. A stroke of one or two points stays as it is.
    """
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    points = np.concatenate(arrays)
    size = max(float(np.ptp(points, axis=0).max()), 1e-9)
    return tuple(_catmull_rom(a, step * size) for a in arrays)


def _catmull_rom(points: np.ndarray, step: float) -> np.ndarray:
    # drop repeated points (a pen at rest): they make zero-length knots
    keep = np.r_[True, np.any(np.diff(points, axis=0) != 0, axis=1)]
    points = points[keep]
    if len(points) < 3:
        return points
    padded = np.vstack([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    out = [points[:1]]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1:i + 3]
        # knots spaced by the square root of the distance (centripetal)
        t1 = np.linalg.norm(p1 - p0) ** 0.5
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5
        pieces = max(1, int(np.ceil(np.linalg.norm(p2 - p1) / step)))
        t = np.linspace(t1, t2, pieces + 1)[1:, None]  # (pieces, 1)
        a1 = ((t1 - t) * p0 + t * p1) / t1
        a2 = ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
        a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
        b1 = ((t2 - t) * a1 + t * a2) / t2
        b2 = ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
        out.append(((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1))
    return np.concatenate(out)
