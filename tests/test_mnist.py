"""training.mnist: the MNIST folder is found, local copies are verified by hash, and downloads
never leave a bad file behind.

The download tests run a real HTTP server on 127.0.0.1 with one good mirror and several bad ones;
the real-files test reads $MNIST_DIR (the mnist_dir fixture).
"""

from __future__ import annotations

import gzip
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import fake_arrays, idx_bytes, sha256, write_fake_mnist
from nn.data import IDXError, load_mnist, write_idx
from training import mnist
from training.mnist import DownloadError


def test_resolve_data_dir_prefers_argument_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", "/from/env")
    assert mnist.resolve_data_dir("/from/arg") == Path("/from/arg")
    assert mnist.resolve_data_dir(None) == Path("/from/env")
    monkeypatch.delenv("MNIST_DIR")
    assert mnist.resolve_data_dir(None) == Path("data/mnist")


def test_find_mnist_looks_in_the_environment_only_or_else_in_the_usual_folders(tmp_path,
                                                                                monkeypatch):
    for folder in ("shared/mnist", "repo/data/mnist", "empty"):
        (tmp_path / folder).mkdir(parents=True)
    write_fake_mnist(tmp_path / "shared" / "mnist")
    monkeypatch.chdir(tmp_path / "repo")  # ../shared/mnist is beside it, data/mnist is not
    monkeypatch.delenv("MNIST_DIR", raising=False)
    assert mnist.find_mnist("train") == Path("..") / "shared" / "mnist"
    write_fake_mnist(tmp_path / "repo" / "data" / "mnist", gz=False)  # raw files count too
    assert mnist.find_mnist("test") == Path("data") / "mnist"  # the first searched wins
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    assert mnist.find_mnist("train") is None  # set: only that folder, never a download


def test_verify_mnist_reports_a_corrupt_local_copy(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path)
    monkeypatch.setattr(mnist, "SHA256", {n: sha256(idx_bytes(a)) for n, a in arrays.items()})
    mnist.verify_mnist(tmp_path)  # the good copy passes
    corrupt = arrays["t10k-images-idx3-ubyte"].copy()
    corrupt[0, 0, 0] ^= 1  # one bit
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", corrupt)
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte\.gz is not the original MNIST"):
        mnist.verify_mnist(tmp_path)


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
    monkeypatch.setattr(mnist, "SHA256", {n: sha256(idx_bytes(a)) for n, a in arrays.items()})
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
    assert mnist.ensure_mnist(target, mirrors=order, log=lines.append, timeout=5) == target
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
        mnist.ensure_mnist(target, mirrors=bad, log=lambda line: None, timeout=5)
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
    mnist.ensure_mnist(tmp_path, mirrors=(url["good"],), log=lambda line: None, timeout=5)
    assert sorted(server.requests) == ["/good/t10k-images-idx3-ubyte.gz",
                                       "/good/t10k-labels-idx1-ubyte.gz"]


def test_ensure_mnist_stops_on_a_corrupt_local_copy_without_touching_it(tmp_path, mirrors):
    server, url, arrays = mirrors
    write_fake_mnist(tmp_path)
    corrupt = gzip.compress(idx_bytes(arrays["train-labels-idx1-ubyte"][::-1]))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(corrupt)
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte\.gz is not the original MNIST"):
        mnist.ensure_mnist(tmp_path, mirrors=(url["good"],), log=lambda line: None)
    assert (tmp_path / "train-labels-idx1-ubyte.gz").read_bytes() == corrupt
    assert server.requests == []


def test_ensure_mnist_without_download_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*downloading is off"):
        mnist.ensure_mnist(tmp_path, download=False)


@pytest.mark.slow
def test_real_mnist_files_have_the_published_hashes(mnist_dir):
    folder = mnist_dir
    for name, expected in mnist.SHA256.items():
        path = folder / f"{name}.gz"
        assert path.is_file(), f"{path} is missing: set MNIST_DIR to the folder with MNIST"
        assert sha256(gzip.decompress(path.read_bytes())) == expected, name
    mnist.verify_mnist(folder)
