"""web.static: the page's files, gzipped only for clients that accept it (real HTTP to the
page's files is in tests/test_browser_access.py)."""

import pytest
from webtest import TestApp

import serve
from web.static import accepts_gzip


@pytest.mark.parametrize("header, accepted", [
    ("gzip", True), ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.8", True), ("*", True),
    ("", False), ("identity", False), ("gzip;q=0", False), ("gzip;q=0, *", False),
    ("deflate, br", False), ("x-gzip", True), ("gzip;q=bad", False),
])
def test_accept_encoding_is_read_with_its_q_values(header, accepted):
    assert accepts_gzip(header) is accepted


class Uniform:
    def predict(self, x):
        import numpy as np
        return np.full((len(x), 10), 0.1, dtype=np.float32)


@pytest.fixture(scope="module")
def app():
    return TestApp(serve.create_app(Uniform(), "uniform.npz"))


def test_a_gzip_answer_has_its_own_etag_and_revalidates(app):
    plain = app.get("/static/style.css")
    zipped = app.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    assert zipped.body == plain.body  # webtest decodes gzip: the same file
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert zipped.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
    again = app.get("/static/style.css", status=304, headers={
        "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.body == b""


def test_images_and_missing_files_are_not_compressed(app):
    svg_small = app.get("/static/favicon.svg", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in svg_small.headers  # under MIN_BYTES: not worth it
    missing = app.get("/static/nothing.js", headers={"Accept-Encoding": "gzip"}, status=404)
    assert "Content-Encoding" not in missing.headers
