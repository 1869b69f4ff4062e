"""Train the "not a digit" judge: a small network on the main CNN's hidden features, with 11
outputs, the ten digits and "not a digit" (web/judge.py uses it).

    python -m scripts.train_not_a_digit                      # -> weights/not_a_digit.npz + .json
    python -m scripts.train_not_a_digit --limit 2000 --out /tmp/nd.npz   # a smoke run

It reads what the main CNN (--weights) computes before its last layer, so it is trained again
whenever that CNN is: the file records the CNN's SHA-256, and serve.py warns when they differ.

Digits (classes 0..9): MNIST training digits, and UNIPEN's and pendigits' training writers' digits
drawn by random hands through the page's preprocessing (training/handwriting.py). Not digits
(class 10): UNIPEN's training writers' letters that are not written like digits, and scribbles,
shapes, crossed-out digits, digit fragments and two digits squeezed into one
(training/not_digits.py). The training writers of one fold (training.unipen.VALIDATION, the
0/7 that train.py also holds out) are kept out of it; the threshold on p(not a digit) is chosen on
them: the lowest that calls at most THRESHOLD_SHARE of their real digits "not a digit". Test
writers are never read.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import nn
from training.handwriting import handwriting_images
from training.mnist import resolve_data_dir
from training.not_digits import load_letters, not_digit_strokes
from training.report import cpu_name
from training.unipen import VALIDATION, is_held_out, load_unipen, resolve_unipen_dir, split_writers
from web.judge import NOT_A_DIGIT, file_sha256, judge_inputs

# ---- defaults -------------------------------------------------------------------------------
WEIGHTS = "weights/mnist_cnn.npz"
OUT = "weights/not_a_digit.npz"
PENDIGITS_DIR = "../shared/pendigits"
EPOCHS = 30
BATCH_SIZE = 256
LR = 2e-3
HIDDEN = 64
SEED = 0
MNIST_DIGITS = 10_000
LETTERS = 40_000
MADE = 24_000  # scribbles, shapes, crossed-out digits, fragments, squeezed pairs
THRESHOLD_SHARE = 0.002  # of held-out real digits called "not a digit" (the target is 0.3%)
# -----------------------------------------------------------------------------------------------


def head(inputs: int, seed: int) -> nn.Sequential:
    """(N, F, 1, 1) -flatten-> (N, F) -dense-> (N, HIDDEN) -dense-> (N, 11) logits."""
    rng = np.random.default_rng(seed)
    return nn.Sequential([nn.Flatten(), nn.Dense(inputs, HIDDEN, seed=rng), nn.ReLU(),
                          nn.Dense(HIDDEN, 11, seed=rng)])


def load_images(args, rng):
    """(x, y) to train on, float32 (N, 28, 28) and int64 (N,); and the held-out writers'
    digits and letters (float32 (M, 28, 28) each) to choose the threshold on."""
    images, mnist_labels = nn.data.load_mnist(resolve_data_dir(args.data_dir), "train")
    unipen_dir = resolve_unipen_dir(args.unipen_dir)
    unipen_train, unipen_held = split_writers(load_unipen(unipen_dir, "train"), VALIDATION)
    pen = load_unipen(args.pendigits_dir, "train")
    letters = [t for t in load_letters(unipen_dir, "train") if not t.digit_like]
    digits = unipen_train + [d for d in pen if not is_held_out(d.writer)]
    held = unipen_held + [d for d in pen if is_held_out(d.writer)]
    letters_train = [t for t in letters if not is_held_out(t.writer)]
    letters_held = [t for t in letters if is_held_out(t.writer)]
    limit = args.limit or len(images)
    digits = [digits[i] for i in rng.permutation(len(digits))[:limit]]
    picked = [letters_train[i] for i in rng.permutation(len(letters_train))[:min(args.letters,
                                                                                  limit)]]
    made, _ = not_digit_strokes(digits, rng, min(args.made, limit))
    negatives = [list(t.strokes) for t in picked] + made
    print(f"drawing {len(digits):,} digits and {len(negatives):,} non-digits of training "
          f"writers, {len(held):,} digits and {len(letters_held):,} letters held out...",
          flush=True)
    x_pos = handwriting_images([list(d.strokes) for d in digits], rng)
    x_neg = handwriting_images(negatives, rng)
    pick = rng.permutation(len(images))[:min(args.mnist, limit)]
    x = np.concatenate([x_pos, x_neg, images[pick].astype(np.float32) / 255.0])
    y = np.concatenate([[d.label for d in digits], np.full(len(x_neg), NOT_A_DIGIT),
                        mnist_labels[pick]]).astype(np.int64)
    held_digits = handwriting_images([list(d.strokes) for d in held], rng)
    held_letters = handwriting_images([list(t.strokes) for t in letters_held[:limit]], rng)
    return x, y, held_digits, held_letters


def train(model, x, y, args, rng) -> list[dict]:
    """Adam with a cosine decay of the learning rate; one line per epoch."""
    optimiser = nn.Adam(model.parameters(), lr=args.lr)
    steps, step, history = args.epochs * -(-len(x) // args.batch_size), 0, []
    for epoch in range(args.epochs):
        loss_sum = 0.0
        for idx in nn.data.minibatches(len(x), args.batch_size, rng):
            optimiser.lr = args.lr * 0.5 * (1 + np.cos(np.pi * step / steps))
            loss, dlogits = nn.softmax_cross_entropy(model.forward(x[idx], train=True), y[idx])
            model.backward(dlogits)
            optimiser.step()
            loss_sum += loss * len(idx)
            step += 1
        history.append({"epoch": epoch + 1, "loss": loss_sum / len(x)})
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss_sum / len(x):.4f}", flush=True)
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=WEIGHTS, help=f"the main CNN (default {WEIGHTS})")
    parser.add_argument("--out", default=OUT, help=f"the judge's file (default {OUT})")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--mnist", type=int, default=MNIST_DIGITS, help="MNIST digits used")
    parser.add_argument("--letters", type=int, default=LETTERS, help="UNIPEN letters used")
    parser.add_argument("--made", type=int, default=MADE, help="scribbles, shapes... made")
    parser.add_argument("--limit", type=int, default=None, help="at most this many of each")
    parser.add_argument("--data-dir", default=None, help="MNIST (default $MNIST_DIR...)")
    parser.add_argument("--unipen-dir", default=None, help="UNIPEN (default $UNIPEN_DIR...)")
    parser.add_argument("--pendigits-dir", default=PENDIGITS_DIR,
                        help=f"pendigits (default {PENDIGITS_DIR})")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    started = time.time()
    try:
        model = nn.load(args.weights)
        x, y, held_digits, held_letters = load_images(args, rng)
    except (OSError, ValueError) as err:
        print(f"train_not_a_digit: {err}", file=sys.stderr)
        return 1
    features = judge_inputs(model, x)[0][:, :, None, None]  # (N, F, 1, 1)
    print(f"training on {len(x):,} images ({int((y == NOT_A_DIGIT).sum()):,} not digits)",
          flush=True)
    judge = head(features.shape[1], args.seed)
    history = train(judge, features, y, args, rng)
    p_digits = judge.predict(judge_inputs(model, held_digits)[0][:, :, None, None])[:, NOT_A_DIGIT]
    p_letters = judge.predict(judge_inputs(model, held_letters)[0][:, :, None, None])[
        :, NOT_A_DIGIT]
    threshold = float(np.quantile(p_digits, 1.0 - THRESHOLD_SHARE))
    results = {
        "threshold": threshold,
        "held_out_writers": VALIDATION,
        "held_out_digits": len(p_digits),
        "held_out_digits_called_not_a_digit": float((p_digits > threshold).mean()),
        "held_out_letters": len(p_letters),
        "held_out_letters_called_not_a_digit": float((p_letters > threshold).mean()),
    }
    print(json.dumps(results, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nn.save(judge, out, meta={"threshold": threshold, "cnn_sha256": file_sha256(args.weights),
                              "cnn": Path(args.weights).name,
                              "classes": "0-9 digits, 10 not a digit"})
    report = {"command": " ".join(["python -m scripts.train_not_a_digit", *(argv or sys.argv[1:])]),
              "config": vars(args), "machine": {"cpu": cpu_name(),
                                                "python": platform.python_version()},
              "minutes": round((time.time() - started) / 60, 1), "images": len(x),
              "history": history, "results": results}
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
