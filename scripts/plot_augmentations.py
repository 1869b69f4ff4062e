"""Draw what training.augment does to real MNIST digits: docs/augmentations.png.

    python -m scripts.plot_augmentations [--data-dir DIR] [--out PATH] [--seed N] [--elastic F]
    python -m scripts.plot_augmentations --time    # how long augment_batch takes, no picture

One column per digit 0..9 (the first of each in the training set); the top row is the original,
the rows below are independent draws of `augment_batch` with its default strengths (plus an
elastic wobble of --elastic pixels, off by default as in augment_batch). Ink is drawn dark on white,
the way people see their own drawing, although the network sees 1.0 = ink.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from nn.data import load_mnist
from training.augment import augment_batch
from training.mnist import resolve_data_dir
from training.report import pyplot

ROWS = 8  # the original, then 7 augmented versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DIR, "
                        "else data/mnist)")
    parser.add_argument("--out", default="docs/augmentations.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--elastic", type=float, default=0.0, help="elastic wobble, pixels")
    parser.add_argument("--time", action="store_true", help="print the median time of "
                        "augment_batch on a batch of 128 images instead of drawing")
    args = parser.parse_args()
    if args.time:
        time_augment_batch()
        return

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


def time_augment_batch(batch_size: int = 128, repeats: int = 300) -> None:
    """Median time of augment_batch on a batch of MNIST-sized images, one thread."""
    rng = np.random.default_rng(0)
    images = rng.random((batch_size, 28, 28), dtype=np.float32)
    for label, kwargs in (("defaults", {}), ("elastic=1.5", {"elastic": 1.5})):
        augment_batch(images, rng, **kwargs)  # compile (or load the cache) outside the timing
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            augment_batch(images, rng, **kwargs)
            times.append(time.perf_counter() - start)
        print(f"augment_batch, {batch_size} images, {label}: median "
              f"{1e3 * np.median(times):.2f} ms over {repeats} runs (one thread)")


if __name__ == "__main__":
    main()
