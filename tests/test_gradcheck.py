"""nn.gradcheck: the numerical gradient is right where we know the answer, and the check fails
a backward that is wrong."""

import numpy as np
import pytest

import nn
from nn.gradcheck import check_layer, numerical_gradient, relative_error


def away_from_zero(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_numerical_gradient_of_a_known_function():
    x = np.array([0.5, -1.0, 2.0])
    grad = numerical_gradient(lambda: float(np.sum(x ** 3)), x)  # d/dx x^3 = 3x^2
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [0.5, -1.0, 2.0])  # x is given back unchanged


def test_relative_error_is_scale_free_and_zero_for_equal_arrays():
    a = np.array([1.0, -2.0, 0.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(1e6 * a, 1e6 * a * 1.01) == pytest.approx(relative_error(a, a * 1.01))


def test_gradcheck_catches_a_wrong_backward():
    class WrongReLU(nn.ReLU):
        def backward(self, dout):
            return 0.9 * super().backward(dout)  # a 10% error

    errors = check_layer(WrongReLU(), away_from_zero((3, 4)))
    assert errors["x"] > 1e-2
