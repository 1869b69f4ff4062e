"""nn.fast.model: the fast CNN is nn.cnn on fast layers, its training step fills the plain
model's gradients, and the whole model's gradients match finite differences in float64."""

import numpy as np
from test_layers import TOL, distinct

import nn
import nn.fast
from nn.gradcheck import check_model


def test_fast_builders_give_the_plain_weights_on_fast_layers():
    for plain, fast in ((nn.cnn(seed=5, dropout=0.5), nn.fast.cnn(seed=5, dropout=0.5)),
                        (nn.mlp(seed=5), nn.fast.mlp(seed=5))):
        assert fast.architecture() == plain.architecture()
        assert all(isinstance(f, type(p)) for f, p in zip(fast.layers, plain.layers))
        for (a, _), (b, _) in zip(fast.parameters(), plain.parameters()):
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])


def test_a_fast_training_step_fills_the_plain_models_gradients():
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 16)
    plain, fast = nn.cnn(seed=1), nn.fast.cnn(seed=1)
    losses = []
    for model in (plain, fast):
        loss, dlogits = nn.softmax_cross_entropy(model.forward(x, train=True), y)
        losses.append(loss)
        dx = model.backward(dlogits)
    assert dx is None  # the fast model skips its first layer's dx; the plain one returns it
    assert losses[1] == np.float32(losses[0]) or abs(losses[1] - losses[0]) < 1e-5
    for (a, ga), (_, gb) in zip(fast.parameters(), plain.parameters()):
        for k in a:
            np.testing.assert_allclose(ga[k], gb[k], rtol=1e-3, atol=1e-5)


def test_fast_model_gradients_match_numerical_gradient():
    model = nn.fast.Sequential([
        nn.fast.Conv2D(1, 2, 3, padding=1, seed=1), nn.fast.ReLU(), nn.fast.MaxPool2D(2),
        nn.fast.Conv2D(2, 8, 3, padding=1, seed=4),  # no ReLU here: a dead input would make
        nn.fast.Conv2D(8, 2, 3, padding=1, seed=5, algorithm="winograd"),  # a weight's gradient
        nn.fast.Flatten(),  # exactly 0, which finite differences only reach to 1e-11

        nn.fast.Dense(2 * 4 * 4, 5, seed=2), nn.fast.ReLU(), nn.fast.Dense(5, 3, seed=3)])
    errors = check_model(model, distinct((2, 1, 8, 8), seed=3), np.array([0, 2]))
    assert max(errors.values()) < TOL, errors
