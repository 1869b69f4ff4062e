"""web.features: the last hidden layer at unit length, and the per-digit sample of MNIST that
corrections and the nearest digits both compare with."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from conftest import REPO
from web.corrections import mnist_references
from web.features import first_of_each_digit, hidden_of, last_hidden_layer

WEIGHTS = REPO / "weights" / "mnist_cnn.npz"


@pytest.fixture(scope="module")
def model():
    return nn.load(WEIGHTS)


def test_sample_is_the_first_of_each_digit_in_the_training_split():
    labels = np.array([3, 1, 3, 3, 0, 1, 9, 9, 2])
    positions = first_of_each_digit(labels, per_digit=2, limit=8)  # the 2 at position 8 is beyond
    assert positions.tolist() == [0, 1, 2, 4, 5, 6, 7]
    assert np.all(np.diff(positions) > 0)


def test_the_hidden_features_are_the_last_layers_input_at_unit_length(model):
    x = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    hidden, p = last_hidden_layer(model, x)
    raw = model.activations(x[:, None])[-2]
    assert hidden.shape == (3, model.layers[-1].in_features)
    np.testing.assert_allclose(np.linalg.norm(hidden, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(hidden * np.linalg.norm(raw, axis=1, keepdims=True), raw,
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p, model.predict(x[:, None]), rtol=1e-4, atol=1e-6)


def test_batches_do_not_change_the_answer(model):
    x = np.random.default_rng(1).random((7, 28, 28), dtype=np.float32)
    whole, p_whole = last_hidden_layer(model, x, batch=7)
    pieces, p_pieces = last_hidden_layer(model, x, batch=3)
    np.testing.assert_allclose(pieces, whole, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p_pieces, p_whole, rtol=1e-4, atol=1e-6)
    raw = hidden_of(model.activations(x[:, None]))
    np.testing.assert_allclose(np.linalg.norm(raw, axis=1, keepdims=True) * whole, raw,
                               rtol=1e-4, atol=1e-6)


def test_corrections_references_are_the_same_sample_grouped_by_digit(mnist_dir):
    images, labels = nn.data.load_mnist(mnist_dir, "train")
    ref_images, ref_labels = mnist_references(mnist_dir, per_class=3)
    positions = first_of_each_digit(labels, 3)
    assert ref_labels.tolist() == sorted(labels[positions].tolist())  # 0s first
    assert sorted(map(bytes, ref_images)) == sorted(map(bytes, images[positions]))
