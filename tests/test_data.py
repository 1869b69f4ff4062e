"""nn.data: IDX files in, MNIST out, every damaged file named with what to do, and batches.

Small IDX files are written to tmp_path (conftest.write_fake_mnist); the real MNIST test reads
$MNIST_DIR (the mnist_dir fixture).
"""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from conftest import idx_bytes, write_fake_mnist
from nn.data import IDXError, load_mnist, minibatches, read_idx, write_idx

# ---------------------------------------------------------------------------------------------
# IDX reading and writing


@pytest.mark.parametrize("shape", [(7,), (3, 28, 28), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["array.idx", "array.idx.gz"])
def test_write_then_read_gives_back_the_same_array(tmp_path, shape, name):
    array = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    assert sorted(os.listdir(tmp_path)) == [name]  # no temp file left beside it


def test_write_idx_gzips_by_name_and_is_deterministic(tmp_path):
    array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    write_idx(tmp_path / "c", array)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert (tmp_path / "c").read_bytes() == idx_bytes(array)


def test_reader_detects_gzip_by_content_not_by_name(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "gzipped-but-named-raw").write_bytes(gzip.compress(idx_bytes(array)))
    (tmp_path / "raw-but-named.gz").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "gzipped-but-named-raw"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-but-named.gz"), array)


def test_write_idx_refuses_non_uint8_with_advice(tmp_path):
    with pytest.raises(TypeError, match=r"uint8.*float32.*astype"):
        write_idx(tmp_path / "x.gz", np.zeros((2, 2), dtype=np.float32))
    assert not list(tmp_path.iterdir())


GOOD = idx_bytes(np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256)
GOOD_GZ = gzip.compress(GOOD)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD_GZ[: len(GOOD_GZ) // 2], r"is truncated \(the gzip stream ends early\): delete it"),
        (b"", r"is empty \(0 bytes\)"),
        (b"\x00\x00", r"too short for an IDX header"),
        (b"PK\x03\x04" + GOOD[4:], r"not an IDX file \(magic 50 4b 03 04.*00 00 08 03"),
        (b"\x00\x00\x0d\x01" + GOOD[4:], r"type 0x0d.*unsigned bytes"),
        (GOOD[:-10], r"payload of 2342 bytes but its header promises 2352 \(3x28x28\)"),
        (GOOD + b"extra", r"5 bytes more than its header promises"),
        (GOOD[:10], r"ends inside its header"),
    ],
    ids=["truncated-gzip", "empty", "tiny", "wrong-magic", "not-uint8", "short-payload",
         "long-payload", "short-header"],
)
def test_bad_idx_files_raise_idx_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_damaged_gzip_is_reported(tmp_path):
    damaged = bytearray(gzip.compress(GOOD))
    damaged[-6] ^= 0xFF  # inside the CRC / length trailer
    path = tmp_path / "x.gz"
    path.write_bytes(bytes(damaged))
    with pytest.raises(IDXError, match=r"x\.gz is a damaged gzip file"):
        read_idx(path)


# ---------------------------------------------------------------------------------------------
# load_mnist on small fake files


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize(("split", "prefix"), [("train", "train"), ("test", "t10k")])
def test_load_mnist_returns_images_and_labels_of_the_split(tmp_path, gz, split, prefix):
    arrays = write_fake_mnist(tmp_path, gz)
    images, labels = load_mnist(tmp_path, split)
    np.testing.assert_array_equal(images, arrays[f"{prefix}-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, arrays[f"{prefix}-labels-idx1-ubyte"])
    assert images.dtype == labels.dtype == np.uint8


def test_load_mnist_rejects_an_unknown_split(tmp_path):
    with pytest.raises(ValueError, match=r"unknown split 'validation'.*'train' or 'test'"):
        load_mnist(tmp_path, "validation")


def test_load_mnist_names_a_missing_file(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte.*pass the folder"):
        load_mnist(tmp_path, "test")


@pytest.mark.parametrize(
    ("file", "array", "message"),
    [
        ("train-images-idx3-ubyte.gz", np.zeros(6, np.uint8), r"labels file given as images"),
        ("train-labels-idx1-ubyte.gz", np.zeros((6, 28, 28), np.uint8), r"not labels \(N,\)"),
        ("train-images-idx3-ubyte.gz", np.zeros((6, 32, 32), np.uint8), r"not MNIST images"),
        ("train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8), r"has 6 images but .* 5 labels"),
        ("train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 10, 4, 5], np.uint8),
         r"label 10 at index 3; MNIST labels are 0..9"),
    ],
    ids=["labels-as-images", "images-as-labels", "wrong-image-size", "count-mismatch",
         "label-out-of-range"],
)
def test_load_mnist_explains_files_that_are_not_mnist(tmp_path, file, array, message):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / file, array)
    with pytest.raises(IDXError, match=message) as info:
        load_mnist(tmp_path, "train")
    assert file in str(info.value)


# ---------------------------------------------------------------------------------------------
# minibatches


def test_minibatches_cover_every_index_once_and_repeat_per_seed():
    batches = list(minibatches(10, 4, np.random.default_rng(3)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = list(minibatches(10, 4, np.random.default_rng(3)))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    in_order = np.concatenate(list(minibatches(10, 3, None, shuffle=False)))
    np.testing.assert_array_equal(in_order, np.arange(10))


def test_minibatches_reject_a_zero_batch_size():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        next(minibatches(10, 0, np.random.default_rng(0)))


# ---------------------------------------------------------------------------------------------
# the real MNIST files


TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.slow
@pytest.mark.parametrize(("split", "counts"), [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_real_mnist_loads_with_the_published_label_counts(mnist_dir, split, counts):
    images, labels = load_mnist(mnist_dir, split)
    assert images.shape == (sum(counts), 28, 28) and labels.shape == (sum(counts),)
    assert np.bincount(labels, minlength=10).tolist() == counts
    assert images.min() == 0 and images.max() == 255
