"""nn.fast.DataParallel gives the gradient of the whole batch, whatever the number of slices."""

import numpy as np
import pytest

import nn
import nn.fast


def batch(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def grads_of(model):
    return [g[k].copy() for _, g in model.parameters() for k in sorted(g)]


@pytest.mark.parametrize("workers, n, slice_size", [
    (2, 16, 32), (2, 16, 3), (3, 10, 32), (2, 7, 2), (4, 2, 32), (1, 5, 2), (1, 5, 32)])
def test_data_parallel_gradients_equal_one_thread_on_the_whole_batch(workers, n, slice_size):
    x, y = batch(n)
    serial, parallel = nn.fast.cnn(seed=3), nn.fast.cnn(seed=3)
    loss, dlogits = nn.softmax_cross_entropy(serial.forward(x, train=True), y)
    serial.backward(dlogits)
    trainer = nn.fast.DataParallel(parallel, workers, slice_size)
    parallel_loss, logits = trainer.forward_backward(x, y)
    assert parallel_loss == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(logits, serial.forward(x), rtol=1e-4, atol=1e-5)
    for a, b in zip(grads_of(parallel), grads_of(serial)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


def test_replicas_share_the_weights_so_one_update_moves_all():
    model = nn.fast.cnn(seed=0)
    trainer = nn.fast.DataParallel(model, 2)
    optimiser = nn.fast.Adam(model.parameters())
    x, y = batch(8)
    trainer.forward_backward(x, y)
    optimiser.step()
    for layer, twin in zip(model.layers, trainer.replicas[1].layers):
        for name, p in layer.params.items():
            assert twin.params[name] is p
    assert all(layer.chunk is None for layer in model.layers)  # the model's own layers untouched


def test_a_plain_model_is_refused_with_what_to_build_instead():
    with pytest.raises(TypeError, match="nn.fast.Sequential.*nn.fast.cnn"):
        nn.fast.DataParallel(nn.cnn(seed=0), 2)


def test_replica_dropout_draws_its_own_masks_and_its_state_continues_them():
    model = nn.fast.cnn(seed=0, dropout=0.5)
    x, y = batch(8)
    a = nn.fast.DataParallel(model, 2)
    b = nn.fast.DataParallel(nn.fast.cnn(seed=0, dropout=0.5), 2)
    b.model.load_state_dict(model.state_dict())
    b.load_state_dict(a.state_dict())
    first = [a.forward_backward(x, y)[0] for _ in range(2)]
    second = [b.forward_backward(x, y)[0] for _ in range(2)]
    assert first == second
    masks = [r.layers[i].cache for r in a.replicas for i, layer in enumerate(r.layers)
             if isinstance(layer, nn.Dropout)]
    assert not np.array_equal(masks[0], masks[2])  # the two replicas' first dropout layers
