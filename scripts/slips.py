"""Does one slip of the finger re-teach the network? And does a real correction still help?

    python -m scripts.slips                  # UNIPEN and pendigits test writers, committed model
    python -m scripts.slips --split train    # their train writers: where PLAUSIBLE was chosen
    python -m scripts.slips --json           # last line: one JSON object

Real writers' digits (UNIPEN, and pendigits from ../shared/pendigits, same format) are drawn
through what the server does and read by the model. A slip: for each writer and digit with at
least two drawings the network reads right, the first is given a wrong label, as a person who
taps the wrong button would; then the writer's *other* drawings of that digit that the network
read right are read again with that one labelled drawing, and we count those turned wrong.
Three kinds of slip: the key beside the right one (d - 1 or d + 1), any wrong label (each of the
nine), and the network's own second choice for that drawing (the worst case).

A correction: scripts.adaptation's measure, k = 1 (the first misread drawing of each label
corrected): the errors left in the corrected labels among the writer's other digits.

Both for the served rule (web.corrections: a label the network found implausible for its
drawing votes only when the person gave it twice) and for the rule before it, where every
labelled drawing voted (shown by telling the rule every label was plausible).
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as serve.py runs

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import nn
from scripts.adaptation import draw_unipen, features, measure, rows
from training.mnist import ensure_mnist, resolve_data_dir
from training.unipen import resolve_unipen_dir
from web.corrections import PLAUSIBLE, Corrections, mnist_references

SLIPS = ("beside", "any", "second choice")


def wrong_labels(kind: str, digit: int, p: np.ndarray) -> list[int]:
    """The wrong labels a slip of this kind gives a drawing of `digit` the network read as p."""
    if kind == "beside":
        return [d for d in (digit - 1, digit + 1) if 0 <= d <= 9]
    if kind == "any":
        return [d for d in range(10) if d != digit]
    return [int(np.argsort(p)[-2])]


def slips(method, drawn: dict, y: np.ndarray, writers: np.ndarray, kind: str) -> dict:
    """Right answers turned wrong by one wrong label, summed over writers, digits and labels."""
    read = drawn["p"].argmax(axis=1)
    turned = total = 0
    for writer in np.unique(writers):
        for digit in range(10):
            right = np.flatnonzero((writers == writer) & (y == digit) & (read == digit))
            if len(right) < 2:
                continue
            slip, rest = right[:1], right[1:]
            for wrong in wrong_labels(kind, digit, drawn["p"][slip[0]]):
                q = method(rows(drawn, rest), rows(drawn, slip), np.array([wrong]))
                turned += int((q.argmax(axis=1) != digit).sum())
                total += len(rest)
    return {"turned_wrong": turned, "right_answers": total, "share": turned / max(total, 1)}


def rule(corrections: Corrections, every_label_plausible: bool):
    def method(drawings, examples, labels):
        example_p = np.ones_like(examples["p"]) if every_label_plausible else examples["p"]
        return corrections.apply(drawings["p"], drawings["hidden"], examples["hidden"], labels,
                                 example_p, drawings["gate"])[0]
    return method


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="weights/mnist_cnn.npz")
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument("--unipen-dir", default=None,
                        help="default $UNIPEN_DIR or ../shared/unipen")
    parser.add_argument("--pendigits-dir", default=None,
                        help="default $PENDIGITS_DIR or ../shared/pendigits")
    parser.add_argument("--data-dir", default=None, help="MNIST; default $MNIST_DIR or data/mnist")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    unipen = resolve_unipen_dir(args.unipen_dir)
    pendigits = Path(args.pendigits_dir or os.environ.get("PENDIGITS_DIR")
                     or Path(__file__).resolve().parents[2] / "shared" / "pendigits")
    if unipen is None or not (pendigits / f"{args.split}.jsonl.gz").is_file():
        parser.error("no UNIPEN or pendigits folder: pass --unipen-dir and --pendigits-dir")
    model = nn.load(args.weights)
    mnist_dir = ensure_mnist(resolve_data_dir(args.data_dir))
    corrections = Corrections(model, *mnist_references(mnist_dir))
    test_images, test_labels = nn.data.load_mnist(mnist_dir, "test")
    mnist = features(model, corrections, test_images[:2000].astype(np.float32) / 255)
    rules = {f"served (PLAUSIBLE {PLAUSIBLE:g})": rule(corrections, False),
             "every label votes (before)": rule(corrections, True)}

    results = {}
    print(f"{args.split} writers; right -> wrong among the writer's other right answers of the "
          "slipped digit, and errors left in corrected labels (k = 1)\n")
    print("| writers | rule | slip: key beside | slip: any label | slip: 2nd choice "
          "| one correction: errors before -> after |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, folder in (("UNIPEN", unipen), ("pendigits", pendigits)):
        x, y, writers, _ = draw_unipen(folder, args.split)
        drawn = features(model, corrections, x)
        for label, method in rules.items():
            found = {kind: slips(method, drawn, y, writers, kind) for kind in SLIPS}
            fixed = measure(method, drawn, y, writers, mnist, test_labels[:2000], 1)
            results[f"{name} / {label}"] = {"slips": found, "correction": fixed}
            cells = " | ".join(f"{found[k]['turned_wrong']} / {found[k]['right_answers']} "
                               f"({found[k]['share']:.2%})" for k in SLIPS)
            print(f"| {name} ({len(np.unique(writers))}) | {label} | {cells} "
                  f"| {fixed['errors_before']} -> {fixed['errors_after']} |", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json:
        print(json.dumps({"split": args.split, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
