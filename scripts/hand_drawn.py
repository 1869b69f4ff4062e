"""Digits drawn the way people draw them on the page, read by preprocess + the committed model.

    python -m scripts.hand_drawn                 # accuracy per style, pen and placement
    python -m scripts.hand_drawn --failures DIR  # also a sheet per failure: canvas, 28x28

evaluate_drawings.py redraws MNIST's own digits, so it never shows a shape MNIST writers rarely
used. This script draws hand-written *styles* as strokes, in unit coordinates (x right, y down):
a 1 with and without a flag and a base, a 7 with and without a crossbar, a 4 open and closed, a 9
with a straight and a curved tail, a 2 with and without a loop, and so on. Each is drawn with the
page's three pens (digits.canvas.PENS: 8.4, 15.4 and 25.2 px on the page's 280 px canvas), black on
transparent as the page exports it, at four placements: centred, slanted, small in a corner and
huge. What it is not: a test set of real people; the shapes are one engineer's idea of them.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import nn
from digits.canvas import EXPORT_SIZE, PENS, place_strokes, render, to_png
from digits.preprocess import BlankDrawingError, preprocess

CANVAS = EXPORT_SIZE


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float,
        n: int = 40) -> list[tuple[float, float]]:
    """Points on an ellipse from angle ``start`` to ``stop`` in degrees (0 = right, 90 = down)."""
    t = np.radians(np.linspace(start, stop, n))
    return list(zip((cx + rx * np.cos(t)).tolist(), (cy + ry * np.sin(t)).tolist(), strict=True))


# digit -> {style: strokes}; a stroke is a list of (x, y) points in the unit square
STYLES: dict[int, dict[str, list[list[tuple[float, float]]]]] = {
    0: {"oval": [arc(0.5, 0.5, 0.28, 0.42, -90, 275)],
        "round": [arc(0.5, 0.5, 0.4, 0.42, -100, 265)],
        "narrow": [arc(0.5, 0.5, 0.16, 0.44, -90, 275)]},
    1: {"stick": [[(0.5, 0.05), (0.5, 0.95)]],
        "flag": [[(0.38, 0.2), (0.55, 0.05), (0.55, 0.95)]],
        "flag_base": [[(0.38, 0.2), (0.55, 0.05), (0.55, 0.95)], [(0.3, 0.95), (0.8, 0.95)]],
        "long_flag": [[(0.3, 0.25), (0.55, 0.05), (0.55, 0.95)]],  # MNIST reads it as a 7
        "european": [[(0.2, 0.4), (0.65, 0.05), (0.6, 0.95)]]},  # so does this one
    2: {"plain": [arc(0.5, 0.3, 0.3, 0.25, 190, 360) + [(0.2, 0.92), (0.85, 0.92)]],
        "loop": [arc(0.5, 0.3, 0.3, 0.25, 190, 360) + [(0.3, 0.8)]
                 + arc(0.3, 0.86, 0.08, 0.07, 270, 0) + [(0.85, 0.9)]],
        "curvy": [arc(0.5, 0.3, 0.3, 0.25, 200, 380) + arc(0.35, 0.95, 0.3, 0.45, 290, 240)
                  + [(0.85, 0.92)]]},
    3: {"round": [arc(0.45, 0.28, 0.28, 0.22, 200, 450) + arc(0.45, 0.72, 0.3, 0.24, 270, 520)],
        "flat_top": [[(0.2, 0.08), (0.8, 0.08), (0.45, 0.42)]
                     + arc(0.45, 0.68, 0.32, 0.26, 270, 520)]},
    4: {"open": [[(0.45, 0.05), (0.15, 0.6), (0.85, 0.6)], [(0.65, 0.3), (0.65, 0.95)]],
        "closed": [[(0.65, 0.95), (0.65, 0.05), (0.15, 0.62), (0.85, 0.62)]],
        "open_one_stroke": [[(0.25, 0.05), (0.2, 0.55), (0.8, 0.55)], [(0.7, 0.1), (0.7, 0.95)]]},
    5: {"classic": [[(0.8, 0.08), (0.3, 0.08), (0.27, 0.45)] + arc(0.5, 0.66, 0.3, 0.27, 240, 500)],
        "two_strokes": [[(0.3, 0.08), (0.27, 0.45)] + arc(0.5, 0.66, 0.3, 0.27, 240, 500),
                        [(0.3, 0.08), (0.8, 0.08)]]},
    6: {"stem": [[(0.62, 0.05), (0.4, 0.35)] + arc(0.5, 0.68, 0.25, 0.27, 200, 560)],
        "curl": [arc(0.75, 0.6, 0.5, 0.55, 250, 180) + arc(0.5, 0.7, 0.25, 0.25, 180, 540)],
        "the_thick6": [[(0.62, 0.18), (0.42, 0.38)] + arc(0.5, 0.63, 0.18, 0.17, 200, 560)]},
    7: {"plain": [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)]],
        "crossbar": [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)], [(0.35, 0.5), (0.8, 0.5)]],
        "hooked": [[(0.15, 0.2), (0.15, 0.08), (0.85, 0.08), (0.45, 0.95)]]},
    8: {"one_stroke": [arc(0.5, 0.28, 0.24, 0.22, 90, -270) + arc(0.5, 0.72, 0.28, 0.23, -90, 270)],
        "snowman": [arc(0.5, 0.27, 0.22, 0.22, 0, 365), arc(0.5, 0.72, 0.28, 0.23, 0, 365)]},
    9: {"straight": [arc(0.45, 0.3, 0.27, 0.25, 0, 365), [(0.72, 0.3), (0.7, 0.95)]],
        "curved": [arc(0.45, 0.3, 0.27, 0.25, 0, 365) + [(0.72, 0.3), (0.7, 0.7)]
                   + arc(0.45, 0.7, 0.25, 0.25, 0, 120)],
        "slanted_tail": [arc(0.5, 0.3, 0.27, 0.25, 0, 365) + [(0.77, 0.3), (0.45, 0.95)]]},
}

# placement -> (longer side as a fraction of the canvas, where in the free room, slant in degrees)
PLACEMENTS = {"centre": (0.6, (0.5, 0.5), 0.0), "slant": (0.6, (0.5, 0.5), 15.0),
              "corner": (0.25, (0.05, 0.05), 0.0), "huge": (0.95, (0.5, 0.5), 0.0)}


def drawings():
    """Yield (digit, style, pen name, placement, png) for every combination."""
    for digit, styles in STYLES.items():
        for style, strokes in styles.items():
            for pen_name, fraction in PENS.items():
                pen = fraction * CANVAS
                for place, (size, where, slant) in PLACEMENTS.items():
                    if pen > 0.2 * size * CANVAS:  # a 25 px pen on a 70 px digit is a blot
                        continue
                    placed = place_strokes(strokes, CANVAS, size, pen, slant, where)
                    png = to_png(render(placed, (CANVAS, CANVAS), pen, smoothing=False))
                    yield digit, style, pen_name, place, png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="weights/mnist_cnn.npz")
    parser.add_argument("--failures", type=Path, default=None, metavar="DIR")
    args = parser.parse_args(argv)
    model = nn.load(args.weights)
    rows, xs = [], []
    for digit, style, pen, place, data in drawings():
        try:
            x = preprocess(data)
        except BlankDrawingError:
            x = np.zeros((28, 28), np.float32)
        rows.append((digit, style, pen, place, data))
        xs.append(x)
    probs = model.predict(np.stack(xs)[:, None].astype(np.float32))  # (N, 10)
    guess = probs.argmax(axis=1)
    truth = np.array([r[0] for r in rows])
    ok = guess == truth
    print(f"hand-drawn styles: {ok.mean():.1%} of {len(rows)} correct")
    for name, key in (("pen", 2), ("placement", 3)):
        cells = [f"{v} {np.mean([o for o, r in zip(ok, rows, strict=True) if r[key] == v]):.1%}"
                 for v in dict.fromkeys(r[key] for r in rows)]
        print(f"  {name:<10} " + ", ".join(cells))
    for (digit, style, pen, place, data), g, p, x in zip(rows, guess, probs, xs, strict=True):
        if g != digit:
            print(f"  wrong: {digit} {style:<15} {pen:<6} {place:<6} read as {g} ({p[g]:.0%})")
            if args.failures is not None:
                args.failures.mkdir(parents=True, exist_ok=True)
                sheet = Image.new("L", (2 * CANVAS, CANVAS), 128)
                canvas = Image.open(io.BytesIO(data)).getchannel("A")
                sheet.paste(Image.eval(canvas, lambda a: 255 - a), (0, 0))
                seen = Image.fromarray((x * 255).astype(np.uint8)).resize((CANVAS, CANVAS),
                                                                          Image.NEAREST)
                sheet.paste(seen, (CANVAS, 0))
                sheet.save(args.failures / f"{digit}_{style}_{pen}_{place}_as{g}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
