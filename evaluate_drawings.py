"""Evaluate the model on *drawn* digits, not on MNIST's own pixels, through what the server does.

"99% on MNIST, wrong on my drawing" happens because a drawing is not an MNIST image: it is bigger or
smaller, anywhere on the canvas, drawn with a thin or a thick pen, slanted, exported as black ink
on a transparent background, and above all written by other people. Two evaluations:

    python evaluate_drawings.py --unipen ../shared/unipen   # real writers: UNIPEN's test split
    python evaluate_drawings.py --unipen DIR --mistakes docs/unipen_mistakes.png --json
    python evaluate_drawings.py --unipen DIR --holdout 2/4 --weights fold2.npz  # held-out
                                       # training writers (train.py --unipen-holdout 2/4)
    python evaluate_drawings.py --pendigits ../shared/pendigits   # pendigits' test writers,
                                       # scored as UNIPEN's (--holdout, --mistakes the same)
    python evaluate_drawings.py --pendigits DIR --holdout 0/1 --smooth   # every training
                                       # writer, strokes smoothed before they are sent
    python evaluate_drawings.py                          # 2000 MNIST test digits drawn again
    python evaluate_drawings.py --n 500 --seed 1 --json  # last line: one JSON object
    python evaluate_drawings.py --save-examples runs/drawn   # PNGs a person can look at
    python evaluate_drawings.py --baselines              # what cropping and the pen step buy
    python evaluate_drawings.py --numbers --sheet docs/numbers_misread.png
                                       # whole numbers and "not a digit" (scripts/read_numbers.py)

UNIPEN (``evaluate_unipen``, see training/unipen.py): the 2,438 digits of 58 writers no model here
was trained on, each sent twice: as its strokes (what the page sends, ``preprocess_strokes``) and
as a canvas PNG drawn like a person's (``digits.canvas``: 280 px canvas, the digit 40-90% of it,
anywhere, pen 8-30 px at most a quarter of the digit, a transparent, white or black background,
``preprocess``). Accuracy per digit, pen, size, background and writer's lab, the confusion
matrices, and with --mistakes a sheet of every mistake. With --holdout K/N the same for the
training writers a model was trained without (``train.py --unipen-holdout K/N``, IBM's left
out as in training): what scripts/crossval.py scores, fold by fold. --pendigits DIR does all of
this for pendigits' writers (training/pendigits.py: 3,498 digits of 14 test writers; with
--holdout, its training writers held out by ``train.py --pendigits-holdout K/N``), their strokes
sent as the tablet recorded them, a point every 100 ms.

MNIST (``evaluate``): MNIST *test* digits traced to a one-pixel skeleton
(``digits.strokes.trace``), drawn again as pen strokes on a canvas under random conditions, then
sent through ``preprocess``. It measures how well preprocessing undoes size, position, pen and
background, not how well the model reads new writers (the strokes keep MNIST's shapes):

Conditions, drawn independently for each digit:
    canvas      280x280 (60%), 350x350 (phone, 20%), 400x400 (20%)
    size        the digit's longer side is 25%..95% of the canvas side
    pen         2..40 px, log-uniform, at most a quarter of the digit's size (a 40 px pen on a
                70 px digit is an ink blot nobody could read)
    slant       a shear of -20..20 degrees
    position    anywhere the whole digit fits, edges included
    background  transparent with black ink (what our page exports), white, black with white ink
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digits.canvas import place_strokes, to_png
from digits.canvas import render as render_strokes
from digits.drawing import BlankDrawingError, load_drawing
from digits.preprocess import preprocess, strokes_to_mnist, to_mnist
from digits.strokes import trace
from scripts import read_numbers
from training.pendigits import load_pendigits, smooth_strokes
from training.unipen import PenDigit, load_unipen, parse_holdout, split_writers

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

# UNIPEN's canvases: what a person does on the page's 280 px canvas
UNIPEN_CANVAS = 280
UNIPEN_SIZE = (0.4, 0.9)
UNIPEN_PEN = (8.0, 30.0)
UNIPEN_PEN_BUCKETS = ((8, 12, "8-12 px"), (12, 18, "12-18 px"), (18, 24, "18-24 px"),
                      (24, 31, "24-30 px"))
UNIPEN_SIZE_BUCKETS = ((0.4, 0.55, "40-55%"), (0.55, 0.7, "55-70%"), (0.7, 0.91, "70-90%"))
# the pen as a share of the digit's longer side: a thick pen on a small digit fills its loops
UNIPEN_SHARE_BUCKETS = ((0.0, 0.1, "<10%"), (0.1, 0.15, "10-15%"), (0.15, 0.2, "15-20%"),
                        (0.2, 0.26, "20-25%"))


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


# ------------------------------------------------------------------------------------------------
# real writers: UNIPEN


def unipen_conditions(rng: np.random.Generator) -> dict:
    """A person's canvas for one UNIPEN digit (see the module docstring)."""
    size = float(rng.uniform(*UNIPEN_SIZE))
    pen = float(rng.uniform(UNIPEN_PEN[0], min(UNIPEN_PEN[1], MAX_PEN_FRACTION * size *
                                               UNIPEN_CANVAS)))
    return {"canvas": UNIPEN_CANVAS, "size": size, "pen": pen, "slant": 0.0,
            "background": BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],
            "where": rng.uniform(0.0, 1.0, size=2).tolist()}


def unipen_png(digit: PenDigit, cond: dict) -> bytes:
    """The digit's strokes drawn on a canvas under ``cond``, as a PNG."""
    side, pen = cond["canvas"], cond["pen"]
    strokes = place_strokes(digit.strokes, side, cond["size"], pen, cond["slant"], cond["where"])
    return to_png(render_strokes(strokes, (side, side), pen, smoothing=False), cond["background"])


def evaluate_unipen(model, digits: list[PenDigit], seed: int = SEED,
                    mistakes: Path | None = None, name: str = "UNIPEN test",
                    smooth: bool = False) -> dict:
    """Score ``model`` on real writers' digits sent as strokes and as canvas PNGs (with
    ``smooth``, strokes smoothed first by training.pendigits.smooth_strokes: what smoothing
    posted strokes on the server would do).

    Returns: {"n", "strokes": {...}, "png": {...}} where each form has "accuracy", "blank",
             "by_digit", "by_lab", "by_writer" and "confusion" (rows true, columns predicted),
             and "png" also "by_pen", "by_size", "by_pen_share" (the pen over the digit's size) and
             "by_background"; "ms_per_preprocess" for each form.
    """
    rng = np.random.default_rng(seed)
    conds = [unipen_conditions(rng) for _ in digits]
    truth = np.array([d.label for d in digits])
    forms: dict[str, dict] = {}
    pngs = [unipen_png(d, c) for d, c in zip(digits, conds, strict=True)]
    if smooth:
        digits = [dataclasses.replace(d, strokes=smooth_strokes(d.strokes)) for d in digits]
    for form, make in (("strokes", lambda i: strokes_to_mnist(list(digits[i].strokes))),
                       ("png", lambda i: preprocess(pngs[i]))):
        inputs, seconds = [], 0.0
        for i in range(len(digits)):
            start = time.perf_counter()
            try:
                inputs.append(make(i))
            except BlankDrawingError:
                inputs.append(None)
            seconds += time.perf_counter() - start
        blank = np.array([x is None for x in inputs])
        x = np.stack([np.zeros((28, 28), np.float32) if x is None else x for x in inputs])
        probs = _probabilities(model, x)
        guess = np.where(blank, -1, probs.argmax(axis=1))
        correct = guess == truth
        result = {
            "accuracy": float(correct.mean()),
            "blank": int(blank.sum()),
            "by_digit": _grouped(correct, [str(d.label) for d in digits], list("0123456789")),
            "by_lab": _grouped(correct, [d.lab for d in digits],
                               sorted({d.lab for d in digits})),
            "by_writer": _grouped(correct, [d.writer for d in digits],
                                  sorted({d.writer for d in digits})),
            "confusion": _confusion(truth, guess).tolist(),
            "ms_per_preprocess": 1000.0 * seconds / max(len(digits), 1),
        }
        if form == "png":
            result["by_pen"] = _grouped(correct, [bucket_of(c["pen"], UNIPEN_PEN_BUCKETS)
                                                  for c in conds],
                                        [b[2] for b in UNIPEN_PEN_BUCKETS])
            result["by_size"] = _grouped(correct, [bucket_of(c["size"], UNIPEN_SIZE_BUCKETS)
                                                   for c in conds],
                                         [b[2] for b in UNIPEN_SIZE_BUCKETS])
            result["by_pen_share"] = _grouped(
                correct, [bucket_of(c["pen"] / (c["size"] * UNIPEN_CANVAS), UNIPEN_SHARE_BUCKETS)
                          for c in conds], [b[2] for b in UNIPEN_SHARE_BUCKETS])
            result["by_background"] = _grouped(correct, [c["background"] for c in conds],
                                               list(BACKGROUNDS))
        forms[form] = result
        if mistakes is not None:
            wrong = np.flatnonzero(~correct)
            _mistake_sheet(mistakes.with_name(f"{mistakes.stem}_{form}{mistakes.suffix}"),
                           [pngs[i] for i in wrong], x[wrong], truth[wrong], guess[wrong],
                           probs[wrong], f"{name}, sent as {form}")
    return {"n": len(digits), "seed": seed, "name": name, **forms}


def _grouped(correct: np.ndarray, keys: list[str], names: list[str]) -> dict:
    """Accuracy per group, in the order of ``names``."""
    keys_array = np.array(keys)
    return {name: {"n": int((keys_array == name).sum()),
                   "accuracy": float(correct[keys_array == name].mean())}
            for name in names if (keys_array == name).any()}


def _confusion(truth: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """(10, 11): rows the true digit, columns the guess, the last column refused as blank."""
    table = np.zeros((10, 11), dtype=int)
    np.add.at(table, (truth, np.where(guess < 0, 10, guess)), 1)
    return table


def _mistake_sheet(path: Path, pngs: list[bytes], seen: np.ndarray, truth: np.ndarray,
                   guess: np.ndarray, probs: np.ndarray, title: str, limit: int = 120) -> None:
    """A PNG grid of mistakes: each the canvas as drawn beside the 28x28 the network saw, with
    "true -> guess (probability)" under them."""
    from PIL import ImageDraw

    cell, cols = 64, 8
    shown = min(len(pngs), limit)
    rows = max(1, -(-shown // cols))
    sheet = Image.new("L", (cols * 2 * cell, 20 + rows * (cell + 14)), 255)
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"{title}: {len(pngs)} mistakes" + (f", first {shown} shown"
                                                          if shown < len(pngs) else ""), fill=0)
    for k in range(shown):
        left, top = (k % cols) * 2 * cell, 20 + (k // cols) * (cell + 14)
        canvas = Image.open(io.BytesIO(pngs[k])).convert("RGBA")
        paper = Image.new("RGBA", canvas.size, (255, 255, 255, 255))
        drawn = Image.alpha_composite(paper, canvas).convert("L")
        if np.asarray(drawn).mean() < 128:  # white ink on black: show it dark on light
            drawn = Image.eval(drawn, lambda v: 255 - v)
        sheet.paste(drawn.resize((cell, cell), Image.Resampling.BOX), (left, top))
        net = Image.fromarray((255 - 255 * seen[k]).astype(np.uint8)).resize((cell, cell),
                                                                             Image.NEAREST)
        sheet.paste(net, (left + cell, top))
        label = "blank" if guess[k] < 0 else f"{guess[k]} {probs[k, guess[k]]:.0%}"
        draw.text((left + 4, top + cell), f"{truth[k]} -> {label}", fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def _print_unipen(r: dict) -> None:
    print(f"{r['name']}: {r['n']} digits of real writers (seed {r['seed']})")
    for form in ("strokes", "png"):
        f = r[form]
        print(f"  as {form:<8} {f['accuracy']:.2%}  (refused as blank: {f['blank']}; "
              f"{f['ms_per_preprocess']:.2f} ms preprocessing)")
        for key in ("by_digit", "by_pen", "by_size", "by_pen_share", "by_background", "by_lab"):
            if key in f:
                cells = ", ".join(f"{name} {v['accuracy']:.1%}" for name, v in f[key].items())
                print(f"    {key[3:]:<10} {cells}")
        worst = sorted(f["by_writer"].items(), key=lambda kv: kv[1]["accuracy"])[:5]
        print(f"    writers    {len(f['by_writer'])}, the five read worst: " + ", ".join(
            f"{name} {v['accuracy']:.1%} of {v['n']}" for name, v in worst))


# ------------------------------------------------------------------------------------------------


def _probabilities(model, x: np.ndarray, batch: int = 500) -> np.ndarray:
    """Probabilities (N, 10) for float32 (N, 28, 28) in 0..1."""
    x = x.reshape(-1, 1, 28, 28).astype(np.float32)  # (N, 1, 28, 28)
    return np.concatenate([model.predict(x[i:i + batch]) for i in range(0, len(x), batch)])


def _predict(model, x: np.ndarray) -> np.ndarray:
    """Predicted digits, int64 (N,), for float32 (N, 28, 28) in 0..1."""
    return _probabilities(model, x).argmax(axis=1)


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


def evaluate_numbers(args) -> int:
    """--numbers: the test writers' numbers, single digits and letters (scripts/read_numbers.py)."""
    lengths = tuple(int(k) for k in args.lengths.split(","))
    return read_numbers.run(args.weights, args.judge, args.unipen, None, True, lengths,
                            args.count, args.seed, args.sheet, args.json)


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
    parser.add_argument("--unipen", type=Path, default=None, metavar="DIR",
                        help="evaluate on UNIPEN's test writers in DIR instead of MNIST")
    parser.add_argument("--pendigits", type=Path, default=None, metavar="DIR",
                        help="evaluate on pendigits' test writers in DIR instead of MNIST")
    parser.add_argument("--holdout", default=None, metavar="K/N",
                        help="with --unipen or --pendigits: score the training writers held out "
                             "by train.py --unipen-holdout (--pendigits-holdout) K/N instead of "
                             "the test writers")
    parser.add_argument("--mistakes", type=Path, default=None, metavar="PNG",
                        help="with --unipen or --pendigits: write a sheet of the mistakes "
                             "(PNG_strokes.png, PNG_png.png)")
    parser.add_argument("--smooth", action="store_true",
                        help="with --unipen or --pendigits: smooth each digit's strokes "
                             "(training.pendigits.smooth_strokes) before sending them")
    parser.add_argument("--numbers", action="store_true",
                        help="read whole numbers composed from the UNIPEN and pendigits test "
                             "writers' digits, and judge 'not a digit' (scripts/read_numbers.py)")
    read_numbers.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.numbers:
        return evaluate_numbers(args)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.unipen is not None and args.pendigits is not None:
        parser.error("--unipen and --pendigits are scored apart: give one of them")
    pen_dir, source = ((args.unipen, "UNIPEN") if args.unipen is not None
                       else (args.pendigits, "pendigits"))
    if args.holdout is not None:
        if pen_dir is None:
            parser.error("--holdout needs --unipen DIR or --pendigits DIR")
        try:
            parse_holdout(args.holdout)
        except ValueError as err:
            parser.error(f"--holdout: {err}")

    import nn  # here, not at the top: `--help` should not compile numba kernels
    from training.mnist import resolve_data_dir

    load = load_unipen if source == "UNIPEN" else load_pendigits
    try:
        model = nn.load(args.weights)
        if args.holdout is not None:
            _, pen_digits = split_writers(load(pen_dir, "train"), args.holdout)
            name = f"{source} training writers held out ({args.holdout})"
        elif pen_dir is not None:
            pen_digits, name = load(pen_dir, "test"), f"{source} test"
        else:
            images, labels = nn.data.load_mnist(resolve_data_dir(args.data_dir), "test")
    except (OSError, ValueError) as err:
        print(f"evaluate_drawings.py: {err}", file=sys.stderr)
        return 1
    if pen_dir is not None:
        if not pen_digits:
            print(f"evaluate_drawings.py: no {source} digits to score in {pen_dir} "
                  f"({name})", file=sys.stderr)
            return 1
        report = evaluate_unipen(model, pen_digits, args.seed, args.mistakes,
                                 name + (", smoothed" if args.smooth else ""), args.smooth)
        report["weights"] = str(args.weights)
        _print_unipen(report)
        if args.json:
            print(json.dumps(report))
        return 0
    report = evaluate(model, images, labels, args.n, args.seed, args.save_examples,
                      baselines=args.baselines)
    report["weights"] = str(args.weights)
    _print_report(report)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
