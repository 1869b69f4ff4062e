"""A person's corrections, used at once: nearest neighbours in the network's last hidden layer.

    reader = Reader(model, Corrections(model, *mnist_references(data_dir)), store)
    probabilities, adapted = reader.read(x28, person="a1b2...")   # that person's answer, with
                                                                  # every drawing the store holds

The network is never changed. Each drawing a person labels is kept (by web.store) and, here, as
its hidden features (256 for the committed CNN): the output of the layer before the last Dense,
where digits that look alike to the network lie close together. When the same person draws again,
each of their labelled drawings may vote for its label, but only when the new drawing is nearer to
it (cosine similarity) than to every one of 500 MNIST training digits of the class the network
chose. A drawing that looks like the network's usual idea of that digit keeps the network's answer;
one that looks more like the person's own "this is a 9" is read as 9. The votes are blended with
the softmax: p' = (p + VOTE * sum of passing similarities per label) / total. One slip does
little harm: a drawing whose label the network found implausible for it votes only once a second
drawing was given that label (see trusted).

Why this rule: it was chosen by measurement (python -m scripts.adaptation, UNIPEN train writers
for the choices, test writers to report; docs/corrections.md). Without the MNIST
gate, a plain nearest-neighbour blend either fixed little or misread many of the person's other
digits; fine-tuning the last layer on the corrections with replayed MNIST fixed less and broke
more. With no labelled drawings a person gets exactly the network's answer.

What this is not: training, or a memory of its own. Nothing here changes the weights or reaches
another person: the store is the truth, and the cache here (per person id, bounded) is checked
against it before each reading, so every process and every server answers alike.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

import nn
from web.features import first_of_each_digit, last_hidden_layer
from web.store import StoreError, StoreUnavailableError

REFERENCES_PER_CLASS = 500  # MNIST training digits per class that a person's drawing must beat
VOTE = 2.0  # weight of a passing example's similarity against the softmax's total of 1
MAX_EXAMPLES = 500  # a person's latest labelled drawings that vote
# A labelled drawing votes alone only when the network gave its label at least this probability
# for it: chosen on the 30 pendigits *train* writers (python -m scripts.adaptation --slips
# --split train), where one drawing given the label of the key beside the right one turned 25%
# of the writer's other right answers of that digit wrong when every label voted, 0 of 12,668
# with it, and one correction per misread label left 47 of 96 errors (44 when every label voted).
PLAUSIBLE = 1e-3
# s a reader leaves a store that failed alone (each reading would otherwise wait for it: up to
# the 3 s connect timeout of a PostgreSQL host that does not answer)
STORE_RETRY = 1.0
MAX_PEOPLE = 10_000  # people whose examples stay in memory (about 64 KB for 500 examples)


def mnist_references(data_dir, per_class: int = REFERENCES_PER_CLASS
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The first `per_class` MNIST training images of each digit (web.features'
    first_of_each_digit), grouped by digit, 0s first: uint8 (10 * per_class, 28, 28) and their
    labels. Raises what nn.data.load_mnist raises for missing or damaged files."""
    images, labels = nn.data.load_mnist(data_dir, "train")
    chosen = first_of_each_digit(labels, per_class)
    chosen = chosen[np.argsort(labels[chosen], kind="stable")]  # (10 * per_class,)
    return images[chosen], labels[chosen]


class Corrections:
    """The rule itself, on features: a person's examples voting past the MNIST gate."""

    def __init__(self, model, reference_images: np.ndarray, reference_labels: np.ndarray):
        self.model = model
        images = np.asarray(reference_images) / np.float32(255)  # (R, 28, 28) in 0..1
        self.references, _ = last_hidden_layer(model, images)
        self.reference_labels = np.asarray(reference_labels, dtype=np.int64)

    def gate(self, probabilities: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """(N,) the similarity of each new drawing to its nearest MNIST reference of the class
        the network chose: what a person's example must beat to vote."""
        to_references = hidden @ self.references.T  # (N, R) cosine similarities
        chosen = probabilities.argmax(axis=1)  # (N,)
        gate = np.empty(len(hidden), dtype=np.float32)
        for c in np.unique(chosen):
            rows = chosen == c
            gate[rows] = to_references[rows][:, self.reference_labels == c].max(axis=1)
        return gate

    def apply(self, probabilities: np.ndarray, hidden: np.ndarray, examples: np.ndarray,
              labels: np.ndarray, example_probabilities: np.ndarray,
              gate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Blend the votes of a person's examples into the network's probabilities.

        Inputs:  probabilities (N, 10), hidden (N, H) unit rows, for the new drawings;
                 examples (E, H) unit rows, labels (E,) and example_probabilities (E, 10), the
                 person's labelled drawings and what the network made of them (see trusted);
                 gate (N,), optionally, from self.gate (it depends on the drawings only).
        Returns: probabilities (N, 10), rows summing to 1, and adapted (N,) bool: whether any
                 example voted for that drawing.
        """
        if len(examples) == 0:
            return probabilities, np.zeros(len(probabilities), dtype=bool)
        if gate is None:
            gate = self.gate(probabilities, hidden)
        similar = hidden @ examples.T  # (N, E)
        voting = (similar > gate[:, None]) & trusted(labels, example_probabilities)[None, :]
        votes = np.where(voting, similar, 0.0) @ np.eye(10)[labels]  # (N, 10)
        blended = probabilities + VOTE * votes
        return blended / blended.sum(axis=1, keepdims=True), votes.sum(axis=1) > 0


def trusted(labels: np.ndarray, example_probabilities: np.ndarray) -> np.ndarray:
    """(E,) bool: which labelled drawings may vote. One whose label the network found
    implausible for it (under PLAUSIBLE) votes only once the person has given that label to
    another drawing the network read otherwise: a single slip of the finger (a clear 7 labelled
    1) stays a single drawing's business, and two such labels are a correction."""
    labels = np.asarray(labels, dtype=np.int64)
    plausible = example_probabilities[np.arange(len(labels)), labels] >= PLAUSIBLE
    overruled = example_probabilities.argmax(axis=1) != labels  # the network read it otherwise
    again = np.bincount(labels[overruled], minlength=10) >= 2  # (10,): labels given twice so
    return plausible | again[labels]


class _Known(NamedTuple):
    """What a Reader knows of one person: the store's version of their drawings when read,
    and per drawing id (oldest first) its label and, once computed, (hidden (H,), p (10,))."""

    version: tuple
    ids: tuple[int, ...]
    labels: np.ndarray
    features: dict  # id -> (hidden, probabilities); never changed once made
    waiting: dict  # id -> input float32 (28, 28) whose features are not computed yet


class Reader:
    """What the server asks for one drawing: the network's answer, adjusted by that person's own
    labelled drawings, as the store holds them now.

    corrections: a Corrections, or None to read every drawing with the network alone.
    store: where a person's labelled drawings are (web.store.DrawingStore: its version(person),
        labelled(person, limit) and inputs(person, ids)). Before each reading the store is asked
        for the person's version, one index lookup; when it changed (a drawing added in any
        process or on any machine, an undo, a forget), the ids and labels are read again, and
        the inputs of drawings not seen before. A store that cannot be read leaves what was
        known (nothing, for a person not seen yet), and is asked again STORE_RETRY seconds later.

    refresh(person) does the store's part (no model) and is thread-safe: serve.py calls it
    before taking the model's lock. read(x, person) uses the model, which promises no thread
    safety: call it under that lock.
    """

    def __init__(self, model, corrections: Corrections | None, store=None):
        self.model = model
        self.corrections = corrections
        self.store = store
        self.people: OrderedDict[str, _Known] = OrderedDict()
        self.lock = threading.Lock()
        self.quiet_until = 0.0  # time.monotonic() before which the store is not asked

    def refresh(self, person: str | None) -> None:
        """Bring the person's labelled drawings up to date with the store (I/O only)."""
        if person is None or self.corrections is None or self.store is None:
            return
        with self.lock:
            known = self.people.get(person)
        if time.monotonic() < self.quiet_until:  # it failed a moment ago: do not wait on it
            return None
        try:
            version = self.store.version(person)
            if known is not None and known.version == version:
                return self._keep(person, known)
            ids, labels = self.store.labelled(person, MAX_EXAMPLES)
            ids = tuple(int(i) for i in ids)
            have = known.features if known is not None else {}
            missing = [i for i in ids if i not in have]
            inputs = self.store.inputs(person, missing)
        except StoreUnavailableError:
            self.quiet_until = time.monotonic() + STORE_RETRY
            return None
        except StoreError:  # a drawing deleted between two queries: read again next time
            return None
        self._keep(person, _Known(version, ids, labels, {i: have[i] for i in ids if i in have},
                                  dict(zip(missing, inputs))))
        return None

    def read(self, x: np.ndarray, person: str | None = None, refresh: bool = True
             ) -> tuple[np.ndarray, bool]:
        """x float32 (28, 28) -> (probabilities (10,), whether the person's drawings changed it).
        refresh=False: the caller has just called refresh(person) itself."""
        if refresh:
            self.refresh(person)
        known = self._features(person)
        if known is None or not known.ids:
            return self.model.predict(x[None, None])[0].astype(np.float64), False
        examples = np.stack([known.features[i][0] for i in known.ids])  # (E, H)
        example_p = np.stack([known.features[i][1] for i in known.ids])  # (E, 10)
        hidden, p = last_hidden_layer(self.model, x[None])
        p, adapted = self.corrections.apply(p, hidden, examples, known.labels, example_p)
        return p[0], bool(adapted[0])

    def _features(self, person: str | None) -> _Known | None:
        """The person's entry with every drawing's features computed (the model's work)."""
        if person is None or self.corrections is None:
            return None
        with self.lock:
            known = self.people.get(person)
        if known is None or not known.waiting:
            return known
        ids = list(known.waiting)
        hidden, p = last_hidden_layer(self.model, np.stack([known.waiting[i] for i in ids]))
        features = {**known.features, **{i: (h, q) for i, h, q in zip(ids, hidden, p)}}
        known = known._replace(features=features, waiting={})
        with self.lock:
            if self.people.get(person, known).version == known.version:
                self.people[person] = known
        return known

    def _keep(self, person: str, known: _Known) -> None:
        with self.lock:
            self.people[person] = known
            self.people.move_to_end(person)
            while len(self.people) > MAX_PEOPLE:
                self.people.popitem(last=False)
