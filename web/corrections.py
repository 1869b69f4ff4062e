"""A person's corrections, used at once: nearest neighbours in the network's last hidden layer.

    reader = Reader(model, *mnist_references(data_dir), examples_of=store.examples)
    probabilities, adapted = reader.read(x28, person="a1b2...")   # that person's answer
    reader.remember("a1b2...", x28, label=9)                      # after the store kept it

The network is never changed. Each drawing a person labels is kept (by web.store) and, here, as
its hidden features (256 for the committed CNN, web/features.py): the output of the layer before
the last Dense, where digits that look alike to the network lie close together. When the same
person draws again, each of their labelled drawings may vote for its label, but only when the new
drawing is nearer to it (cosine similarity) than to every one of 500 MNIST training digits of
the class the network chose. A drawing that looks like the network's usual idea of that digit
keeps the network's answer; one that looks more like the person's own "this is a 9" is read as 9.
The votes are blended with the softmax:
p' = (p + VOTE * sum of passing similarities per label) / total.

Why this rule: it was chosen by measurement (python -m scripts.adaptation, UNIPEN train writers
for the choices, test writers to report; docs/corrections.md). Without the MNIST
gate, a plain nearest-neighbour blend either fixed little or misread many of the person's other
digits; fine-tuning the last layer on the corrections with replayed MNIST fixed less and broke
more. With no labelled drawings a person gets exactly the network's answer.

What this is not: training. Nothing here changes the weights or reaches another person: the
examples are per person id, in memory (a bounded cache) and in the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

import nn
from web.features import first_of_each_digit, last_hidden_layer

REFERENCES_PER_CLASS = 500  # MNIST training digits per class that a person's drawing must beat
VOTE = 2.0  # weight of a passing example's similarity against the softmax's total of 1
MAX_EXAMPLES = 500  # a person's latest labelled drawings that vote
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
              labels: np.ndarray, gate: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Blend the votes of a person's examples into the network's probabilities.

        Inputs:  probabilities (N, 10), hidden (N, H) unit rows, for the new drawings;
                 examples (E, H) unit rows and labels (E,), the person's labelled drawings;
                 gate (N,), optionally, from self.gate (it depends on the drawings only).
        Returns: probabilities (N, 10), rows summing to 1, and adapted (N,) bool: whether any
                 example voted for that drawing.
        """
        if len(examples) == 0:
            return probabilities, np.zeros(len(probabilities), dtype=bool)
        if gate is None:
            gate = self.gate(probabilities, hidden)
        similar = hidden @ examples.T  # (N, E)
        passing = np.where(similar > gate[:, None], similar, 0.0)  # (N, E)
        votes = passing @ np.eye(10)[labels]  # (N, 10)
        blended = probabilities + VOTE * votes
        return blended / blended.sum(axis=1, keepdims=True), votes.sum(axis=1) > 0


class Reader:
    """What the server asks for one drawing: the network's answer, adjusted by that person's own
    labelled drawings. Not thread-safe, like the model: the server calls it under its lock.

    corrections: a Corrections, or None to read every drawing with the network alone.
    examples_of: person -> (inputs float32 (E, 28, 28), labels (E,)), the labelled drawings a
        person has in the store; asked once per person, then kept in a bounded cache. It may
        return None when they cannot be read now: that drawing is read by the network alone,
        and the store is asked again next time.
    """

    def __init__(self, model, corrections: Corrections | None,
                 examples_of: Callable[[str], tuple[np.ndarray, np.ndarray] | None] | None = None):
        self.model = model
        self.corrections = corrections
        self.examples_of = examples_of
        self.people: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.lock = threading.Lock()

    def read(self, x: np.ndarray, person: str | None = None) -> tuple[np.ndarray, bool]:
        """x float32 (28, 28) -> (probabilities (10,), whether the person's drawings changed it)."""
        examples, labels = self._examples(person)
        if len(examples) == 0:
            return self.model.predict(x[None, None])[0].astype(np.float64), False
        hidden, p = last_hidden_layer(self.model, x[None])
        p, adapted = self.corrections.apply(p, hidden, examples, labels)
        return p[0], bool(adapted[0])

    def remember(self, person: str | None, x: np.ndarray, label: int) -> None:
        """Add one labelled drawing to the person's examples (after the store has kept it)."""
        if person is None or self.corrections is None:
            return
        examples, labels = self._examples(person)
        hidden, _ = last_hidden_layer(self.model, x[None])
        if len(examples):
            hidden = np.concatenate([examples, hidden])[-MAX_EXAMPLES:]
        self._keep(person, hidden, np.append(labels, label)[-MAX_EXAMPLES:])

    def _examples(self, person: str | None) -> tuple[np.ndarray, np.ndarray]:
        """The person's examples from the cache, else from the store (once), else none."""
        none = np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
        if person is None or self.corrections is None:
            return none
        with self.lock:
            if person in self.people:
                self.people.move_to_end(person)
                return self.people[person]
        if self.examples_of is None:
            return none
        stored = self.examples_of(person)
        if stored is None:
            return none
        inputs, labels = stored
        found = (last_hidden_layer(self.model, inputs)[0], labels) if len(inputs) else none
        self._keep(person, *found)
        return found

    def _keep(self, person: str, examples: np.ndarray, labels: np.ndarray) -> None:
        with self.lock:
            self.people[person] = (examples, labels)
            self.people.move_to_end(person)
            while len(self.people) > MAX_PEOPLE:
                self.people.popitem(last=False)
