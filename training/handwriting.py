"""Pen strokes -> training images, the way the page would see them drawn by many different hands.

A digit written with a pen (a real writer's from UNIPEN, a style program's from synthetic.py,
a person's from the page) becomes a 28x28 training image here, through the server's own
preprocessing, so the network learns from exactly what it will be shown:

1. a random hand (``random_hand``): a little rotation, slant and aspect, and optionally a
   tremor of the points;
2. one of the two ways a drawing reaches the server (``draw``): its strokes
   (``strokes_to_mnist``: the centre lines redrawn with MNIST's pen), or a canvas drawn with a
   random pen and read back like a PNG (``to_mnist``: cropped, thinned and redrawn), which teaches
   the network what thinning leaves of thick pens and filled loops.

Training-time augmentation (training/augment.py) then distorts every batch further.

What this is not: a source of new shapes. It varies how a digit is drawn, not what it looks like.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence

import numpy as np

from digits.canvas import place_strokes, render
from digits.drawing import BlankDrawingError
from digits.preprocess import strokes_to_mnist, to_mnist

ROTATION = 8.0  # degrees, either way
SLANT = 0.3  # shear, either way: columns move by up to 0.3 px per row
ASPECT = (-0.2, 0.15)  # log of width / height: narrower more often than wider
CANVAS = 160  # px: the side of the canvas of the PNG way (preprocessing makes it 28x28 anyway)
SIZE = (0.45, 0.9)  # the drawing's longer side, as a fraction of that canvas
PEN = (0.04, 0.2)  # the pen, as a fraction of the drawing's longer side


def random_hand(strokes: Sequence[np.ndarray], rng: np.random.Generator,
                tremor: float = 0.0) -> list[np.ndarray]:
    """The strokes as another hand might have drawn them: rotated, slanted, stretched.

    Inputs:  strokes, float (P, 2) arrays of (x, y), y down, in any units; tremor, the standard
             deviation of a random shift of every point, as a fraction of the drawing's size.
    Returns: float64 (P, 2) arrays, in units of the drawing's size, centred on 0.
    """
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    points = np.concatenate(arrays)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    size = max(float(np.ptp(points, axis=0).max()), 1e-9)
    angle = np.radians(rng.uniform(-ROTATION, ROTATION))
    c, s = np.cos(angle), np.sin(angle)
    aspect = np.exp(rng.uniform(*ASPECT))
    transform = np.array([[c, -s], [s, c]]) @ np.array([[aspect, rng.uniform(-SLANT, SLANT)],
                                                        [0.0, 1.0]])
    out = []
    for a in arrays:
        moved = (a - centre) / size
        if tremor:
            moved = moved + rng.normal(0.0, tremor, moved.shape)
        out.append(moved @ transform.T)
    return out


def draw(strokes: Sequence[np.ndarray], rng: np.random.Generator, png_way: bool) -> np.ndarray:
    """One drawing of the strokes as the server would read it: float32 (28, 28) in 0..1.

    png_way False: from the strokes themselves; True: from a canvas drawn with a random pen.
    Raises BlankDrawingError when the pen makes a blot of it (rare; draw again).
    """
    if not png_way:
        return strokes_to_mnist(list(strokes))
    size = rng.uniform(*SIZE)
    pen = rng.uniform(*PEN) * size * CANVAS
    placed = place_strokes(strokes, CANVAS, size, pen, where=rng.uniform(0, 1, 2))
    return to_mnist(render(placed, (CANVAS, CANVAS), pen, smoothing=False))


def handwriting_images(drawings: Sequence[Sequence[np.ndarray]], rng: np.random.Generator, *,
                       png_fraction: float = 0.5, tremor: float = 0.0) -> np.ndarray:
    """Every drawing drawn once by a random hand: float32 (N, 28, 28) in 0..1, MNIST polarity.

    A share ``png_fraction`` of them goes the PNG way (see ``draw``), the rest the strokes way.
    The work is cut into CHUNKS pieces, each with its own generator seeded from ``rng``, and
    spread over the cores where processes can fork: the same images for the same ``rng``
    whatever the number of cores (20,000 drawings: 24 s on one core, 13 s on two).
    """
    seeds = rng.integers(2**63, size=CHUNKS)
    bounds = np.linspace(0, len(drawings), CHUNKS + 1).astype(int)
    jobs = [(drawings[a:b], seed, png_fraction, tremor)
            for a, b, seed in zip(bounds[:-1], bounds[1:], seeds)]
    cores = os.cpu_count() or 1
    if cores > 1 and len(drawings) >= 1000 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(cores) as pool:
            parts = pool.map(_draw_chunk, jobs)
    else:
        parts = [_draw_chunk(job) for job in jobs]
    return np.concatenate(parts) if parts else np.zeros((0, 28, 28), np.float32)


CHUNKS = 8


def _draw_chunk(job) -> np.ndarray:
    drawings, seed, png_fraction, tremor = job
    rng = np.random.default_rng(seed)
    images = np.empty((len(drawings), 28, 28), dtype=np.float32)
    for i, strokes in enumerate(drawings):
        while True:
            try:
                images[i] = draw(random_hand(strokes, rng, tremor), rng,
                                 png_way=rng.random() < png_fraction)
                break
            except BlankDrawingError:  # a thick pen on a tiny loop made a blot: draw again
                continue
    return images
