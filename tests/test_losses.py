"""nn.losses: softmax cross-entropy is right (against finite differences) and stable."""

import numpy as np
import pytest

import nn
from nn.gradcheck import numerical_gradient, relative_error


def test_softmax_cross_entropy_gradient_matches_numerical_gradient():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(4, 10)), np.array([1, 0, 9, 3])
    _, dlogits = nn.softmax_cross_entropy(logits, y)
    numeric = numerical_gradient(lambda: nn.softmax_cross_entropy(logits, y)[0], logits)
    assert relative_error(dlogits, numeric) < 1e-7


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    loss, dlogits = nn.softmax_cross_entropy(logits, np.array([1, 2]))
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    assert loss == pytest.approx((1e4 + np.log(3)) / 2, rel=1e-6)  # -log p = 1e4 and log 3
    probs = nn.softmax(logits)
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1)


def test_softmax_cross_entropy_of_uniform_logits_is_log_k():
    loss, _ = nn.softmax_cross_entropy(np.zeros((3, 10)), np.array([0, 5, 9]))
    assert loss == pytest.approx(np.log(10))


def test_label_smoothing_gradient_matches_numerical_gradient_and_moves_the_minimum():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(3, 5)), np.array([4, 0, 2])
    _, dlogits = nn.softmax_cross_entropy(logits, y, smoothing=0.1)
    numeric = numerical_gradient(lambda: nn.softmax_cross_entropy(logits, y, 0.1)[0], logits)
    assert relative_error(dlogits, numeric) < 1e-7
    # the best logits now give the label 1 - 0.1 + 0.1/5 = 0.92, the others 0.02 each
    best = np.log(np.array([[0.02, 0.02, 0.02, 0.02, 0.92]]))
    assert np.abs(nn.softmax_cross_entropy(best, np.array([4]), 0.1)[1]).max() < 1e-12
