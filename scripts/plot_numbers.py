"""Draw docs/numbers.png: how a number is cut into digits (digits/numbers.py, docs/numbers.md).

    python -m scripts.plot_numbers                 # -> docs/numbers.png
    python -m scripts.plot_numbers --seed 3 --out /tmp/numbers.png

Top: a number composed from a training writer's digits (held out of training), as strokes, with
every candidate piece the search scored (a bar under the strokes it spans, its best digit and its
score) and the chosen grouping in colour. Bottom: the same number as a PNG with its digits'
ink touching: the paths along which the blob may be cut (digits/cut_paths.py), and the pieces
chosen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import nn
from digits.drawing import load_drawing
from digits.numbers import read_ink, read_strokes
from training.numbers import compose, number_png
from training.report import pyplot
from training.unipen import load_unipen, resolve_unipen_dir, split_writers
from web.judge import Judge

OUT = "docs/numbers.png"
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--weights", default="weights/mnist_cnn.npz")
    parser.add_argument("--judge", default="weights/not_a_digit.npz")
    args = parser.parse_args(argv)
    judge = Judge(nn.load(args.weights), nn.load(args.judge))
    held = split_writers(load_unipen(resolve_unipen_dir(None), "train"))[1]
    rng = np.random.default_rng(args.seed)
    writers: dict[str, list] = {}
    for d in held:
        writers.setdefault(d.writer, []).append(d)
    own = max(writers.values(), key=len)
    number = compose(own, rng, 4, "close")
    touching = compose(own, rng, 3, "touching")
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 9), height_ratios=[1.2, 1])

    reading = read_strokes(number.strokes, judge.read)
    chosen = {p.atoms: k for k, p in enumerate(reading.pieces)}
    for k, piece in enumerate(reading.pieces):
        for i in piece.strokes:
            s = number.strokes[i]
            top.plot(s[:, 0], s[:, 1], color=COLOURS[k % len(COLOURS)], lw=2.5)
    points = np.concatenate(number.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    step = 0.09 * (high[1] - low[1])
    for row, (atoms, score) in enumerate(sorted(reading.candidates, key=lambda c: (
            min(number.strokes[a][:, 0].min() for a in c[0]), len(c[0])))):
        x0 = min(number.strokes[a][:, 0].min() for a in atoms)
        x1 = max(number.strokes[a][:, 0].max() for a in atoms)
        y = high[1] + (row + 1.5) * step
        win = atoms in chosen
        colour = COLOURS[chosen[atoms] % len(COLOURS)] if win else "0.6"
        top.plot([x0, x1], [y, y], color=colour, lw=5 if win else 2.5, solid_capstyle="butt")
        top.text(x1 + step * 0.3, y, f"strokes {list(atoms)}: {score:+.1f}", va="center",
                 fontsize=7, color="black" if win else "0.4")
    top.set_title(f"{number.text} as strokes: every candidate piece and its score; "
                  f"read {reading.number(judge.threshold)!r}", fontsize=10)
    top.invert_yaxis()
    top.set_aspect("equal")
    top.axis("off")

    ink = load_drawing(number_png(touching, rng))
    reading = read_ink(ink, judge.read, judge.threshold)
    bottom.imshow(1 - ink, cmap="gray", vmin=0, vmax=1)
    for path in reading.cuts:
        bottom.plot(path[:, 0], path[:, 1], color="tab:red", ls="--", lw=1)
    for k, piece in enumerate(reading.pieces):
        x0, y0, x1, y1 = piece.box
        bottom.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2,
                                       color=COLOURS[k % len(COLOURS)]))
        bottom.text(x0, y0 - 3, str(piece.digit), color=COLOURS[k % len(COLOURS)], fontsize=12)
    bottom.set_title(f"{touching.text} as a PNG, ink touching: the paths tried as cuts (red), "
                     f"the pieces chosen; read {reading.number(judge.threshold)!r}", fontsize=10)
    bottom.axis("off")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
