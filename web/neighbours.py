"""The MNIST training digits nearest to a drawing, as the network sees them.

    index = NeighbourIndex.build(model, images, labels, first_of_each_digit(labels, 1000))
    index.nearest(last_hidden_layer(model, x)[0][0], k=8)   # -> [Neighbour(position, label, ...)]

"Nearest" is cosine similarity in the network's last hidden layer (web/features.py).

The index holds a sample of the training images: the first PER_DIGIT of each digit among the
first 55,000, the images train.py trains on (the rest of the file is its validation split).
Reading those 10,000 digits through the CNN takes about 5.5 s of one core (1,800 images/s), so
`BackgroundIndex` does it in a thread of its own at the lowest CPU priority, once per weights
file: the features are kept in data/cache/ under the SHA-256 of the weights, and later starts
only read MNIST's images again (about a second). Memory: 10,000 x (784 pixels + 256 float32
features) is about 18 MB.

What it is not: a general nearest-neighbour library (a matrix-vector product over 10,000 rows,
about 0.3 ms, needs no tree), nor a way to get MNIST: without the files it says where it looked.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import nn
from training.mnist import SEARCHED_DIRS, find_mnist
from web.features import first_of_each_digit, last_hidden_layer, unit_rows

PER_DIGIT = 1000  # training images of each digit in the index: 10,000 in all
CACHE_DIR = Path("data") / "cache"
BATCH = 100  # images per forward pass while building: short passes, so requests get the GIL
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Neighbour:
    """One training digit: where it is in MNIST's training file, its label, how alike (cosine
    similarity, 1 = the same direction) and its pixels, uint8 (28, 28) with 255 = ink."""
    position: int
    label: int
    similarity: float
    image: np.ndarray


@dataclass(frozen=True)
class NeighbourIndex:
    """features float32 (n, D) of length 1 each; labels uint8 (n,); images uint8 (n, 28, 28);
    positions (n,) in MNIST's training file."""
    features: np.ndarray
    labels: np.ndarray
    images: np.ndarray
    positions: np.ndarray

    @classmethod
    def build(cls, model: nn.Sequential, images: np.ndarray, labels: np.ndarray,
              positions: np.ndarray, progress=None) -> NeighbourIndex:
        """Read images[positions] through the model, BATCH at a time; progress(fraction) after
        each batch if given."""
        chosen = images[positions]
        features = []
        for start in range(0, len(chosen), BATCH):
            x = chosen[start:start + BATCH, None].astype(np.float32) / 255  # (B, 1, 28, 28)
            features.append(last_hidden_layer(model, x, batch=BATCH)[0])  # unit rows
            if progress:
                progress(min(1.0, (start + BATCH) / len(chosen)))
        features = np.concatenate(features) if features else np.zeros((0, 0), np.float32)
        return cls(features, labels[positions], chosen, positions)

    def nearest(self, hidden: np.ndarray, k: int = 8) -> list[Neighbour]:
        """The k training digits whose hidden features point most nearly the way `hidden` (D,)
        does, most alike first."""
        h = np.asarray(hidden, np.float32).reshape(-1)
        if h.shape[0] != self.features.shape[1]:
            raise ValueError(f"hidden features of size {h.shape[0]}, but the index holds "
                             f"{self.features.shape[1]}: it was made with another model")
        similarity = self.features @ unit_rows(h[None])[0]  # (n,)
        k = min(k, len(similarity))
        best = np.argpartition(-similarity, k - 1)[:k] if k else np.zeros(0, np.int64)
        best = best[np.argsort(-similarity[best], kind="stable")]
        return [Neighbour(int(self.positions[i]), int(self.labels[i]), float(similarity[i]),
                          self.images[i]) for i in best]


# ------------------------------------------------------------------------- built in the background


class BackgroundIndex:
    """A NeighbourIndex made in a thread, from the MNIST files found on disk (never downloaded).

        neighbours = BackgroundIndex(model, "weights/mnist_cnn.npz").start()
        neighbours.status()   # {"status": "building", "progress": 0.4, "note": "..."}
        neighbours.index      # the NeighbourIndex once status is "ready", else None

    status is "building" (MNIST being read or the features computed), "ready", "missing" (no
    MNIST training files where find_mnist looks) or "failed" (the error is in the note and on
    stderr). The thread has its own copy of the model: nn promises no thread safety.
    """

    def __init__(self, model: nn.Sequential, weights: str | os.PathLike,
                 mnist_dir: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = CACHE_DIR, per_digit: int = PER_DIGIT):
        self.model = copy.deepcopy(model)
        self.weights = Path(weights)
        self.mnist_dir = Path(mnist_dir) if mnist_dir else None
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.per_digit = per_digit
        self.index: NeighbourIndex | None = None
        self._state: dict[str, Any] = {"status": "building", "progress": 0.0,
                                       "note": "Reading MNIST's training digits."}
        self._thread = threading.Thread(target=self._run, name="neighbours", daemon=True)

    def start(self) -> BackgroundIndex:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> BackgroundIndex:
        self._thread.join(timeout)
        return self

    def status(self) -> dict[str, Any]:
        return dict(self._state)

    def _progress(self, fraction: float) -> None:
        n = 10 * self.per_digit
        self._state = {"status": "building", "progress": round(fraction, 3),
                       "note": f"Reading {n:,} MNIST training digits through the network "
                               f"({fraction:.0%}); they are ready in a few seconds."}

    def _run(self) -> None:
        _lowest_priority()
        try:
            folder = self.mnist_dir or find_mnist("train")
            if folder is None:
                self._state = {"status": "missing", "progress": 0.0, "note": missing_note()}
                return
            images, labels = nn.data.load_mnist(folder, "train")
            positions = first_of_each_digit(labels, self.per_digit)
            cache = self._cache_path()
            features = _read_cache(cache, positions) if cache else None
            if features is None:
                self._progress(0.0)
                index = NeighbourIndex.build(self.model, images, labels, positions,
                                             self._progress)
                if cache:
                    _write_cache(cache, positions, index.features)
            else:
                index = NeighbourIndex(features, labels[positions], images[positions], positions)
            self.index = index
            self._state = {"status": "ready", "progress": 1.0, "note": None}
        except Exception as err:  # any failure: the panel says so, and the server carries on
            log.warning("the nearest training digits are off: %s: %s", type(err).__name__, err)
            self._state = {"status": "failed", "progress": 0.0,
                           "note": f"The nearest training digits could not be prepared: {err}"}

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(self.weights.read_bytes()).hexdigest()[:16]
        return self.cache_dir / f"neighbours-{self.weights.stem}-{digest}-{self.per_digit}.npz"


def missing_note() -> str:
    """What the panel says when no MNIST training files were found."""
    where = " and ".join(str(folder) for folder in SEARCHED_DIRS)
    return ("The nearest training digits need MNIST's training files, which this server did not "
            f"find: it looks in $MNIST_DIR, else in {where}. `python train.py` downloads them "
            "to data/mnist; then restart the server.")


def _lowest_priority() -> None:
    """Run the calling thread at nice 19: requests get the CPU first. (On Linux a thread's nice
    value is its own; elsewhere this does nothing.)"""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def _read_cache(path: Path, positions: np.ndarray) -> np.ndarray | None:
    """The cached features if the file is there and made for these positions, else None."""
    if not path.is_file():
        return None
    try:
        state = nn.load_state(path)
        features = np.asarray(state["features"], np.float32)
        if np.array_equal(state["positions"], positions) and len(features) == len(positions):
            return features
    except (ValueError, KeyError, TypeError) as err:
        log.warning("ignoring %s (%s); computing the features again", path, err)
    return None


def _write_cache(path: Path, positions: np.ndarray, features: np.ndarray) -> None:
    """Keep the features for the next start; a cache that cannot be written is only a slower
    next start. float16: 2.5 MB instead of 5, and cosine similarities change by < 1e-3."""
    try:
        nn.save_state(path, {"positions": positions.astype(np.int32),
                             "features": features.astype(np.float16)})
    except OSError as err:
        log.warning("could not keep the features in %s (%s)", path, err)
