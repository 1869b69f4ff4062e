"""nn.fast.layers: every fast layer computes what its plain twin in nn.layers computes, forward
and backward, by every algorithm a test can ask for; and its own backward is the derivative of
its forward, checked numerically in float64.

Tolerances: float32 sums in another order (tiles, chunks, fused loops) differ from the plain
multiply by a few units in the 6th-7th digit, so twins are held equal to rtol 1e-4; in float64
the gradient check allows 1e-6 relative error (test_layers.py says why).
"""

import numpy as np
import pytest
from test_layers import TOL, away_from_zero, distinct

import nn
import nn.fast
from nn.gradcheck import check_layer


def twins(make_plain, make_fast):
    """A plain layer and its fast twin holding the very same parameter values."""
    plain, fast = make_plain(), make_fast()
    for k in plain.params:
        fast.params[k][...] = plain.params[k]
    return plain, fast


def assert_twins_agree(plain, fast, x, input_grad=True, rtol=1e-4, atol=1e-5):
    """forward and backward of both on x, float32: the same output, grads and dx."""
    out = plain.forward(x, train=True)
    np.testing.assert_allclose(fast.forward(x, train=True), out, rtol=rtol, atol=atol)
    dout = np.random.default_rng(1).normal(size=out.shape).astype(np.float32)
    dx_plain, dx_fast = plain.backward(dout), fast.backward(dout, input_grad=input_grad)
    if input_grad:
        np.testing.assert_allclose(dx_fast, dx_plain, rtol=rtol, atol=atol)
    else:
        assert dx_fast is None
    for k in plain.grads:
        np.testing.assert_allclose(fast.grads[k], plain.grads[k], rtol=rtol, atol=10 * atol)
    np.testing.assert_allclose(fast.forward(x), plain.forward(x), rtol=rtol, atol=atol)


def conv(C, F, K=3, stride=1, padding=1, **fast):
    return twins(lambda: nn.Conv2D(C, F, K, stride, padding, seed=2),
                 lambda: nn.fast.Conv2D(C, F, K, stride, padding, seed=2, **fast))


# (C, F, K, stride, padding, x shape, algorithm, chunk)
CONV_CASES = [
    (2, 3, 3, 2, 1, (3, 2, 7, 6), "im2col", None),
    (3, 4, 5, 1, 2, (2, 3, 9, 8), "im2col", 2),
    (1, 32, 3, 1, 1, (5, 1, 28, 28), "im2col", None),
    (1, 32, 3, 1, 1, (5, 1, 28, 28), "direct", None),
    (1, 4, 3, 1, 0, (3, 1, 7, 9), "direct", 2),
    (1, 4, 3, 1, 2, (2, 1, 5, 5), "direct", None),
    (8, 5, 3, 1, 1, (3, 8, 6, 10), "winograd", None),
    (9, 4, 3, 1, 1, (5, 9, 4, 2), "winograd", 2),
    (32, 64, 3, 1, 1, (32, 32, 14, 14), "winograd", 4),
    (32, 64, 3, 1, 1, (8, 32, 14, 14), "im2col", 4),
    (2, 3, 3, 1, 1, (2, 2, 4, 6), "winograd", None),  # fits, though "auto" would not pick it
]


@pytest.mark.parametrize("C, F, K, stride, padding, shape, algorithm, chunk", CONV_CASES)
@pytest.mark.parametrize("input_grad", [True, False])
def test_fast_conv2d_equals_the_plain_one(C, F, K, stride, padding, shape, algorithm, chunk,
                                          input_grad):
    plain, fast = conv(C, F, K, stride, padding, algorithm=algorithm, chunk=chunk)
    fast.params["b"][:] = plain.params["b"][:] = np.linspace(-1, 1, F)
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    assert fast.algorithm_for(shape) == algorithm
    assert_twins_agree(plain, fast, x, input_grad, atol=1e-4)


@pytest.mark.parametrize("shape, expected", [
    ((2, 1, 28, 28), "direct"), ((2, 32, 14, 14), "winograd"), ((2, 4, 14, 14), "im2col"),
    ((2, 32, 7, 7), "im2col")])
def test_auto_picks_the_algorithm_by_shape(shape, expected):
    assert nn.fast.Conv2D(shape[1], 8, 3, padding=1).algorithm_for(shape) == expected


@pytest.mark.parametrize("algorithm, shape", [("direct", (1, 2, 6, 6)), ("winograd", (1, 8, 5, 6))])
def test_an_algorithm_that_does_not_fit_the_input_is_refused(algorithm, shape):
    layer = nn.fast.Conv2D(shape[1], 4, 3, padding=1, algorithm=algorithm)
    with pytest.raises(ValueError, match=f"algorithm='{algorithm}'.*cannot take"):
        layer.forward(np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match="algorithm must be one of"):
        nn.fast.Conv2D(1, 4, algorithm="fft")


@pytest.mark.parametrize("make_plain, make_fast, shape, inputs", [
    (lambda: nn.Dense(30, 7, seed=1), lambda: nn.fast.Dense(30, 7, seed=1), (9, 30),
     away_from_zero),
    (lambda: nn.MaxPool2D(2), lambda: nn.fast.MaxPool2D(2), (3, 4, 8, 6), distinct),
    (lambda: nn.MaxPool2D(2), lambda: nn.fast.MaxPool2D(2), (2, 3, 7, 7), distinct),
    (lambda: nn.MaxPool2D(3, 2), lambda: nn.fast.MaxPool2D(3, 2), (2, 2, 9, 7), distinct),
    (nn.ReLU, nn.fast.ReLU, (5, 3, 4, 4), away_from_zero),
    (nn.Flatten, nn.fast.Flatten, (2, 3, 4, 5), away_from_zero),
])
def test_fast_layers_equal_their_plain_twins(make_plain, make_fast, shape, inputs):
    plain, fast = twins(make_plain, make_fast)
    assert_twins_agree(plain, fast, inputs(shape).astype(np.float32))


def test_fast_dropout_draws_the_plain_masks():
    plain, fast = nn.Dropout(0.3, seed=4), nn.fast.Dropout(0.3, seed=4)
    assert_twins_agree(plain, fast, np.ones((6, 50), np.float32))


def fast_conv(C, F, shape_padding=1, **kw):
    return lambda: nn.fast.Conv2D(C, F, 3, padding=shape_padding, seed=1, **kw)


FAST_LAYERS = [
    pytest.param(lambda: nn.fast.Dense(5, 4, seed=1), (3, 5), True, away_from_zero, id="Dense"),
    pytest.param(lambda: nn.fast.Conv2D(3, 2, 3, stride=2, padding=1, seed=1), (2, 3, 7, 6),
                 True, away_from_zero, id="Conv2D-im2col-stride2"),
    pytest.param(fast_conv(2, 2, algorithm="im2col", chunk=2), (5, 2, 4, 3), True,
                 away_from_zero, id="Conv2D-im2col-in-chunks"),
    pytest.param(fast_conv(8, 3, algorithm="winograd"), (2, 8, 4, 6), True, away_from_zero,
                 id="Conv2D-winograd"),
    pytest.param(fast_conv(9, 2, algorithm="winograd", chunk=2), (3, 9, 2, 4), True,
                 away_from_zero, id="Conv2D-winograd-in-chunks"),
    pytest.param(fast_conv(1, 3, algorithm="direct"), (2, 1, 5, 4), False, away_from_zero,
                 id="Conv2D-direct-no-dx"),
    pytest.param(fast_conv(1, 2, 2, algorithm="direct"), (3, 1, 3, 3), False, away_from_zero,
                 id="Conv2D-direct-pad2-no-dx"),
    pytest.param(fast_conv(1, 2, algorithm="direct"), (2, 1, 4, 3), True, away_from_zero,
                 id="Conv2D-direct-with-dx"),
    pytest.param(lambda: nn.fast.MaxPool2D(2), (2, 3, 4, 6), True, distinct, id="MaxPool2D"),
    pytest.param(lambda: nn.fast.MaxPool2D(3, stride=2), (1, 2, 7, 7), True, distinct,
                 id="MaxPool2D-overlapping"),
    pytest.param(nn.fast.ReLU, (4, 6), True, away_from_zero, id="ReLU"),
    pytest.param(nn.fast.Flatten, (2, 3, 2, 2), True, away_from_zero, id="Flatten"),
]


@pytest.mark.parametrize("make, shape, input_grad, inputs", FAST_LAYERS)
def test_fast_layer_backward_matches_numerical_gradient(make, shape, input_grad, inputs):
    layer = make()
    errors = check_layer(layer, inputs(shape),
                         backward=lambda dout: layer.backward(dout, input_grad=input_grad))
    assert ("x" in errors) == input_grad
    assert max(errors.values()) < TOL, errors


def test_a_replica_shares_the_parameters_and_keeps_its_own_cache_and_grads():
    layer = nn.fast.Conv2D(2, 3, 3, padding=1)
    twin = layer.replica(chunk=2)
    assert twin.params["w"] is layer.params["w"] and twin.chunk == 2 and layer.chunk is None
    x = np.ones((3, 2, 4, 4), np.float32)
    twin.forward(x, train=True)
    twin.backward(np.ones((3, 3, 4, 4), np.float32))
    assert layer.cache is None and layer.grads == {}
