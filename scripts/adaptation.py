"""Does correcting the network make it read *your* digits better, and nobody else's worse?

    python -m scripts.adaptation                 # UNIPEN test writers, the committed model
    python -m scripts.adaptation --split train   # UNIPEN train writers: where the rule was chosen
    python -m scripts.adaptation --json          # last line: one JSON object
    python -m scripts.adaptation --slips         # one wrong label (UNIPEN and pendigits writers)

Real people's digits (UNIPEN, 58 test writers who wrote about 42 digits each) are drawn through
exactly what the server does (digits.preprocess.preprocess_strokes) and read by the model. For
each writer, the digits the model gets wrong are grouped by their true label, and the first k
(k = 1, 2, 3) of each group are "corrected": given to that writer's memory as labelled drawings,
as if they had picked the right digit on the page. Then the writer's *other* digits are read
again, and we count:

    accuracy        on the rest of the writer's digits, before and after
    errors fixed    among the rest, in the labels the writer corrected (what corrections are for)
    right -> wrong  digits the network read right that the corrections made wrong (the harm)
    MNIST           test accuracy (10,000) for a person without corrections, through the server's
                    own Reader, and for each writer *with* their corrections (mean and worst)

With --slips it measures one slip of the finger instead: for each writer and digit with at least
two drawings the network reads right, the first is given a wrong label (the key beside the
right one, any wrong label, or the network's own second choice for it: the worst case), and the
writer's other right answers of that digit are read again with it; and one correction (k = 1)
beside it, for the served rule and for the rule before it, where every label voted (UNIPEN and
pendigits writers, ../shared/pendigits, same format).

Three methods, each at the settings chosen on the train writers: the one the server uses
(web.corrections: nearest neighbours in the last hidden layer, gated by 500 MNIST digits per class),
the same neighbours without the gate, and a few gradient steps on the last layer over the
corrections with replayed MNIST so it does not forget.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # One BLAS thread, as serve.py runs: the "person without corrections" check reads 10,000
    # digits one at a time through the server's Reader (0.5 ms each; 20 ms with two threads
    # fighting for a busy machine's cores).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import nn
from digits.drawing import BlankDrawingError
from digits.preprocess import preprocess_strokes
from nn.losses import softmax
from training.mnist import ensure_mnist, resolve_data_dir
from training.unipen import load_unipen, resolve_unipen_dir
from web.corrections import PLAUSIBLE, Corrections, Reader, mnist_references
from web.features import last_hidden_layer

KS = (1, 2, 3)


# ------------------------------------------------------------------------------ the alternatives
# Each method: (drawings, examples, labels) -> probabilities (N, 10). drawings and examples
# are dicts of "p" probabilities (N, 10), "hidden" unit rows (N, H), "raw" hidden (N, H) and
# "gate" (N,), the similarity to the nearest MNIST reference of the chosen class.

def served(corrections):
    """web.corrections, as the server runs it."""
    def method(drawings, examples, labels):
        return corrections.apply(drawings["p"], drawings["hidden"], examples["hidden"], labels,
                                 examples["p"], drawings["gate"])[0]
    return method


def plain_neighbours(drawings, examples, labels, weight=1.0, width=0.1):
    """Every example votes with exp((similarity - 1) / width): no gate. Settings from the train
    writers: stronger votes (weight 3, width 0.1) fixed more but broke dozens of right answers."""
    similar = drawings["hidden"] @ examples["hidden"].T  # (N, E)
    votes = np.exp((similar - 1) / width) @ np.eye(10)[labels]
    blended = drawings["p"] + weight * votes
    return blended / blended.sum(axis=1, keepdims=True)


def make_finetune(model, replay_raw, replay_labels, steps=100, lr=1.0, weight=0.2):
    """Gradient descent on the last Dense layer, over the corrections (weight 0.2 in all) and
    1,000 replayed MNIST training digits (0.8), from the trained weights each time."""
    w0, b0 = model.layers[-1].params["w"], model.layers[-1].params["b"]

    def finetune(drawings, examples, labels):
        x = np.concatenate([examples["raw"], replay_raw])
        y = np.concatenate([labels, replay_labels])
        share = np.concatenate([np.full(len(labels), weight / len(labels)),
                                np.full(len(replay_labels), (1 - weight) / len(replay_labels))])
        w, b = w0.astype(np.float64), b0.astype(np.float64)
        for _ in range(steps):
            d = softmax(x @ w + b)
            d[np.arange(len(y)), y] -= 1  # the gradient of cross-entropy on the logits
            d *= share[:, None]
            w -= lr * x.T @ d
            b -= lr * d.sum(axis=0)
        return softmax(drawings["raw"] @ w + b)

    return finetune


# ------------------------------------------------------------------------------ measuring


def features(model, corrections, x) -> dict[str, np.ndarray]:
    """What every method needs to know of drawings x float32 (N, 28, 28)."""
    hidden, p = last_hidden_layer(model, x)
    raw = model.activations(x[:, None])[-2].reshape(len(x), -1).astype(np.float64)
    return {"p": p, "hidden": hidden, "raw": raw, "gate": corrections.gate(p, hidden)}


def rows(drawings: dict, which) -> dict:
    return {name: values[which] for name, values in drawings.items()}


def draw_unipen(folder, split):
    """UNIPEN digits through preprocess_strokes: x float32 (N, 28, 28), labels, writers."""
    xs, labels, writers, blank = [], [], [], 0
    for digit in load_unipen(folder, split):
        try:
            xs.append(preprocess_strokes([s.tolist() for s in digit.strokes]))
        except BlankDrawingError:  # a tap-sized fragment: the page would refuse it too
            blank += 1
            continue
        labels.append(digit.label)
        writers.append(digit.writer)
    return np.stack(xs), np.array(labels), np.array(writers), blank


def measure(method, drawn, y, writers, mnist, mnist_labels, k):
    """One method with k corrections per misread label, over every writer."""
    predicted = drawn["p"].argmax(axis=1)
    n = before = after = errors_before = errors_after = broken = 0
    mnist_scores = []
    for writer in np.unique(writers):
        mine = np.flatnonzero(writers == writer)
        wrong = defaultdict(list)
        for i in mine[predicted[mine] != y[mine]]:
            wrong[y[i]].append(i)
        fixes = np.array([i for label in wrong for i in wrong[label][:k]], dtype=int)
        rest = np.setdiff1d(mine, fixes)
        if len(fixes):
            q = method(rows(drawn, rest), rows(drawn, fixes), y[fixes])
        else:
            q = drawn["p"][rest]
        read, truth = q.argmax(axis=1), y[rest]
        n += len(rest)
        before += int((predicted[rest] == truth).sum())
        after += int((read == truth).sum())
        corrected = np.isin(truth, list(wrong))
        errors_before += int((predicted[rest] != truth)[corrected].sum())
        errors_after += int((read != truth)[corrected].sum())
        broken += int(((predicted[rest] == truth) & (read != truth)).sum())
        if len(fixes):
            q = method(mnist, rows(drawn, fixes), y[fixes])
            mnist_scores.append(float((q.argmax(axis=1) == mnist_labels).mean()))
    return {"k": k, "digits": n, "before": before / n, "after": after / n,
            "errors_before": errors_before, "errors_after": errors_after, "right_to_wrong": broken,
            "mnist_with_corrections_mean": float(np.mean(mnist_scores)),
            "mnist_with_corrections_worst": float(np.min(mnist_scores))}


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


def report_slips(args, model, corrections, mnist_dir, unipen, started) -> int:
    """--slips: one wrong label against one correction, on UNIPEN's and pendigits' writers."""
    pendigits = Path(args.pendigits_dir or os.environ.get("PENDIGITS_DIR")
                     or Path(__file__).resolve().parents[2] / "shared" / "pendigits")
    if not (pendigits / f"{args.split}.jsonl.gz").is_file():
        raise SystemExit(f"no pendigits in {pendigits}: pass --pendigits-dir")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="weights/mnist_cnn.npz")
    parser.add_argument("--split", default="test", choices=("test", "train"),
                        help="UNIPEN writers to measure on (train: where the settings were chosen)")
    parser.add_argument("--unipen-dir", default=None,
                        help="default $UNIPEN_DIR or ../shared/unipen")
    parser.add_argument("--data-dir", default=None, help="MNIST; default $MNIST_DIR or data/mnist")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--slips", action="store_true", help="measure what one wrong label "
                        "does instead, on UNIPEN's and pendigits' writers of --split")
    parser.add_argument("--pendigits-dir", default=None,
                        help="for --slips; default $PENDIGITS_DIR or ../shared/pendigits")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = nn.load(args.weights)
    unipen = resolve_unipen_dir(args.unipen_dir)
    if unipen is None:
        parser.error("no UNIPEN folder: pass --unipen-dir or set UNIPEN_DIR")
    mnist_dir = ensure_mnist(resolve_data_dir(args.data_dir))
    corrections = Corrections(model, *mnist_references(mnist_dir))
    if args.slips:
        return report_slips(args, model, corrections, mnist_dir, unipen, started)

    x, y, writers, blank = draw_unipen(unipen, args.split)
    drawn = features(model, corrections, x)
    test_images, test_labels = nn.data.load_mnist(mnist_dir, "test")
    m_x = test_images.astype(np.float32) / 255
    mnist = features(model, corrections, m_x)

    # A person without corrections: the server's Reader, one drawing at a time, as served.
    reader = Reader(model, corrections, store=None)
    answers = np.array([reader.read(image, "nobody-yet")[0] for image in m_x])
    plain = model.predict(m_x[:, None])
    unchanged = {"network": float((plain.argmax(1) == test_labels).mean()),
                 "reader_without_corrections": float((answers.argmax(1) == test_labels).mean()),
                 "same_answers": bool((answers.argmax(1) == plain.argmax(1)).all())}

    replay = np.random.default_rng(0).choice(len(corrections.reference_labels), 1000, False)
    replay_raw = model.activations(
        (mnist_references(mnist_dir)[0][replay] / np.float32(255))[:, None])[-2]
    methods = {
        "nearest neighbours + MNIST gate (served)": served(corrections),
        "nearest neighbours, no gate": plain_neighbours,
        "last layer, 100 steps + MNIST replay":
            make_finetune(model, replay_raw.astype(np.float64),
                          corrections.reference_labels[replay]),
    }
    results = {name: [measure(method, drawn, y, writers, mnist, test_labels, k) for k in KS]
               for name, method in methods.items()}

    print(f"UNIPEN {args.split}: {len(y)} digits by {len(np.unique(writers))} writers "
          f"({blank} tap-sized fragments left out), network alone "
          f"{(drawn['p'].argmax(1) == y).mean():.2%}")
    print(f"MNIST test, a person without corrections: {unchanged['reader_without_corrections']:.2%}"
          f" (network alone {unchanged['network']:.2%}; same answer for every digit: "
          f"{unchanged['same_answers']})\n")
    print("| method | k | accuracy on the rest, before -> after | errors in corrected labels "
          "| right -> wrong | MNIST with the writer's corrections (mean, worst) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, rows in results.items():
        for r in rows:
            print(f"| {name} | {r['k']} | {r['before']:.2%} -> {r['after']:.2%} "
                  f"| {r['errors_before']} -> {r['errors_after']} | {r['right_to_wrong']} "
                  f"| {r['mnist_with_corrections_mean']:.2%}, "
                  f"{r['mnist_with_corrections_worst']:.2%} |")
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json:
        print(json.dumps({"split": args.split, "digits": len(y), "mnist": unchanged,
                          "methods": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
