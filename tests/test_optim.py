"""nn.optim: the optimisers take the steps their papers describe, learn, and resume exactly."""

import numpy as np
import pytest

import nn


def test_adam_first_steps_match_values_computed_by_hand():
    """lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, param 1.0, gradients 2.0 then -1.0.

    step 1: m = 0.2, v = 0.004, m_hat = 2, v_hat = 4, step = 0.1 * 2/2 = 0.1 -> 0.9
    step 2: m = 0.18 - 0.1 = 0.08, v = 0.003996 + 0.001 = 0.004996,
            m_hat = 0.08/0.19 = 0.42105, v_hat = 0.004996/0.001999 = 2.49925,
            step = 0.1 * 0.42105/1.58090 = 0.026634 -> 0.873366
    """
    params, grads = {"w": np.array([1.0])}, {"w": np.array([2.0])}
    adam = nn.Adam([(params, grads)], lr=0.1)
    adam.step()
    assert params["w"][0] == pytest.approx(0.9, abs=1e-7)
    grads["w"][:] = -1.0
    adam.step()
    m_hat, v_hat = 0.08 / 0.19, 0.004996 / (1 - 0.999 ** 2)
    assert params["w"][0] == pytest.approx(0.9 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), abs=1e-7)
    assert params["w"][0] == pytest.approx(0.873366, abs=1e-6)


def test_sgd_momentum_steps_match_values_computed_by_hand():
    params, grads = {"w": np.array([1.0])}, {"w": np.array([1.0])}
    sgd = nn.SGD([(params, grads)], lr=0.1, momentum=0.9)
    sgd.step()   # v = 1     -> 0.9
    sgd.step()   # v = 1.9   -> 0.71
    assert params["w"][0] == pytest.approx(0.71)


@pytest.mark.parametrize("make", [lambda p: nn.Adam(p, lr=0.05), lambda p: nn.SGD(p, lr=0.05)])
def test_optimisers_fit_a_small_problem(make):
    """A model that cannot learn three separable blobs has a broken piece somewhere."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 4.0], [4.0, -3.0], [-4.0, -3.0]])
    y = rng.integers(0, 3, 300)
    x = (centres[y] + rng.normal(size=(300, 2))).astype(np.float32)
    model = nn.Sequential([nn.Dense(2, 16, seed=1), nn.ReLU(), nn.Dense(16, 3, seed=2)])
    opt = make(model.parameters())
    for _ in range(200):
        loss, dlogits = nn.softmax_cross_entropy(model.forward(x, train=True), y)
        model.backward(dlogits)
        opt.step()
    assert (model.forward(x).argmax(axis=1) == y).mean() > 0.9


def test_adam_state_round_trips():
    params, grads = {"w": np.ones(3)}, {"w": np.full(3, 0.5)}
    a = nn.Adam([(params, grads)])
    a.step()
    b = nn.Adam([({"w": np.ones(3)}, grads)])
    b.load_state_dict(a.state_dict())
    assert b.t == 1
    np.testing.assert_array_equal(b.m[0]["w"], a.m[0]["w"])


def test_sgd_state_round_trips():
    params, grads = {"w": np.ones(3)}, {"w": np.full(3, 0.5)}
    a = nn.SGD([(params, grads)], lr=0.1)
    a.step()
    b = nn.SGD([({"w": np.ones(3)}, grads)], lr=0.1)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.v[0]["w"], a.v[0]["w"])


def test_ema_follows_its_formula_and_swaps_in_place():
    """decay 0.5 with the warm-up: step 1 uses min(0.5, 2/11) = 2/11, step 2 min(0.5, 3/12)."""
    params, grads = {"w": np.array([0.0])}, {"w": np.array([0.0])}
    live = params["w"]
    ema = nn.EMA([(params, grads)], decay=0.5)
    params["w"][:] = 11.0
    ema.update()                     # 2/11 * 0 + 9/11 * 11 = 9
    params["w"][:] = 1.0
    ema.update()                     # 1/4 * 9 + 3/4 * 1 = 3
    assert ema.average[0]["w"][0] == pytest.approx(3.0)
    ema.swap()
    assert params["w"] is live and live[0] == pytest.approx(3.0)  # the same array, shared
    ema.swap()
    assert live[0] == 1.0 and ema.average[0]["w"][0] == pytest.approx(3.0)


def test_ema_of_noisy_steps_sits_nearer_the_floor_than_the_last_step():
    rng = np.random.default_rng(0)
    params, grads = {"w": np.zeros(1000)}, {"w": np.zeros(1000)}
    ema = nn.EMA([(params, grads)], decay=0.99)
    for _ in range(2000):            # weights bouncing around 0 with noise of size 1
        params["w"][:] = rng.normal(size=1000)
        ema.update()
    assert np.abs(ema.average[0]["w"]).mean() < 0.1 < np.abs(params["w"]).mean()


def test_ema_state_round_trips():
    params, grads = {"w": np.ones(3)}, {"w": np.zeros(3)}
    a = nn.EMA([(params, grads)])
    params["w"][:] = 2.0
    a.update()
    b = nn.EMA([({"w": np.ones(3)}, grads)])
    b.load_state_dict(a.state_dict())
    assert b.t == 1
    np.testing.assert_array_equal(b.average[0]["w"], a.average[0]["w"])
