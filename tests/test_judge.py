"""web.judge.judge_inputs: what the "not a digit" judge reads from one forward pass of a CNN."""

import numpy as np
import pytest

import nn
from web.judge import judge_inputs


def small_cnn():
    rng = np.random.default_rng(0)
    return nn.Sequential([nn.Conv2D(1, 4, 3, padding=1, seed=rng), nn.ReLU(),
                          nn.MaxPool2D(2, 2), nn.Flatten(), nn.Dense(4 * 14 * 14, 8, seed=rng),
                          nn.ReLU(), nn.Dense(8, 10, seed=rng)])


def test_inputs_are_the_flattened_maps_the_hidden_layer_at_unit_length_and_the_probabilities():
    model = small_cnn()
    x = np.random.default_rng(1).random((5, 28, 28), dtype=np.float32)
    inputs, p = judge_inputs(model, x, batch=2)
    assert inputs.shape == (5, 4 * 14 * 14 + 8 + 10) and inputs.dtype == np.float32
    conv, hidden, probs = inputs[:, :784], inputs[:, 784:792], inputs[:, 792:]
    outputs = model.activations(x.reshape(-1, 1, 28, 28))
    expected = outputs[3] / np.linalg.norm(outputs[3], axis=1, keepdims=True)
    np.testing.assert_allclose(conv, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(hidden, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(p, model.predict(x.reshape(-1, 1, 28, 28)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, p, rtol=1e-5, atol=1e-6)


def test_no_images_or_no_maps_before_the_dense_layers_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one image"):
        judge_inputs(small_cnn(), np.zeros((0, 28, 28), np.float32))
    mlp = nn.Sequential([nn.Dense(784, 10, seed=0)])
    with pytest.raises(ValueError, match="first dense layer"):
        judge_inputs(mlp, np.zeros((1, 28, 28), np.float32))
