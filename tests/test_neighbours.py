"""web.neighbours: the nearest training digits in the last hidden layer, an index that is the
same for every model, and a background build that is cached per weights file and says why when
there is no MNIST.

Real MNIST (the mnist_dir fixture) and the committed weights; small samples keep it quick.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nn
from conftest import write_fake_mnist
from web import neighbours as nb
from web.features import first_of_each_digit, last_hidden_layer
from web.neighbours import BackgroundIndex, NeighbourIndex

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "mnist_cnn.npz"


@pytest.fixture(scope="module")
def model():
    return nn.load(WEIGHTS)


@pytest.fixture(scope="module")
def train(mnist_dir):
    return nn.data.load_mnist(mnist_dir, "train")


def test_a_training_digit_is_its_own_nearest_neighbour(model, train):
    images, labels = train
    positions = first_of_each_digit(labels, per_digit=20)
    index = NeighbourIndex.build(model, images, labels, positions)
    hidden = model.layers[-1].in_features
    assert index.features.shape == (200, hidden) and index.images.shape == (200, 28, 28)
    np.testing.assert_allclose(np.linalg.norm(index.features, axis=1), 1, rtol=1e-5)
    position = int(positions[57])
    x = images[position][None, None].astype(np.float32) / 255
    found = index.nearest(last_hidden_layer(model, x)[0][0], k=5)
    assert found[0].position == position and found[0].similarity == pytest.approx(1, abs=1e-5)
    assert found[0].label == labels[position]
    np.testing.assert_array_equal(found[0].image, images[position])
    similarities = [n.similarity for n in found]
    assert similarities == sorted(similarities, reverse=True) and len(found) == 5
    assert sum(n.label == labels[position] for n in found) >= 4  # it resembles its own kind


def test_hidden_features_of_another_size_are_refused(model, train):
    images, labels = train
    index = NeighbourIndex.build(model, images, labels, first_of_each_digit(labels, per_digit=1))
    with pytest.raises(ValueError, match="another model"):
        index.nearest(np.ones(64, np.float32))


def test_background_index_is_built_once_then_read_from_its_cache(model, mnist_dir, tmp_path,
                                                                  monkeypatch):
    first = BackgroundIndex(model, WEIGHTS, mnist_dir, tmp_path, per_digit=10).start().join(60)
    assert first.status() == {"status": "ready", "progress": 1.0, "note": None}
    cached = list(tmp_path.glob("neighbours-mnist_cnn-*-10.npz"))
    assert len(cached) == 1

    def no_build(*args, **kwargs):
        raise AssertionError("the features were computed again despite the cache")

    monkeypatch.setattr(NeighbourIndex, "build", no_build)
    second = BackgroundIndex(model, WEIGHTS, mnist_dir, tmp_path, per_digit=10).start().join(60)
    assert second.status()["status"] == "ready"
    np.testing.assert_array_equal(second.index.positions, first.index.positions)
    np.testing.assert_allclose(second.index.features, first.index.features, atol=2e-3)  # float16


def test_each_weights_file_and_sample_size_has_its_own_cache(model, tmp_path):
    other_weights = tmp_path / "other.npz"
    nn.save(nn.cnn(seed=1), other_weights)
    paths = {BackgroundIndex(model, weights, cache_dir=tmp_path, per_digit=n)._cache_path()
             for weights in (WEIGHTS, other_weights) for n in (5, 10)}
    assert len(paths) == 4 and all(path.parent == tmp_path for path in paths)


def test_a_damaged_cache_is_ignored_and_written_again(model, mnist_dir, tmp_path, caplog):
    damaged = BackgroundIndex(model, WEIGHTS, mnist_dir, tmp_path, per_digit=5)._cache_path()
    damaged.write_bytes(b"not an npz")
    index = BackgroundIndex(model, WEIGHTS, mnist_dir, tmp_path, per_digit=5).start().join(60)
    assert index.status()["status"] == "ready"
    assert "ignoring" in caplog.text
    assert nn.load_state(damaged)["features"].shape == (50, model.layers[-1].in_features)


def test_without_mnist_the_note_says_where_it_looked_and_how_to_get_it(model, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    state = BackgroundIndex(model, WEIGHTS, cache_dir=None).start().join(10).status()
    assert state["status"] == "missing"
    assert "$MNIST_DIR" in state["note"] and "python train.py" in state["note"]


def test_a_broken_mnist_file_is_reported_not_raised(model, tmp_path, caplog):
    write_fake_mnist(tmp_path)  # 6 images: too few for even one of each digit, and no 3, 6, 7, 8
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    index = BackgroundIndex(model, WEIGHTS, tmp_path, cache_dir=None).start().join(10)
    assert index.status()["status"] == "failed" and index.index is None
    assert "could not be prepared" in index.status()["note"]
    assert "nearest training digits are off" in caplog.text


def test_building_reports_its_progress(model, train, monkeypatch):
    images, labels = train
    seen = []
    NeighbourIndex.build(model, images, labels, first_of_each_digit(labels, per_digit=25),
                         progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 250 // nb.BATCH + 1
