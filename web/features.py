"""Where corrections and the nearest digits compare drawings: the network's last hidden layer.

    hidden, p = last_hidden_layer(model, x)          # unit rows (N, D), probabilities (N, 10)
    positions = first_of_each_digit(labels, 500)     # which MNIST training digits to compare with

The last hidden layer is the D numbers (256 for the committed CNN) that the model's final layer
reads: two drawings are alike when the network describes them alike, whatever their pixels. They
are compared by cosine similarity, since ReLU features of a faint and a bold version of one shape
differ mostly in length, not in direction; so the rows come at length 1 and a dot product is the
similarity. web.corrections (a person's labelled drawings against MNIST's), web.neighbours (the
"Look inside" panel's nearest training digits) and web.explain all read it from here.

What this is not: a feature extractor for any model. It takes the layer before the last one,
whatever that is.
"""

from __future__ import annotations

import numpy as np

from nn.losses import softmax

TRAIN_SPLIT = 55_000  # train.py's training images; the last 5,000 of MNIST's file validate
# Images per forward pass: a batch's im2col lives at once (1.1 GB for 5,000 images in the second
# convolution). 5,000 references took 30 s in one pass, 6 s in batches of 64 (a busy machine,
# load average 10, one BLAS thread).
BATCH = 64


def last_hidden_layer(model, x: np.ndarray, batch: int = BATCH
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Forward passes of `batch` images: (hidden float32 (N, D) unit rows, probabilities (N, 10)).

    x: float32 (N, 28, 28) or (N, 1, 28, 28) in 0..1. hidden is the input of the model's last
    layer scaled to length 1 (unit_rows of hidden_of(model.activations(x))).
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1, 1, 28, 28)
    hidden, logits = [], []
    for i in range(0, len(x), batch):
        outputs = model.activations(x[i:i + batch])
        hidden.append(hidden_of(outputs))  # (B, D)
        logits.append(outputs[-1])
    hidden, logits = np.concatenate(hidden), np.concatenate(logits).astype(np.float64)
    return unit_rows(hidden), softmax(logits)


def hidden_of(outputs: list[np.ndarray]) -> np.ndarray:
    """The last hidden layer (N, D), as it is, from model.activations(x): for a caller that
    needs the other layers' outputs too (web.explain) and so runs the forward pass itself."""
    return outputs[-2].reshape(len(outputs[-2]), -1)


def unit_rows(a: np.ndarray) -> np.ndarray:
    """Each row divided by its length (a row of zeros stays zeros), float32."""
    a = np.asarray(a, np.float32)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.maximum(norms, 1e-12)


def first_of_each_digit(labels: np.ndarray, per_digit: int, limit: int = TRAIN_SPLIT
                        ) -> np.ndarray:
    """Positions (int64, ascending) of the first `per_digit` images of each digit in
    labels[:limit], by default train.py's training split: the same sample for every model, an
    equal number of each digit."""
    labels = np.asarray(labels)[:limit]
    chosen = [np.flatnonzero(labels == digit)[:per_digit] for digit in range(10)]
    return np.sort(np.concatenate(chosen))
