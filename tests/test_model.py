"""A model file round-trips exactly, a file that is not one is refused with a clear reason, and a
training state (model, optimiser, generators) saved with save_state comes back whole."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.gradcheck import numerical_gradient, relative_error

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "mnist_cnn.npz"


@pytest.fixture
def model():
    return nn.cnn(seed=3, dropout=0.25)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)


def test_save_load_round_trips_exactly(tmp_path, model, images):
    path = tmp_path / "m.npz"
    nn.save(model, path, meta={"test_accuracy": 0.99})
    loaded = nn.load(path, fast=False)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.architecture() == model.architecture()
    assert loaded.meta["test_accuracy"] == 0.99
    for (p1, _), (p2, _) in zip(model.parameters(), loaded.parameters()):
        for k in p1:
            np.testing.assert_array_equal(p1[k], p2[k])
    np.testing.assert_array_equal(loaded.predict(images), model.predict(images))


def test_load_runs_on_the_fast_layers_unless_asked_for_the_plain_ones(tmp_path, model):
    nn.save(model, tmp_path / "m.npz")
    fast, plain = nn.load(tmp_path / "m.npz"), nn.load(tmp_path / "m.npz", fast=False)
    for f, p in zip(fast.layers, plain.layers):
        assert type(f).__module__ == "nn.fast.layers" and type(p).__module__ == "nn.layers"
        assert isinstance(f, type(p))  # each fast layer is a subclass of its plain twin
    assert fast.architecture() == plain.architecture()


def test_the_committed_weights_answer_the_same_on_plain_and_fast_layers(mnist_dir):
    """nn.load(path, fast=False) reads the same file into plain NumPy layers: the same
    probabilities as nn.fast's kernels, up to float32 rounding (summed in another order)."""
    fast, plain = nn.load(WEIGHTS), nn.load(WEIGHTS, fast=False)
    images, _ = nn.data.load_mnist(mnist_dir, "test")
    x = images[:200, None].astype(np.float32) / 255
    p_fast, p_plain = fast.predict(x), plain.predict(x)
    np.testing.assert_allclose(p_fast, p_plain, rtol=1e-4, atol=1e-6)
    assert (p_fast.argmax(1) == p_plain.argmax(1)).all()
    np.testing.assert_allclose(fast.forward(x[:20]), plain.forward(x[:20]), rtol=1e-4, atol=1e-4)


def test_predict_returns_probabilities(model, images):
    probs = model.predict(images)
    assert probs.shape == (5, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_activations_are_every_layers_output_ending_in_the_logits(model, images):
    outputs = model.activations(images)
    assert len(outputs) == len(model.layers)
    assert outputs[0].shape == (5, 32, 28, 28)  # the first convolution's feature maps
    np.testing.assert_allclose(nn.softmax(outputs[-1]), model.predict(images), rtol=1e-5)


def small_cnn_float64(seed: int = 0) -> nn.Sequential:
    """Every kind of layer, Dropout included, in float64 for a numerical gradient check."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential([
        nn.Conv2D(1, 3, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
        nn.Dropout(0.5, seed=1), nn.Dense(3 * 3 * 3, 4, seed=rng), nn.ReLU(),
        nn.Dropout(0.5, seed=2), nn.Dense(4, 3, seed=rng)])
    for params, _ in model.parameters():
        for k in params:
            params[k] = params[k].astype(np.float64)
    return model


def test_input_gradient_matches_the_numerical_gradient_of_inference():
    model = small_cnn_float64()
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, 1, 6, 6))
    g = np.random.default_rng(2).normal(size=(2, 3))  # dL/dlogits: L = sum(logits * g)
    numeric = numerical_gradient(lambda: float(np.sum(model.forward(x, train=False) * g)), x)
    dx = model.input_gradient(x, g)
    assert dx.shape == x.shape
    assert relative_error(dx, numeric) < 1e-6  # Dropout left out: inference, not a random mask
    np.testing.assert_array_equal(model.input_gradient(x, g), dx)  # and so, repeatable


def test_input_gradient_of_a_class_logit_is_a_saliency_map(model, images):
    one_hot = np.zeros((5, 10), np.float32)
    one_hot[:, 3] = 1.0  # how each pixel moves the logit of "3"
    saliency = model.input_gradient(images, one_hot)
    assert saliency.shape == images.shape and saliency.dtype == np.float32
    h = 1e-2  # float32: a step large enough to rise above rounding, small enough to stay linear
    i, r, c = 1, 14, 14
    bumped = images.copy()
    bumped[i, 0, r, c] += h
    change = model.forward(bumped)[i, 3] - model.forward(images)[i, 3]
    assert change / h == pytest.approx(saliency[i, 0, r, c], rel=0.05, abs=1e-3)


def test_file_holds_no_pickles(tmp_path, model):
    path = tmp_path / "m.npz"
    nn.save(model, path)
    with np.load(path, allow_pickle=False) as archive:
        assert json.loads(str(archive["architecture"]))[0]["type"] == "Conv2D"


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz.*saved by nn.save"):
        nn.load(tmp_path / "nothing.npz")


def _rewrite(src, dst, change):
    """Copy a saved model, letting `change(arrays)` edit its arrays."""
    with np.load(src, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    change(arrays)
    np.savez(dst, **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update({"3.w": np.zeros((64, 32, 5, 5), np.float32)}),
     r"'3\.w' has shape \(64, 32, 5, 5\) but the architecture needs \(64, 32, 3, 3\)"),
    (lambda a: a.pop("8.b"), r"'8\.b' is missing"),
    (lambda a: a.pop("architecture"), "not a model saved by nn.save"),
    (lambda a: a.update({"architecture": np.array("[{")}), "not valid JSON"),
    (lambda a: a.update({"architecture": np.array('[{"type": "Evil"}]')}), "unknown type 'Evil'"),
    (lambda a: a.update({"0.b": np.full(32, np.nan, np.float32)}), "'0.b' is not finite"),
])
def test_bad_model_files_are_refused_naming_what_is_wrong(tmp_path, model, change, message):
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    nn.save(model, good)
    _rewrite(good, bad, change)
    with pytest.raises(ValueError, match=message):
        nn.load(bad)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"PK\x03\x04truncated"])
def test_files_that_are_not_archives_are_refused(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a model file saved by nn.save"):
        nn.load(path)


def test_a_truncated_model_file_is_refused(tmp_path, model):
    path = tmp_path / "m.npz"
    nn.save(model, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a model file"):
        nn.load(path)


def test_a_pickled_array_is_never_loaded(tmp_path, model):
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    nn.save(model, good)
    with zipfile.ZipFile(good) as z:
        names = z.namelist()
    assert "0.w.npy" in names
    _rewrite(good, bad, lambda a: a.update({"evil": np.array([object()], dtype=object)}))
    with pytest.raises(ValueError):
        nn.load(bad)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, model):
    path = tmp_path / "m.npz"
    nn.save(model, path)
    nn.save(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_training_state_round_trips_and_continues_exactly(tmp_path, model, images):
    adam = nn.Adam(model.parameters())
    y = np.arange(5)

    def step():
        _, dlogits = nn.softmax_cross_entropy(model.forward(images, train=True), y)
        model.backward(dlogits)
        adam.step()

    step()
    nn.save_state(tmp_path / "s.npz", {"model": model.state_dict(),
                                       "optimiser": adam.state_dict(), "epoch": 1})
    step()  # the original run goes on ...
    state = nn.load_state(tmp_path / "s.npz")
    again = nn.cnn(seed=99, dropout=0.25)  # ... and a fresh model takes up from the file
    again.load_state_dict(state["model"])
    adam2 = nn.Adam(again.parameters())
    adam2.load_state_dict(state["optimiser"])
    _, dlogits = nn.softmax_cross_entropy(again.forward(images, train=True), y)
    again.backward(dlogits)
    adam2.step()
    assert state["epoch"] == 1 and adam2.t == adam.t == 2
    for (p1, _), (p2, _) in zip(model.parameters(), again.parameters()):
        for k in p1:
            np.testing.assert_array_equal(p1[k], p2[k])


def test_a_state_of_another_architecture_is_refused(model):
    with pytest.raises(ValueError, match="another architecture"):
        nn.mlp().load_state_dict(model.state_dict())


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 half a file"])
def test_a_damaged_state_file_is_refused(tmp_path, content):
    path = tmp_path / "s.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a state file saved by nn.save_state"):
        nn.load_state(path)


def test_a_model_file_is_not_a_state_file(tmp_path, model):
    nn.save(model, tmp_path / "m.npz")
    with pytest.raises(ValueError, match="not a state file"):
        nn.load_state(tmp_path / "m.npz")
