"""Score the reading of whole numbers, and the "not a digit" judge, on real writers' digits.

    python evaluate_drawings.py --numbers               # test writers (UNIPEN and pendigits)
    python -m scripts.read_numbers                      # training writers held out of training
                                                        # (0/7): where settings are chosen
    python -m scripts.read_numbers --count 100 --lengths 4 --json

Numbers are composed from one writer's own digits (training/numbers.py) and read as /api/read
reads them (digits.numbers with web.judge), sent as strokes and as PNGs: exact numbers, digits
right (aligned, so one digit missing costs one), numbers whose count of digits is wrong, by gap
kind. Single digits go through the same reading, as strokes and as PNGs (are they read as one
digit, and as accurately as /api/predict reads the same drawing?), and the judge is asked about
every real digit and every letter that is not written like a digit.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from digits.drawing import BlankDrawingError, load_drawing
from digits.numbers import read_ink, read_strokes
from digits.preprocess import strokes_to_mnist, to_mnist
from training.not_digits import load_letters
from training.numbers import GAPS, Number, compose_numbers, number_png
from training.unipen import (
    VALIDATION,
    is_held_out,
    load_unipen,
    resolve_unipen_dir,
    split_writers,
)

# ---- defaults -----------------------------------------------------------------------------------
WEIGHTS = "weights/mnist_cnn.npz"
JUDGE = "weights/not_a_digit.npz"
PENDIGITS_DIR = "../shared/pendigits"
LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8)
COUNT = 100  # numbers of each length (4-digit numbers: FOUR_DIGITS)
FOUR_DIGITS = 400
SEED = 0


def writers_digits(unipen_dir, pendigits_dir, test: bool) -> list:
    """Test writers' digits (UNIPEN and pendigits test), or the training writers' held out of
    training (train.py's VALIDATION fold)."""
    if test:
        return load_unipen(unipen_dir, "test") + load_unipen(pendigits_dir, "test")
    held = split_writers(load_unipen(unipen_dir, "train"), VALIDATION)[1]
    return held + [d for d in load_unipen(pendigits_dir, "train") if is_held_out(d.writer)]


def _digits_right(truth: str, read: str) -> int:
    """Digits of ``truth`` found in ``read`` in order (a longest matching alignment)."""
    return sum(block.size for block in
               difflib.SequenceMatcher(None, truth, read, autojunk=False).get_matching_blocks())


def score_numbers(numbers, judge, rng, forms=("strokes", "png")) -> dict:
    """Read every number in each form; per form: exact, digits, count_wrong (shares), by gap
    kind and by length, ms per number, and the misread ones (text, read, png)."""
    out = {}
    for form in forms:
        rows, seconds, misread = [], 0.0, []
        for number in numbers:
            png = number_png(number, rng) if form == "png" else None
            start = time.perf_counter()
            try:
                reading = (read_strokes(number.strokes, judge.read) if form == "strokes"
                           else read_ink(load_drawing(png), judge.read, judge.threshold))
                read = reading.number(judge.threshold)
            except BlankDrawingError:
                read = ""
            seconds += time.perf_counter() - start
            rows.append((number, read))
            if read != number.text:
                misread.append((number, read, png))
        exact = np.array([read == n.text for n, read in rows])
        right = sum(_digits_right(n.text, read) for n, read in rows)
        total = sum(len(n.text) for n, _ in rows)
        count = np.array([len(read.replace(".", "")) != len(n.text) for n, read in rows])
        gaps = np.array([n.gap for n, _ in rows])
        lengths = np.array([len(n.text) for n, _ in rows])
        out[form] = {
            "n": len(rows), "exact": float(exact.mean()), "digits": right / max(total, 1),
            "count_wrong": float(count.mean()),
            "by_gap": {g: float(exact[gaps == g].mean()) for g in GAPS if (gaps == g).any()},
            "by_length": {int(k): float(exact[lengths == k].mean()) for k in sorted(set(lengths))},
            "ms_per_number": 1000 * seconds / max(len(rows), 1),
            "misread": misread,
        }
    return out


def score_single(digits, judge, rng: np.random.Generator | None = None) -> dict:
    """Each digit alone, as strokes: read as one digit by /api/read's reading, its accuracy, and
    /api/predict's accuracy on the same drawings; the digits misread, as numbers of one digit
    (number, read, None), under "misread". With ``rng``, the same for each digit drawn as a PNG
    (training.numbers.number_png), under "png" (its misread with their PNGs)."""
    one, read_right, inputs, misread = 0, 0, [], []
    png = {"one": 0, "right": 0, "inputs": [], "misread": []}
    for d in digits:
        strokes = tuple(np.asarray(s, dtype=np.float64) for s in d.strokes)
        number = Number(strokes, str(d.label), (0,) * len(strokes), d.writer, "single")
        try:
            text = read_strokes(strokes, judge.read).number(judge.threshold)
        except BlankDrawingError:
            text = ""
        one += len(text) == 1
        read_right += text == number.text
        inputs.append(strokes_to_mnist(list(strokes)))
        if text != number.text:
            misread.append((number, text, None))
        if rng is not None:
            image = number_png(number, rng)
            ink = load_drawing(image)
            try:
                text = read_ink(ink, judge.read, judge.threshold).number(judge.threshold)
            except BlankDrawingError:
                text = ""
            png["one"] += len(text) == 1
            png["right"] += text == number.text
            png["inputs"].append(to_mnist(ink))  # what /api/predict reads of that PNG
            if text != number.text:
                png["misread"].append((number, text, image))
    truth = np.array([d.label for d in digits])
    p, p_not = judge.read(np.stack(inputs))
    out = {"n": len(digits), "read_as_one_digit": one / len(digits),
           "read_accuracy": read_right / len(digits),
           "predict_accuracy": float((p.argmax(axis=1) == truth).mean()),
           "digits_called_not_a_digit": float(judge.is_not_a_digit(p_not).mean()),
           "misread": misread}
    if rng is not None:
        p, p_not = judge.read(np.stack(png["inputs"]))
        out["png"] = {"read_as_one_digit": png["one"] / len(digits),
                      "read_accuracy": png["right"] / len(digits),
                      "predict_accuracy": float((p.argmax(axis=1) == truth).mean()),
                      "digits_called_not_a_digit": float(judge.is_not_a_digit(p_not).mean()),
                      "misread": png["misread"]}
    return out


def score_letters(letters, judge) -> dict:
    """Letters that are not written like digits, each alone as strokes: the share called not a
    digit (as /api/predict's not_a_digit says it)."""
    inputs = []
    for t in letters:
        try:
            inputs.append(strokes_to_mnist(list(t.strokes)))
        except BlankDrawingError:
            continue
    _, p_not = judge.read(np.stack(inputs))
    return {"n": len(inputs), "called_not_a_digit": float(judge.is_not_a_digit(p_not).mean())}


def misread_sheet(path: Path, misread: list, title: str, limit: int = 40) -> None:
    """A PNG of misread numbers, one a row: the drawing, and "true -> read" under it."""
    from PIL import Image, ImageDraw

    from digits.canvas import render, to_png
    rows = []
    for number, read, png in misread[:limit]:
        if png is None:
            points = np.concatenate(number.strokes)
            low = points.min(axis=0)
            scale = 60 / max(float(np.ptp(points[:, 1])), 1e-9)
            placed = [(s - low) * scale + 6 for s in number.strokes]
            size = (np.ptp(points, axis=0) * scale + 12).astype(int)
            png = to_png(render(placed, (int(size[1]), int(size[0])), 3.0), "white")
        image = Image.open(io.BytesIO(png)).convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        drawn = Image.alpha_composite(paper, image).convert("L")
        if np.asarray(drawn).mean() < 128:
            drawn = Image.eval(drawn, lambda v: 255 - v)
        drawn.thumbnail((600, 70))
        rows.append((drawn, f"{number.text} -> {read or '(nothing)'}  ({number.gap})"))
    height = 20 + sum(img.size[1] + 16 for img, _ in rows)
    sheet = Image.new("L", (620, max(height, 40)), 255)
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"{title}: {len(misread)} misread" +
              (f", first {limit} shown" if len(misread) > limit else ""), fill=0)
    top = 20
    for img, caption in rows:
        sheet.paste(img, (4, top))
        draw.text((4, top + img.size[1]), caption, fill=0)
        top += img.size[1] + 16
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def evaluate(judge, digits, letters, lengths=LENGTHS, count=COUNT, seed=SEED,
             sheet: Path | None = None, name: str = "") -> dict:
    """Everything above, in one report (the misread numbers as a sheet, not in the report)."""
    rng = np.random.default_rng(seed)
    report = {"name": name, "seed": seed, "numbers": {}}
    for length in lengths:
        n = FOUR_DIGITS * count // COUNT if length == 4 else count
        numbers = compose_numbers(digits, rng, n, length)
        report["numbers"][length] = score_numbers(numbers, judge, rng)
    report["single"] = score_single(digits, judge, np.random.default_rng(seed + 1))
    report["letters"] = score_letters(letters, judge) if letters else None
    for form in ("strokes", "png"):
        misread = [m for length in lengths for m in report["numbers"][length][form].pop("misread")]
        if sheet is not None:
            misread_sheet(sheet.with_name(f"{sheet.stem}_{form}{sheet.suffix}"), misread,
                          f"{name}, numbers sent as {form}")
    for form, single in (("strokes", report["single"]), ("png", report["single"]["png"])):
        misread = single.pop("misread")
        if sheet is not None:
            misread_sheet(sheet.with_name(f"{sheet.stem}_single_{form}{sheet.suffix}"), misread,
                          f"{name}, single digits sent as {form}", limit=60)
    return report


def print_report(r: dict) -> None:
    print(f"{r['name']} (seed {r['seed']})")
    for length, forms in r["numbers"].items():
        for form, f in forms.items():
            gaps = ", ".join(f"{g} {v:.1%}" for g, v in f["by_gap"].items())
            print(f"  {length} digits as {form:<7} exact {f['exact']:.1%} of {f['n']}, digits "
                  f"{f['digits']:.1%}, count wrong {f['count_wrong']:.1%}  [{gaps}]  "
                  f"{f['ms_per_number']:.1f} ms")
    s = r["single"]
    print(f"  single digits ({s['n']}): read as one digit {s['read_as_one_digit']:.2%}, read "
          f"{s['read_accuracy']:.2%} vs predict {s['predict_accuracy']:.2%}; called not a "
          f"digit {s['digits_called_not_a_digit']:.2%}")
    s = s["png"]
    print(f"  single digits as PNGs: read as one digit {s['read_as_one_digit']:.2%}, read "
          f"{s['read_accuracy']:.2%} vs predict {s['predict_accuracy']:.2%}; called not a "
          f"digit {s['digits_called_not_a_digit']:.2%}")
    if r["letters"]:
        print(f"  letters not like digits ({r['letters']['n']}): called not a digit "
              f"{r['letters']['called_not_a_digit']:.1%}")


def load_judge(weights: str, judge_path: str):
    import nn
    from web.judge import Judge
    model = nn.load(weights)
    return Judge(model, nn.load(judge_path) if judge_path else None)


def run(weights: str, judge_path: str, unipen_dir, pendigits_dir, test: bool, lengths, count,
        seed, sheet, as_json: bool) -> int:
    unipen_dir = resolve_unipen_dir(unipen_dir)
    pendigits_dir = pendigits_dir or os.environ.get("PENDIGITS_DIR") or PENDIGITS_DIR
    try:
        judge = load_judge(weights, judge_path)
        digits = writers_digits(unipen_dir, pendigits_dir, test)
        letters = [t for t in load_letters(unipen_dir, "test" if test else "train")
                   if not t.digit_like and (test or is_held_out(t.writer))]
    except (OSError, ValueError) as err:
        print(f"read_numbers: {err}", file=sys.stderr)
        return 1
    name = "test writers" if test else f"training writers held out ({VALIDATION})"
    report = evaluate(judge, digits, letters, lengths, count, seed, sheet, name)
    report.update(weights=weights, judge=judge_path)
    print_report(report)
    if as_json:
        print(json.dumps(report))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--judge", default=JUDGE, help=f"not-a-digit judge (default {JUDGE})")
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)),
                        help="digits per number, comma-separated (default 1..8)")
    parser.add_argument("--count", type=int, default=COUNT,
                        help=f"numbers per length (default {COUNT}; {FOUR_DIGITS} of 4 digits)")
    parser.add_argument("--sheet", type=Path, default=None, metavar="PNG",
                        help="write the misread numbers to PNG_strokes.png and PNG_png.png, "
                             "single digits to PNG_single_strokes.png and PNG_single_png.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=WEIGHTS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--unipen-dir", default=None, help="default $UNIPEN_DIR, else "
                                                           "data/unipen or ../shared/unipen")
    parser.add_argument("--pendigits-dir", default=None, help="default $PENDIGITS_DIR, else "
                                                              f"{PENDIGITS_DIR}")
    add_arguments(parser)
    args = parser.parse_args(argv)
    lengths = tuple(int(k) for k in args.lengths.split(","))
    return run(args.weights, args.judge, args.unipen_dir, args.pendigits_dir, False, lengths,
               args.count, args.seed, args.sheet, args.json)


if __name__ == "__main__":
    sys.exit(main())
