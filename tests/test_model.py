"""A model file round-trips exactly, and a file that is not one is refused with a clear reason."""

import json
import zipfile

import numpy as np
import pytest

import nn


@pytest.fixture
def model():
    return nn.cnn(seed=3, dropout=0.25)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)


def test_save_load_round_trips_exactly(tmp_path, model, images):
    path = tmp_path / "m.npz"
    nn.save(model, path, meta={"test_accuracy": 0.99})
    loaded = nn.load(path)
    assert loaded.architecture() == model.architecture()
    assert loaded.meta["test_accuracy"] == 0.99
    for (p1, _), (p2, _) in zip(model.parameters(), loaded.parameters()):
        for k in p1:
            np.testing.assert_array_equal(p1[k], p2[k])
    np.testing.assert_array_equal(loaded.predict(images), model.predict(images))


def test_predict_returns_probabilities(model, images):
    probs = model.predict(images)
    assert probs.shape == (5, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_file_holds_no_pickles(tmp_path, model):
    path = tmp_path / "m.npz"
    nn.save(model, path)
    with np.load(path, allow_pickle=False) as archive:
        assert json.loads(str(archive["architecture"]))[0]["type"] == "Conv2D"


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="train.py"):
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
