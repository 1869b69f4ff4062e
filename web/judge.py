"""The network's answer for a batch of 28x28 drawings, and whether each is a digit at all.

    judge = Judge(model, nn.load("weights/not_a_digit.npz"))
    p, p_not = judge.read(x)          # x float32 (N, 28, 28): (N, 10) probabilities, (N,)
    judge.is_not_a_digit(p_not)       # bool (N,): above the threshold chosen on training writers

The "not a digit" judge is a small network (scripts/train_not_a_digit.py) reading what the main
CNN computes before its last layer (its unit-length hidden features) and the CNN's ten
probabilities, with 11 outputs: the digits and "not a digit". One forward pass of the CNN gives
both the answer and the judge's input. The judge was trained on one CNN's features: its file
records that CNN's SHA-256 (``matches``), and is trained again, by one command, with the CNN.

What this is not: the segmentation of a number (digits.numbers), which calls ``read`` on its
candidate pieces.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from web.features import last_hidden_layer

NOT_A_DIGIT = 10  # the judge's class index for "not a digit"


def judge_inputs(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the judge's inputs float32 (N, H + 10), the CNN's probabilities float64 (N, 10)) for
    x float32 (N, 28, 28) or (N, 1, 28, 28): one forward pass of ``model``."""
    hidden, p = last_hidden_layer(model, x)
    return np.concatenate([hidden, p.astype(np.float32)], axis=1), p


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Judge:
    """The main model's probabilities and the judge's p(not a digit), batch by batch.

    head: the judge (an nn model whose ``predict`` reads judge_inputs as (N, F, 1, 1), and whose
        ``meta["threshold"]`` is where p(not a digit) starts to mean "not a digit"),
    or None: then nothing is ever called "not a digit" (p_not is 0).
    """

    def __init__(self, model, head=None):
        self.model, self.head = model, head
        self.threshold = float((getattr(head, "meta", None) or {}).get("threshold", 1.0))

    def read(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 (N, 28, 28) -> (probabilities float64 (N, 10) summing to 1, p(not a digit)
        float64 (N,))."""
        x = np.asarray(x, dtype=np.float32).reshape(-1, 1, 28, 28)
        if len(x) == 0:
            return np.zeros((0, 10)), np.zeros(0)
        if self.head is None:
            p = np.asarray(self.model.predict(x), dtype=np.float64)
            return p / p.sum(axis=1, keepdims=True), np.zeros(len(x))
        inputs, p = judge_inputs(self.model, x)  # (N, F)
        p_not = np.asarray(self.head.predict(inputs[:, :, None, None]),  # (N, F, 1, 1)
                           dtype=np.float64)[:, NOT_A_DIGIT]
        return p / p.sum(axis=1, keepdims=True), p_not

    def is_not_a_digit(self, p_not: np.ndarray) -> np.ndarray:
        return np.asarray(p_not) > self.threshold

    def matches(self, weights_path: str | Path) -> bool:
        """Was the judge trained on the features of the CNN in ``weights_path``?"""
        meta = getattr(self.head, "meta", None) or {}
        return self.head is None or meta.get("cnn_sha256") == file_sha256(weights_path)
