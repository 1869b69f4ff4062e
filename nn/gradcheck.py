"""Numerical gradient checking: is a hand-written backward the derivative of its forward?

The idea: for a scalar function L(x), the centred difference
    (L(x + h) - L(x - h)) / 2h
approaches dL/dx with an error of order h^2. We make any layer scalar by picking a fixed
random "upstream gradient" g and taking L(x) = sum(forward(x) * g); then backward(g) must
return dL/dx, and must leave dL/dparam in `grads`.

Run it in float64: in float32 the rounding error of L (about 1e-7 * |L|) divided by 2h swamps
the answer. With float64 and h = 1e-5, a correct layer typically agrees to a relative error
of 1e-8 .. 1e-10; a wrong one is off by 1e-2 or more. Kinks (ReLU at 0, ties in max
pooling) break the estimate when x sits within h of one, so test inputs keep away from them.

    from nn.gradcheck import check_layer
    errors = check_layer(Conv2D(2, 3, 3, padding=1), x)   # {"x": 3e-10, "w": 1e-10, "b": 8e-11}
"""

import numpy as np


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a| + |b|): scale-free, and 0 when both are exactly 0."""
    denom = np.maximum(np.abs(a) + np.abs(b), 1e-12)
    return float(np.max(np.abs(a - b) / denom))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """dL/dx by centred differences, for a function f() -> float that reads x (changed in place)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)   # views: writing flat[i] changes x
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def check_layer(layer, x: np.ndarray, seed: int = 0, h: float = 1e-5,
                forward=None, backward=None) -> dict[str, float]:
    """Compare a layer's backward with numerical gradients; return the relative error for the
    input ("x", unless backward returns None) and for every parameter. Casts the layer's params
    and x to float64 first.

    `forward(x)` and `backward(dout)` override how the layer is called (e.g. to fix a Dropout
    mask); by default they are `layer.forward(x, train=True)` and `layer.backward(dout)`.
    """
    forward = forward or (lambda inp: layer.forward(inp, train=True))
    backward = backward or layer.backward
    for k in layer.params:
        layer.params[k] = layer.params[k].astype(np.float64)
    x = x.astype(np.float64)
    g = np.random.default_rng(seed).normal(size=forward(x).shape)

    def loss():
        return float(np.sum(forward(x) * g))

    forward(x)
    dx = backward(g)
    analytic = {k: v.copy() for k, v in layer.grads.items()}
    numeric = {}
    if dx is not None:
        analytic["x"], numeric["x"] = dx, numerical_gradient(loss, x, h)
    for k, p in layer.params.items():
        numeric[k] = numerical_gradient(loss, p, h)
    return {k: relative_error(analytic[k], numeric[k]) for k in analytic}


def check_model(model, x: np.ndarray, y: np.ndarray, seed: int = 0, h: float = 1e-5):
    """The same check for a whole model under softmax cross-entropy: errors per parameter."""
    from .losses import softmax_cross_entropy

    for params, _ in model.parameters():
        for k in params:
            params[k] = params[k].astype(np.float64)
    x = x.astype(np.float64)

    def loss():
        return softmax_cross_entropy(model.forward(x, train=True), y)[0]

    _, dlogits = softmax_cross_entropy(model.forward(x, train=True), y)
    model.backward(dlogits)
    errors = {}
    for i, layer in enumerate(model.layers):
        for k, p in layer.params.items():
            errors[f"{i}.{k}"] = relative_error(layer.grads[k], numerical_gradient(loss, p, h))
    return errors
