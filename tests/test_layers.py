"""nn.layers: every layer's backward is the derivative of its forward, checked numerically in
float64, and each computes what its docstring says.

Tolerance: with h = 1e-5 in float64 the centred difference is accurate to about 1e-9 relative
for smooth functions; we allow 1e-6, a thousand times that, and a wrong backward misses it by
orders of magnitude (test_gradcheck.py shows it). Inputs stay away from the
kinks of ReLU and max pooling, where a finite difference straddles two linear pieces.
"""

import numpy as np
import pytest

import nn
from nn.gradcheck import check_layer, check_model

TOL = 1e-6


def away_from_zero(shape, seed=0):
    """Random values with |x| >= 0.1: no ReLU kink within h = 1e-5 of any of them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x


def distinct(shape, seed=0):
    """A shuffled ramp: all values at least 1e-2 apart, so a max pool has no near-ties."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(np.linspace(-1, 1, n)).reshape(shape)


LAYERS = [
    pytest.param(lambda: nn.Dense(5, 4, seed=1), (3, 5), away_from_zero, id="Dense"),
    pytest.param(lambda: nn.Conv2D(2, 3, 3, padding=1, seed=1), (2, 2, 5, 5), away_from_zero,
                 id="Conv2D-pad1"),
    pytest.param(lambda: nn.Conv2D(3, 2, 3, stride=2, padding=1, seed=1), (2, 3, 7, 6),
                 away_from_zero, id="Conv2D-stride2"),
    pytest.param(lambda: nn.Conv2D(1, 2, 2, seed=1), (1, 1, 4, 5), away_from_zero,
                 id="Conv2D-k2-nopad"),
    pytest.param(lambda: nn.Conv2D(1, 2, 3, padding=2, seed=1), (3, 1, 3, 3), away_from_zero,
                 id="Conv2D-one-channel-pad2"),
    pytest.param(lambda: nn.MaxPool2D(2), (2, 3, 4, 6), distinct, id="MaxPool2D"),
    pytest.param(lambda: nn.MaxPool2D(3, stride=2), (1, 2, 7, 7), distinct,
                 id="MaxPool2D-overlapping"),
    pytest.param(nn.ReLU, (4, 6), away_from_zero, id="ReLU"),
    pytest.param(nn.Flatten, (2, 3, 2, 2), away_from_zero, id="Flatten"),
]


@pytest.mark.parametrize("make, shape, inputs", LAYERS)
def test_layer_backward_matches_numerical_gradient(make, shape, inputs):
    errors = check_layer(make(), inputs(shape))
    assert max(errors.values()) < TOL, errors


def test_dropout_backward_matches_numerical_gradient_for_a_fixed_mask():
    layer = nn.Dropout(0.4)

    def forward(x):
        layer.rng = np.random.default_rng(7)  # the same mask on every call
        return layer.forward(x, train=True)

    errors = check_layer(layer, away_from_zero((4, 10)), forward=forward)
    assert errors["x"] < TOL


def test_dropout_is_identity_at_inference_and_keeps_the_mean_in_training():
    layer = nn.Dropout(0.5, seed=0)
    x = np.ones((200, 500), dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)
    out = layer.forward(x, train=True)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert out.mean() == pytest.approx(1.0, abs=0.01)


def test_whole_model_gradients_match_numerical_gradient():
    model = nn.Sequential([
        nn.Conv2D(1, 2, 3, padding=1, seed=1), nn.ReLU(), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dense(2 * 3 * 3, 5, seed=2), nn.ReLU(), nn.Dense(5, 3, seed=3),
    ])
    x = distinct((2, 1, 6, 6), seed=3)
    errors = check_model(model, x, np.array([0, 2]))
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("make, x_shape, out_shape", [
    (lambda: nn.Conv2D(1, 32, 3, padding=1), (2, 1, 28, 28), (2, 32, 28, 28)),
    (lambda: nn.Conv2D(3, 4, 3, stride=2, padding=1), (1, 3, 9, 8), (1, 4, 5, 4)),
    (lambda: nn.MaxPool2D(2), (2, 3, 7, 7), (2, 3, 3, 3)),
    (lambda: nn.Dense(6, 2), (5, 6), (5, 2)),
])
def test_layers_produce_documented_shapes(make, x_shape, out_shape):
    x = np.zeros(x_shape, dtype=np.float32)
    out = make().forward(x)
    assert out.shape == out_shape and out.dtype == np.float32


def test_conv2d_matches_a_direct_convolution():
    rng = np.random.default_rng(0)
    layer = nn.Conv2D(2, 3, 3, stride=2, padding=1, seed=0)
    x = rng.normal(size=(2, 2, 6, 5)).astype(np.float32)
    w, b = layer.params["w"], layer.params["b"]
    b[:] = rng.normal(size=3)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = layer.forward(x)
    for n, f, i, j in np.ndindex(out.shape):
        patch = xp[n, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
        assert out[n, f, i, j] == pytest.approx(np.sum(patch * w[f]) + b[f], abs=1e-5)


def test_initialisation_is_he_scaled_and_seeded():
    a, b = nn.Dense(1000, 300, seed=5), nn.Dense(1000, 300, seed=5)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])
    assert a.params["w"].std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)


def test_dropout_state_dict_continues_the_same_masks():
    a, b = nn.Dropout(0.5, seed=1), nn.Dropout(0.5, seed=2)
    x = np.ones((4, 50), dtype=np.float32)
    a.forward(x, train=True)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.forward(x, train=True), b.forward(x, train=True))
