"""Draw what training.augment does to real MNIST digits: docs/augmentations.png.

    python -m scripts.plot_augmentations [--data-dir DIR] [--out PATH] [--seed N] [--elastic F]

One column per digit 0..9 (the first of each in the training set); the top row is the original,
the rows below are independent draws of `augment_batch` with its default strengths (plus an
elastic wobble of --elastic pixels, off by default as in augment_batch). Ink is drawn dark on white,
the way people see their own drawing, although the network sees 1.0 = ink.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from training.augment import augment_batch
from training.mnist import resolve_data_dir
from training.report import pyplot
from nn.data import load_mnist

ROWS = 8  # the original, then 7 augmented versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DIR, "
                        "else data/mnist)")
    parser.add_argument("--out", default="docs/augmentations.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--elastic", type=float, default=0.0, help="elastic wobble, pixels")
    args = parser.parse_args()

    images, labels = load_mnist(resolve_data_dir(args.data_dir), "train")
    first = [int(np.argmax(labels == digit)) for digit in range(10)]
    originals = images[first].astype(np.float32) / 255  # (10, 28, 28)
    rng = np.random.default_rng(args.seed)
    rows = [originals] + [augment_batch(originals, rng, elastic=args.elastic)
                          for _ in range(ROWS - 1)]

    plt = pyplot()
    fig, axes = plt.subplots(ROWS, 10, figsize=(10, ROWS + 0.4))
    for r, batch in enumerate(rows):
        for c in range(10):
            ax = axes[r, c]
            ax.imshow(batch[c], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel("original" if r == 0 else f"draw {r}", fontsize=9)
    title = "training.augment.augment_batch, default strengths"
    fig.suptitle(title + (f", elastic={args.elastic:g}" if args.elastic else ""), fontsize=11)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
