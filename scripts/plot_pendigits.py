"""Draw docs/pendigits.png: pendigits' coarse tablet polylines, smoothed, and what the network sees.

    python -m scripts.plot_pendigits                   # -> docs/pendigits.png
    python -m scripts.plot_pendigits --out /tmp/p.png --pendigits-dir DIR

One digit of each of the four shapes the issue names (a 1 with a long up-stroke, a 7 with a bar
across a curved stem, a 4 written in one stroke, a 9 with a hooked tail), from training writers
held out of training (training.unipen.VALIDATION). Each column: the strokes as the tablet
recorded them (a dot a sample, 100 ms apart), the same strokes smoothed
(training.pendigits.smooth_strokes, what train.py draws a share of them as), and the 28x28
images the network sees of each (digits.preprocess.strokes_to_mnist).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from digits.preprocess import strokes_to_mnist
from training.pendigits import load_pendigits, resolve_pendigits_dir, smooth_strokes
from training.report import pyplot
from training.unipen import is_held_out

OUT = "docs/pendigits.png"
LABELS = (1, 7, 4, 9, 1, 7, 4, 9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--pendigits-dir", default=None,
                        help="default $PENDIGITS_DIR, else data/ or ../shared/pendigits")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    folder = resolve_pendigits_dir(args.pendigits_dir)
    if folder is None:
        parser.error("no pendigits folder: pass --pendigits-dir or set PENDIGITS_DIR")
    held = [d for d in load_pendigits(folder, "train") if is_held_out(d.writer)]
    rng = np.random.default_rng(args.seed)
    picks = []
    for label in LABELS:
        pool = [d for d in held if d.label == label and all(d is not p for p in picks)]
        picks.append(pool[int(rng.integers(len(pool)))])
    plt = pyplot()
    fig, axes = plt.subplots(4, len(picks), figsize=(1.6 * len(picks), 6.6))
    for col, digit in enumerate(picks):
        smooth = smooth_strokes(digit.strokes)
        for row, strokes in ((0, digit.strokes), (1, smooth)):
            ax = axes[row, col]
            for s in strokes:
                ax.plot(s[:, 0], s[:, 1], "-", color="#3366aa", lw=1.5,
                        marker="o" if row == 0 else None, ms=2.5)
            ax.set_aspect("equal")
            ax.invert_yaxis()
        axes[2, col].imshow(strokes_to_mnist(list(digit.strokes)), cmap="gray_r")
        axes[3, col].imshow(strokes_to_mnist(list(smooth)), cmap="gray_r")
        axes[0, col].set_title(f"{digit.label}, {digit.writer}", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, name in enumerate(("as recorded", "smoothed", "seen: recorded", "seen: smoothed")):
        axes[row, 0].set_ylabel(name, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
