"""Digits in the styles MNIST's writers rarely used, drawn as pen strokes, for training.

MNIST was written on paper forms by American census staff and students. People drawing on a
screen also write a 1 with a long flag or a base, a European 1 (a long up-stroke), a 7 with a
crossbar, a closed 4, a looped 2... A model trained on MNIST alone reads a long-flagged 1 as a 7
with high confidence. This module draws every digit from small random stroke programs (each
digit has several styles, every length, angle and curve jittered), and draws them by a random
hand through the server's own preprocessing (training/handwriting.py). train.py adds 16,500 of
these (30% of MNIST's training digits, --synthetic) to the training images; validation and test
stay real digits.

What this is not: handwriting. The strokes are one programmer's idea of each style; they
widen what the network has seen, they do not replace people's digits.
"""

import numpy as np

from training.handwriting import handwriting_images

TREMOR = 0.012  # no hand is steady: every point moves by about 1% of the digit's size


def _arc(cx, cy, rx, ry, start, stop, n=24):
    """Points on an ellipse from angle start to stop, in degrees (0 = right, 90 = down)."""
    t = np.radians(np.linspace(start, stop, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def _u(rng, low, high):
    return float(rng.uniform(low, high))


# Each function returns a list of strokes for one random instance of its digit; a stroke is a
# list of (x, y) points in the unit square, x to the right and y down.
def _zero(r):
    rx = _u(r, 0.15, 0.42)
    oval = [_arc(0.5, 0.5, rx, 0.45, -95 + _u(r, -20, 20), 270 + _u(r, 0, 30))]
    style = r.random()
    if style < 0.15:                                 # slashed, through the oval or beyond it
        reach = _u(r, 0.7, 1.2)
        return oval + [[(0.5 - reach * rx, _u(r, 0.75, 0.95)),
                        (0.5 + reach * rx, _u(r, 0.05, 0.25))]]
    if style < 0.3:                                  # a shorter oval with a long, steep slash
        ry, lean = _u(r, 0.18, 0.34), _u(r, -0.1, 0.45)  # out of both ends, like a phi
        oval = [_arc(0.5, 0.5, rx, ry, -95 + _u(r, -20, 20), 270 + _u(r, 0, 30))]
        half = _u(r, ry + 0.1, 0.5)
        slash = [(0.5 + lean * half, 0.5 - half), (0.5 - lean * half, 0.5 + half)]
        return oval + [slash] if r.random() < 0.7 else [slash] + oval
    return oval


def _one(r):
    top, bottom = (0.5 + _u(r, -0.08, 0.08), 0.05), (0.5 + _u(r, -0.08, 0.08), 0.95)
    style = r.random()
    flag_length, flag_angle = _u(r, 0.1, 0.5), np.radians(_u(r, 0, 60))
    flag = (top[0] - flag_length * np.cos(flag_angle), top[1] + flag_length * np.sin(flag_angle))
    if style < 0.2:                                  # a plain stick
        return [[top, bottom]]
    if style < 0.55:                                 # a flag, short to long, steep to nearly
        return [[flag, top, bottom]]                 # flat (read as a 7 by MNIST alone)
    if style < 0.7:                                  # European: a long up-stroke
        return [[(top[0] - _u(r, 0.25, 0.4), _u(r, 0.3, 0.5)), top, bottom]]
    base = [(bottom[0] - _u(r, 0.12, 0.3), bottom[1]), (bottom[0] + _u(r, 0.12, 0.3), bottom[1])]
    if r.random() < 0.5:                             # flag and base, the base a second stroke
        return [[flag, top, bottom], base]
    return [[flag, top, bottom, base[0], base[1]]]   # ... or in one go, like a 2 (MNIST says)


def _two(r):
    head = _arc(0.5, 0.28, _u(r, 0.25, 0.35), _u(r, 0.18, 0.26), 190 + _u(r, -20, 10), 360)
    if r.random() < 0.3:                             # a loop at the bottom left
        return [head + [(0.3, 0.8)] + _arc(0.3, 0.86, 0.08, 0.07, 270, 0) + [(0.85, 0.9)]]
    return [head + [(_u(r, 0.1, 0.25), 0.93), (_u(r, 0.75, 0.95), 0.93)]]


def _three(r):
    if r.random() < 0.3:                             # a flat top
        return [[(0.2, 0.06), (0.8, 0.06), (0.45, 0.42)] + _arc(0.45, 0.68, 0.32, 0.26, 270, 520)]
    return [_arc(0.45, 0.27, _u(r, 0.22, 0.32), 0.22, 200, 450)
            + _arc(0.45, 0.72, _u(r, 0.26, 0.34), 0.24, 270, 520)]


def _four(r):
    x = _u(r, 0.55, 0.72)
    style = r.random()
    if style < 0.35:                                 # closed, in one stroke
        return [[(x, 0.95), (x, 0.05), (_u(r, 0.1, 0.25), 0.62), (0.88, 0.62)]]
    if style < 0.55:                                 # open, in one stroke, like an "h" or a "u":
        left = _u(r, 0.12, 0.3)                      # down, across, up and down again
        bar = _u(r, 0.5, 0.62)
        if r.random() < 0.5:
            body = [(left, 0.05), (left + _u(r, 0.0, 0.08), bar), (x, bar)]
        else:
            body = [(left, 0.05)] + _arc((left + x) / 2, bar - 0.1, (x - left) / 2, 0.12, 180, 0)
        return [body + [(x, _u(r, 0.05, 0.2)), (x + _u(r, -0.05, 0.05), 0.95)]]
    return [[(_u(r, 0.2, 0.45), 0.05), (0.15, 0.6), (0.88, 0.6)], [(x, _u(r, 0.2, 0.4)), (x, 0.95)]]


def _five(r):
    top = [(_u(r, 0.7, 0.9), 0.07), (0.3, 0.07), (0.27, 0.45)]
    belly = _arc(0.5, 0.66, _u(r, 0.25, 0.33), 0.27, 235, 500)
    if r.random() < 0.5:                             # the top bar as a second stroke
        return [top[1:] + belly, top[:2]]
    return [top + belly]


def _six(r):
    loop = _arc(0.5, 0.68, _u(r, 0.22, 0.3), 0.26, 200, 560)
    return [[(_u(r, 0.55, 0.75), 0.04), (_u(r, 0.3, 0.42), _u(r, 0.3, 0.45))] + loop]


def _seven(r):
    end = (_u(r, 0.3, 0.55), 0.95)
    stroke = [(0.12, 0.08), (0.88, 0.08), end]
    if r.random() < 0.25:                            # a hook at the left end of the bar
        stroke = [(0.12, _u(r, 0.18, 0.28))] + stroke
    strokes = [stroke]
    if r.random() < 0.4:                             # a crossbar
        y = _u(r, 0.45, 0.55)
        strokes.append([(_u(r, 0.25, 0.4), y), (_u(r, 0.7, 0.85), y)])
    return strokes


def _eight(r):
    top = _arc(0.5, 0.28, _u(r, 0.18, 0.26), 0.22, 90, -270)
    bottom = _arc(0.5, 0.72, _u(r, 0.22, 0.3), 0.23, -90, 270)
    return [top + bottom] if r.random() < 0.6 else [top, bottom]


def _nine(r):
    rx = _u(r, 0.12, 0.28)                           # a small loop fills in with a thick pen
    head = _arc(0.72 - rx, 0.28, rx, _u(r, 0.12, 0.23), 0, 365)
    x = 0.72
    style = r.random()
    if style < 0.4:                                  # a straight tail, upright or slanted
        return [head + [(x, 0.3), (x - _u(r, 0.0, 0.3), 0.95)]]
    if style < 0.7:                                  # a tail hooking back to the left, like a g
        radius = _u(r, 0.2, 0.4)
        return [head + [(x, 0.3), (x, 0.65)]
                + _arc(x - radius, 0.65, radius, _u(r, 0.2, 0.3), 0, _u(r, 110, 200))]
    return [head + [(x, 0.3), (x, 0.7)] + _arc(0.47, 0.7, 0.25, 0.25, 0, 120)]


DIGITS = (_zero, _one, _two, _three, _four, _five, _six, _seven, _eight, _nine)


def synthetic_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n drawn digits, classes balanced: (images float32 (n, 28, 28) in 0..1, labels int64 (n,))."""
    labels = rng.permutation(np.arange(n) % 10)
    strokes = [[np.asarray(stroke, dtype=np.float64) for stroke in DIGITS[digit](rng)]
               for digit in labels]
    return handwriting_images(strokes, rng, tremor=TREMOR), labels.astype(np.int64)
