"""Evaluate the model on *drawn* digits, not on MNIST's own pixels.

"99% on MNIST, wrong on my drawing" happens because a drawing on the page is not an MNIST image: it
is bigger or smaller, anywhere on the canvas, drawn with a thin or a thick pen, slanted, and
exported as black ink on a transparent background. This script simulates people drawing: it takes
MNIST *test* digits, traces them to a one-pixel skeleton (``digits.strokes.trace``), draws the
skeleton again as pen strokes on a canvas under random conditions (``digits.canvas``), encodes a
PNG, and sends it through exactly what the server does (``digits.preprocess.preprocess`` then
``model.predict``).

    python evaluate_drawings.py                          # 2000 drawings, weights/mnist_cnn.npz
    python evaluate_drawings.py --n 500 --seed 1 --json  # last line: one JSON object
    python evaluate_drawings.py --save-examples runs/drawn   # PNGs a person can look at
    python evaluate_drawings.py --baselines              # what cropping and the pen step buy

Conditions, drawn independently for each digit:
    canvas      280x280 (60%), 350x350 (phone, 20%), 400x400 (20%)
    size        the digit's longer side is 25%..95% of the canvas side
    pen         2..40 px, log-uniform, at most a quarter of the digit's size (a 40 px pen on a
                70 px digit is an ink blot nobody could read)
    slant       a shear of -20..20 degrees
    position    anywhere the whole digit fits, edges included
    background  transparent with black ink (what our page exports), white, black with white ink

What this is not: real handwriting. The strokes keep MNIST's shapes, so it measures how well
preprocessing undoes size, position, pen and background, not how well the model reads new writers.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digits.canvas import place_strokes, to_png
from digits.canvas import render as render_strokes
from digits.preprocess import BlankDrawingError, load_drawing, preprocess, to_mnist
from digits.strokes import trace

# ---- defaults -----------------------------------------------------------------------------------
N = 2000  # drawings to evaluate
SEED = 0
WEIGHTS = "weights/mnist_cnn.npz"
CANVASES = ((280, 0.6), (350, 0.2), (400, 0.2))  # (side in px, probability)
SIZE_RANGE = (0.25, 0.95)  # the digit's longer side, as a fraction of the canvas side
PEN_RANGE = (2.0, 40.0)  # px on the canvas
MAX_PEN_FRACTION = 0.25  # pen width <= this fraction of the digit's longer side
SLANT_DEGREES = 20.0
BACKGROUNDS = ("transparent", "white", "black")

PEN_BUCKETS = ((2, 5, "2-5 px"), (5, 10, "5-10 px"), (10, 20, "10-20 px"), (20, 41, "20-40 px"))
SIZE_BUCKETS = ((0.25, 0.45, "25-45%"), (0.45, 0.70, "45-70%"), (0.70, 0.96, "70-95%"))


def sample_conditions(rng: np.random.Generator) -> dict:
    """One person's drawing conditions (see the module docstring)."""
    sides, weights = zip(*CANVASES, strict=True)
    side = int(rng.choice(sides, p=weights))
    size = float(rng.uniform(*SIZE_RANGE))
    pen_max = min(PEN_RANGE[1], MAX_PEN_FRACTION * size * side)
    pen = float(np.exp(rng.uniform(np.log(PEN_RANGE[0]), np.log(pen_max))))
    return {
        "canvas": side,
        "size": size,
        "pen": pen,
        "slant": float(rng.uniform(-SLANT_DEGREES, SLANT_DEGREES)),
        "background": BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],
        "where": rng.uniform(0.0, 1.0, size=2).tolist(),  # position within the free room, (x, y)
    }


def render(segments: np.ndarray, cond: dict) -> bytes:
    """Draw traced strokes on a canvas under ``cond`` and return the PNG bytes.

    Inputs:  segments, float (S, 2, 2) (x, y) points from ``trace``; cond from sample_conditions.
    Returns: PNG bytes, RGBA, cond["canvas"] pixels square.
    """
    side, pen = cond["canvas"], cond["pen"]
    strokes = place_strokes(segments, side, cond["size"], pen, cond["slant"], cond["where"])
    return to_png(render_strokes(strokes, (side, side), pen, smoothing=False), cond["background"])


def bucket_of(value: float, buckets: tuple) -> str:
    """The label of the (low, high, label) bucket with low <= value < high."""
    for lo, hi, label in buckets:
        if lo <= value < hi:
            return label
    raise ValueError(f"{value} is outside every bucket {buckets}")


def draw_dataset(images: np.ndarray, n: int, seed: int):
    """Yield (index, conditions, png) for n random test digits; the same ones for the same seed."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=min(n, len(images)), replace=False)
    for i in picks:
        cond = sample_conditions(rng)
        yield int(i), cond, render(trace(images[i]), cond)


def evaluate(model, images: np.ndarray, labels: np.ndarray, n: int = N, seed: int = SEED,
             save_dir: Path | None = None, n_examples: int = 32, baselines: bool = False) -> dict:
    """Draw n test digits, preprocess them as the server does, and score ``model`` on them.

    Inputs:  model with ``predict(x)``, x float32 (N, 1, 28, 28) -> (N, 10) probabilities;
             images uint8 (M, 28, 28) and labels (M,) from the MNIST *test* split.
    Returns: {"n", "accuracy", "mnist_accuracy" (same digits, MNIST pixels), "blank" (drawings
             refused as blank, counted wrong), "by_pen", "by_size", "by_background",
             "by_canvas": {bucket: {"n", "accuracy"}}, "ms_per_preprocess"}; with baselines,
             also "baselines": {"resize_only": the whole ink map resized to 28x28,
             "no_pen_normalisation": to_mnist without its pen step} accuracies.
    """
    picks, conds, inputs, seconds = [], [], [], 0.0
    others: dict[str, list[np.ndarray]] = {"resize_only": [], "no_pen_normalisation": []}
    for i, cond, png in draw_dataset(images, n, seed):
        start = time.perf_counter()
        try:
            x = preprocess(png)
        except BlankDrawingError:
            x = None
        seconds += time.perf_counter() - start
        picks.append(i)
        conds.append(cond)
        inputs.append(x)
        if baselines:
            ink = load_drawing(png)
            small = Image.fromarray(ink).resize((28, 28), Image.Resampling.BOX)
            others["resize_only"].append(np.asarray(small, dtype=np.float32))
            others["no_pen_normalisation"].append(to_mnist(ink, normalise_pen=False))
        if save_dir is not None and len(picks) <= n_examples:
            _save_example(save_dir, len(picks) - 1, png, x, images[i], int(labels[i]))
    blank = np.array([x is None for x in inputs])
    x = np.stack([np.zeros((28, 28), np.float32) if x is None else x for x in inputs])
    truth = labels[picks].astype(np.int64)
    guess = _predict(model, x)  # (n,)
    correct = (guess == truth) & ~blank
    mnist_correct = _predict(model, images[picks].astype(np.float32) / 255.0) == truth

    def by(key, names) -> dict:  # accuracy per condition, in the order of `names`
        groups: dict[str, list[bool]] = {name: [] for name in names}
        for ok, name in zip(correct.tolist(), map(key, conds), strict=True):
            groups[name].append(ok)
        return {name: {"n": len(oks), "accuracy": float(np.mean(oks))}
                for name, oks in groups.items() if oks}

    report = {
        "n": len(picks),
        "seed": seed,
        "accuracy": float(correct.mean()),
        "mnist_accuracy": float(mnist_correct.mean()),
        "blank": int(blank.sum()),
        "by_pen": by(lambda c: bucket_of(c["pen"], PEN_BUCKETS), [b[2] for b in PEN_BUCKETS]),
        "by_size": by(lambda c: bucket_of(c["size"], SIZE_BUCKETS), [b[2] for b in SIZE_BUCKETS]),
        "by_background": by(lambda c: c["background"], BACKGROUNDS),
        "by_canvas": by(lambda c: f"{c['canvas']}px", [f"{side}px" for side, _ in CANVASES]),
        "ms_per_preprocess": 1000.0 * seconds / max(len(picks), 1),
    }
    if baselines:
        report["baselines"] = {name: float((_predict(model, np.stack(xs)) == truth).mean())
                               for name, xs in others.items()}
    return report


def _predict(model, x: np.ndarray, batch: int = 500) -> np.ndarray:
    """Predicted digits, int64 (N,), for float32 (N, 28, 28) in 0..1."""
    x = x.reshape(-1, 1, 28, 28).astype(np.float32)  # (N, 1, 28, 28)
    return np.concatenate([model.predict(x[i:i + batch]).argmax(axis=1)
                           for i in range(0, len(x), batch)])


def _save_example(folder: Path, k: int, png: bytes, x: np.ndarray | None, digit: np.ndarray,
                  label: int) -> None:
    """Write the canvas, the 28x28 the network saw and the MNIST original, side by side."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{k:03d}_label{label}_canvas.png").write_bytes(png)
    canvas = Image.open(io.BytesIO(png)).convert("RGBA")
    paper = Image.new("RGBA", canvas.size, (200, 200, 200, 255))  # grey shows transparency
    side = canvas.size[0]
    sheet = Image.new("L", (side * 3, side), 128)
    sheet.paste(Image.alpha_composite(paper, canvas).convert("L"), (0, 0))
    seen = np.zeros((28, 28)) if x is None else x
    for j, img in enumerate((seen, digit / 255.0)):
        big = Image.fromarray((img * 255).astype(np.uint8)).resize((side, side), Image.NEAREST)
        sheet.paste(big, (side * (j + 1), 0))
    sheet.save(folder / f"{k:03d}_label{label}_canvas_input_mnist.png")


def _print_report(r: dict) -> None:
    print(f"drawn digits: {r['accuracy']:.2%} of {r['n']} (seed {r['seed']}); the same digits as "
          f"MNIST pixels: {r['mnist_accuracy']:.2%}; refused as blank: {r['blank']}")
    for key in ("by_pen", "by_size", "by_background", "by_canvas"):
        cells = ", ".join(f"{name} {v['accuracy']:.1%} (n={v['n']})" for name, v in r[key].items())
        print(f"  {key[3:]:<10} {cells}")
    print(f"  preprocess {r['ms_per_preprocess']:.2f} ms per drawing")
    for name, accuracy in r.get("baselines", {}).items():
        print(f"  baseline   {name.replace('_', ' ')}: {accuracy:.2%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=N, help=f"drawings (default {N})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--weights", default=WEIGHTS, help=f"model file (default {WEIGHTS})")
    parser.add_argument("--data-dir", default=None,
                        help="MNIST folder (default $MNIST_DIR, else data/mnist/)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--save-examples", type=Path, default=None, metavar="DIR",
                        help="write the first 32 canvases with their 28x28 inputs to DIR")
    parser.add_argument("--baselines", action="store_true",
                        help="also score the canvas resized to 28x28, and no pen normalisation")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")

    import nn  # here, not at the top: `--help` should not compile numba kernels
    from digits.mnist import resolve_data_dir

    try:
        model = nn.load(args.weights)
        images, labels = nn.data.load_mnist(resolve_data_dir(args.data_dir), "test")
    except (OSError, ValueError) as err:
        print(f"evaluate_drawings.py: {err}", file=sys.stderr)
        return 1
    report = evaluate(model, images, labels, args.n, args.seed, args.save_examples,
                      baselines=args.baselines)
    report["weights"] = str(args.weights)
    _print_report(report)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
