"""nn.fast.optim: the fused Adam kernel equals its NumPy twin, and fast Adam takes plain Adam's
steps."""

import numpy as np
import pytest

import nn
import nn.fast
from nn.fast.optim import adam_update, adam_update_reference


@pytest.mark.parametrize("dtype, decay", [(np.float32, 0.0), (np.float32, 1e-4), (np.float64, 0.0)])
def test_adam_update_matches_reference(dtype, decay):
    rng = np.random.default_rng(9)
    p, g, m = (rng.normal(size=(37, 5)).astype(dtype) for _ in range(3))
    v = rng.random((37, 5)).astype(dtype)
    scalars = [dtype(s) for s in (0.9, 0.999, 1e-3, 1e-8, decay)]
    fast, slow = [a.copy() for a in (p, m, v)], [a.copy() for a in (p, m, v)]
    adam_update(fast[0], g, fast[1], fast[2], *scalars)
    adam_update_reference(slow[0], g, slow[1], slow[2], *scalars)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_fast_adam_takes_the_steps_of_plain_adam(weight_decay):
    """The same 20 steps from the same gradients: the paper's algorithm written out (nn.Adam)
    and its efficient version in one compiled pass (nn.fast.Adam), equal to float32 rounding."""
    rng = np.random.default_rng(4)
    start = {"w": rng.normal(size=(7, 3)).astype(np.float32),
             "b": rng.normal(size=3).astype(np.float32)}
    runs = []
    for Adam in (nn.Adam, nn.fast.Adam):
        params = {k: p.copy() for k, p in start.items()}
        grads = {k: np.zeros_like(p) for k, p in params.items()}
        adam = Adam([(params, grads)], lr=0.01, weight_decay=weight_decay)
        steps = np.random.default_rng(5)
        for _ in range(20):
            for k in grads:
                grads[k][...] = steps.normal(size=grads[k].shape)
            adam.step()
        runs.append(params)
    for k in start:
        np.testing.assert_allclose(runs[1][k], runs[0][k], rtol=1e-5, atol=1e-6)
