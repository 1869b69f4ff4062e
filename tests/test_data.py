"""nn.data: IDX files in, MNIST out, and downloads that never leave a bad file behind.

Small IDX files are written to tmp_path; the download tests run a real HTTP server on 127.0.0.1
with one good mirror and several bad ones. The real MNIST test reads $MNIST_DIR (CI sets it to
../shared/mnist relative to the repository), falling back to the repository's ../shared/mnist.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from nn import data
from nn.data import DownloadError, IDXError, iterate_minibatches, load_mnist, read_idx, write_idx

REPO = Path(__file__).resolve().parents[1]


def idx_bytes(array: np.ndarray) -> bytes:
    """Uncompressed IDX bytes, built by hand (independently of write_idx) to test the reader."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


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


def fake_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 9, 4, 5], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 3, 3, 8], dtype=np.uint8),
    }


def write_fake_mnist(folder: Path, gz: bool = True) -> dict[str, np.ndarray]:
    arrays = fake_arrays()
    for name, array in arrays.items():
        write_idx(folder / (name + ".gz" if gz else name), array)
    return arrays


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
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte.*MNIST_DIR"):
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


def test_resolve_data_dir_prefers_argument_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", "/from/env")
    assert data.resolve_data_dir("/from/arg") == Path("/from/arg")
    assert data.resolve_data_dir(None) == Path("/from/env")
    monkeypatch.delenv("MNIST_DIR")
    assert data.resolve_data_dir(None) == Path("data/mnist")


def test_verify_mnist_reports_a_corrupt_local_copy(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path)
    monkeypatch.setattr(data, "SHA256", {n: sha256(idx_bytes(a)) for n, a in arrays.items()})
    data.verify_mnist(tmp_path)  # the good copy passes
    corrupt = arrays["t10k-images-idx3-ubyte"].copy()
    corrupt[0, 0, 0] ^= 1  # one bit
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", corrupt)
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte\.gz is not the original MNIST"):
        data.verify_mnist(tmp_path)


# ---------------------------------------------------------------------------------------------
# downloads from a local HTTP server


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves self.server.routes: path -> (body, announced Content-Length)."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, announced = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def mirrors(monkeypatch):
    """A local server with mirrors good/, corrupt/, truncated/, cut/, html/ and missing/ (404)."""
    arrays = fake_arrays()
    monkeypatch.setattr(data, "SHA256", {n: sha256(idx_bytes(a)) for n, a in arrays.items()})
    routes = {}
    for name, array in arrays.items():
        good = gzip.compress(idx_bytes(array))
        wrong = gzip.compress(idx_bytes(array + 1))
        routes[f"/good/{name}.gz"] = (good, len(good))
        routes[f"/corrupt/{name}.gz"] = (wrong, len(wrong))
        routes[f"/truncated/{name}.gz"] = (good[: len(good) // 2], len(good) // 2)
        routes[f"/cut/{name}.gz"] = (good[: len(good) // 2], len(good))  # connection drops
        portal = b"<html>Sign in to the Wi-Fi</html>"
        routes[f"/html/{name}.gz"] = (portal, len(portal))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    server.routes, server.requests = routes, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield server, {kind: f"{base}/{kind}/" for kind in
                   ("good", "corrupt", "truncated", "cut", "html", "missing")}, arrays
    server.shutdown()
    server.server_close()


def test_download_uses_the_good_mirror_after_the_bad_ones_fail(tmp_path, mirrors):
    server, url, arrays = mirrors
    order = (url["missing"], url["corrupt"], url["truncated"], url["cut"], url["html"], url["good"])
    lines = []
    target = tmp_path / "mnist"
    assert data.ensure_mnist(target, mirrors=order, log=lines.append, timeout=5) == target
    assert sorted(os.listdir(target)) == sorted(f"{n}.gz" for n in arrays)  # nothing else
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = load_mnist(target, split)
        np.testing.assert_array_equal(images, arrays[f"{prefix}-images-idx3-ubyte"])
        np.testing.assert_array_equal(labels, arrays[f"{prefix}-labels-idx1-ubyte"])
    first = [line for line in lines if "train-images" in line]
    kinds = ("missing", "corrupt", "truncated", "cut", "html", "good")
    assert all(url[k] in line for k, line in zip(kinds, first, strict=True))
    assert "HTTP 404" in first[0] and "hash mismatch" in first[1]
    assert "truncated (the gzip stream ends early)" in first[2]
    assert "truncated (" in first[3] and "bytes arrived" in first[3]
    assert "not a gzip file" in first[4] and "SHA-256 verified" in first[5]
    assert len(server.requests) == 4 * 6


def test_download_failing_on_every_mirror_names_each_and_leaves_nothing(tmp_path, mirrors):
    _, url, _ = mirrors
    bad = (url["missing"], url["corrupt"], url["truncated"], url["cut"], url["html"])
    target = tmp_path / "mnist"
    with pytest.raises(DownloadError) as info:
        data.ensure_mnist(target, mirrors=bad, log=lambda line: None, timeout=5)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    for mirror in bad:
        assert mirror in message
    for reason in ("HTTP 404", "hash mismatch", "truncated", "not a gzip file"):
        assert reason in message
    assert "by hand" in message and "MNIST_DIR" in message
    assert list(target.iterdir()) == []  # no partial file, no temp file


def test_download_fetches_only_missing_files(tmp_path, mirrors):
    server, url, arrays = mirrors
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        write_idx(tmp_path / name, arrays[name])  # raw files count as present
    data.ensure_mnist(tmp_path, mirrors=(url["good"],), log=lambda line: None, timeout=5)
    assert sorted(server.requests) == ["/good/t10k-images-idx3-ubyte.gz",
                                       "/good/t10k-labels-idx1-ubyte.gz"]


def test_ensure_mnist_stops_on_a_corrupt_local_copy_without_touching_it(tmp_path, mirrors):
    server, url, arrays = mirrors
    write_fake_mnist(tmp_path)
    corrupt = gzip.compress(idx_bytes(arrays["train-labels-idx1-ubyte"][::-1]))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(corrupt)
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte\.gz is not the original MNIST"):
        data.ensure_mnist(tmp_path, mirrors=(url["good"],), log=lambda line: None)
    assert (tmp_path / "train-labels-idx1-ubyte.gz").read_bytes() == corrupt
    assert server.requests == []


def test_ensure_mnist_without_download_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*downloading is off"):
        data.ensure_mnist(tmp_path, download=False)


# ---------------------------------------------------------------------------------------------
# minibatches


def test_minibatches_cover_every_index_once_and_repeat_per_seed():
    batches = list(iterate_minibatches(10, 4, np.random.default_rng(3)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = list(iterate_minibatches(10, 4, np.random.default_rng(3)))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    in_order = np.concatenate(list(iterate_minibatches(10, 3, None, shuffle=False)))
    np.testing.assert_array_equal(in_order, np.arange(10))


def test_minibatches_reject_a_zero_batch_size():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        next(iterate_minibatches(10, 0, np.random.default_rng(0)))


# ---------------------------------------------------------------------------------------------
# the real MNIST files


def real_mnist_dir() -> Path:
    env = os.environ.get("MNIST_DIR")
    if not env:
        return REPO.parent / "shared" / "mnist"
    path = Path(env)
    return path if path.is_absolute() or path.exists() else REPO / path  # relative to the repo


TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.slow
def test_real_mnist_files_have_the_published_hashes():
    folder = real_mnist_dir()
    for name, expected in data.SHA256.items():
        path = folder / f"{name}.gz"
        assert path.is_file(), f"{path} is missing: set MNIST_DIR to the folder with MNIST"
        assert sha256(gzip.decompress(path.read_bytes())) == expected, name
    data.verify_mnist(folder)


@pytest.mark.slow
@pytest.mark.parametrize(("split", "counts"), [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_real_mnist_loads_with_the_published_label_counts(split, counts):
    images, labels = load_mnist(real_mnist_dir(), split)
    assert images.shape == (sum(counts), 28, 28) and labels.shape == (sum(counts),)
    assert np.bincount(labels, minlength=10).tolist() == counts
    assert images.min() == 0 and images.max() == 255
