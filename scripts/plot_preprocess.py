"""Draw docs/preprocess_steps.png: two drawings going through every step of digits.preprocess.

    python -m scripts.plot_preprocess [--data-dir DIR] [--out docs/preprocess_steps.png]

The drawings are made like evaluate_drawings.py makes them (an MNIST *test* digit traced and drawn
again with a pen on a transparent 280x280 canvas, as our page exports it): a small digit with a thin
pen near a corner, and a big one with a thick pen. Each row shows the canvas, then exactly the
images ``digits.preprocess.to_mnist_steps`` returns, then the MNIST digit the strokes came from.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from digits.canvas import place_strokes, render, to_png
from digits.preprocess import CENTRE, load_drawing, to_mnist_steps
from digits.strokes import trace
from nn.data import load_mnist
from training.mnist import resolve_data_dir
from training.report import pyplot

# (MNIST test index, drawing conditions): thin pen, small, near the top-left corner; thick, big.
DRAWINGS = (
    (1, {"canvas": 280, "size": 0.3, "pen": 3.0, "slant": 8.0, "background": "transparent",
         "where": [0.04, 0.05]}),
    (18, {"canvas": 280, "size": 0.85, "pen": 30.0, "slant": -6.0, "background": "transparent",
          "where": [0.5, 0.5]}),
)
COLUMNS = (
    ("canvas", "canvas PNG\n(transparent)"),
    ("ink", "ink map\n(alpha)"),
    ("crop", "crop to ink >= 0.5"),
    ("skeleton", "work scale (x4):\ncentre lines"),
    ("thickness", "redrawn with\nMNIST's pen"),
    ("scaled", "longer side 20 px"),
    ("mnist", "28x28, centre of\nmass at (14, 14)"),
    ("original", "the MNIST digit\nit was traced from"),
)


def draw(digit: np.ndarray, cond: dict) -> bytes:
    """An MNIST digit traced and drawn again on a canvas under ``cond``, as a PNG."""
    side, pen = cond["canvas"], cond["pen"]
    strokes = place_strokes(trace(digit), side, cond["size"], pen, cond["slant"], cond["where"])
    return to_png(render(strokes, (side, side), pen, smoothing=False), cond["background"])


def checkerboard(png: bytes) -> np.ndarray:
    """The canvas over a grey checkerboard, so transparency shows: uint8 (H, W, 3)."""
    canvas = Image.open(io.BytesIO(png)).convert("RGBA")
    w, h = canvas.size
    squares = (np.indices((h, w)) // 14).sum(axis=0) % 2  # 14 px squares
    board = np.where(squares[:, :, None] == 1, 235, 205).astype(np.uint8).repeat(3, axis=2)
    under = Image.fromarray(board).convert("RGBA")
    return np.asarray(Image.alpha_composite(under, canvas).convert("RGB"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default $MNIST_DIR)")
    parser.add_argument("--out", type=Path, default=Path("docs") / "preprocess_steps.png")
    args = parser.parse_args(argv)
    images, labels = load_mnist(resolve_data_dir(args.data_dir), "test")
    plt = pyplot()
    fig, axes = plt.subplots(len(DRAWINGS), len(COLUMNS), figsize=(2.0 * len(COLUMNS), 4.9))
    for row, (index, cond) in enumerate(DRAWINGS):
        png = draw(images[index], cond)
        steps = to_mnist_steps(load_drawing(png))
        shown = {"canvas": checkerboard(png), "original": images[index] / 255.0, **steps}
        shown["skeleton"] = np.maximum(steps["work"] * 0.45, steps["skeleton"])
        for col, (key, title) in enumerate(COLUMNS):
            ax = axes[row, col]
            image = shown[key]
            if image.ndim == 3:
                ax.imshow(image, interpolation="nearest")
            else:
                ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            h, w = image.shape[:2]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{w}x{h}", fontsize=8)
            if row == 0:
                ax.set_title(title, fontsize=9)
            if key == "mnist":
                ax.plot([CENTRE], [CENTRE], "+", color="tab:red", markersize=9)
        pen = f"pen {cond['pen']:g} px, digit {cond['size']:.0%} of the canvas"
        axes[row, 0].set_ylabel(f"label {labels[index]}\n{pen}", fontsize=8)
    fig.suptitle("digits.preprocess: a drawing -> the 28x28 image MNIST would have made of it",
                 fontsize=11)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
