"""The HTTP API of serve.py, through real requests.

Most cases go through WebTest (a full WSGI request/response cycle, no sockets); the live-server
cases start `python serve.py --port 0` as a subprocess and talk to it over TCP with http.client,
so waitress, the command line and the exit codes are tested too. Drawings are made with PIL:
the same strokes on three backgrounds, as a browser canvas, a scanner or a dark-mode app make them.
"""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import webob
from PIL import Image
from webtest import TestApp

import serve
from conftest import encode, page_png, page_strokes, start_server, stop_server
from web.api import HEADERS

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights" / "mnist_cnn.npz"

BACKGROUNDS = ("transparent", "white", "black")
DRAWN = (0, 1, 7)


def draw_png(digit: int, background: str = "transparent", size: int = 280) -> bytes:
    """The PNG the page would send for `digit` on that background (conftest.page_png)."""
    return page_png(digit, background, size)


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def assert_json_error(res, status: int) -> str:
    """The response has `status`, a JSON body {"error": "<a sentence>"} and no traceback."""
    assert res.status_int == status, res.text
    assert res.content_type == "application/json"
    assert "Traceback" not in res.text
    body = json.loads(res.text)
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and len(body["error"]) > 15
    return body["error"]


@pytest.fixture(scope="module")
def model():
    if not WEIGHTS.exists():
        pytest.fail(f"{WEIGHTS} is missing: the committed weights are needed (python train.py).")
    return serve.load_model(str(WEIGHTS))


@pytest.fixture(scope="module")
def app(model) -> TestApp:
    return TestApp(serve.create_app(model, WEIGHTS.name))


def post_json(app: TestApp, payload, **kwargs):
    return app.post(
        "/api/predict", json.dumps(payload), content_type="application/json", expect_errors=True,
        **kwargs,
    )


# ------------------------------------------------------------------------------ answers


@pytest.mark.parametrize("digit", DRAWN)
@pytest.mark.parametrize("background", BACKGROUNDS)
def test_drawn_digit_is_read_correctly_on_any_background(app, digit, background):
    res = post_json(app, {"image": data_url(draw_png(digit, background))})
    assert res.status_int == 200, res.text
    answer = res.json
    assert answer["digit"] == digit, answer["probabilities"]
    assert answer["probabilities"][digit] > 0.6


@pytest.mark.parametrize("digit", DRAWN)
def test_strokes_are_read_like_the_png_of_the_same_drawing(app, digit):
    by_strokes = post_json(app, {"strokes": page_strokes(digit), "pen": 15.4})
    by_image = post_json(app, {"image": data_url(draw_png(digit))})
    assert by_strokes.status_int == 200, by_strokes.text
    assert by_strokes.json["digit"] == by_image.json["digit"] == digit
    difference = np.abs(np.array(by_strokes.json["input"]) - np.array(by_image.json["input"]))
    assert difference.mean() < 0.02


@pytest.mark.parametrize("payload, status, words", [
    ({"strokes": "7"}, 400, "list of strokes"),
    ({"strokes": [[[0, 0], [1]]]}, 400, "Stroke 0"),
    ({"strokes": [[[0, 0], [1, float("nan")]]]}, 400, "not valid JSON"),  # NaN is not JSON
    ({"strokes": [[[0, 0], [1e300, 1]]]}, 400, "finite"),
    ({"strokes": [[[0, 0], [9, 9]]], "pen": "thick"}, 400, '"pen"'),
    ({"strokes": [[[0, 0]]] * 65}, 413, "strokes"),
    ({"strokes": [[[i, i] for i in range(20_001)]]}, 413, "points"),
    ({"strokes": []}, 422, "draw a digit first"),
    ({"strokes": [[[140, 140]]]}, 422, "draw a digit first"),
    ({"strokes": [[[140, 140], [142, 141]]], "pen": 15.4}, 422, "draw a digit first"),
], ids=["not-a-list", "short-point", "nan", "huge", "bad-pen", "too-many-strokes",
        "too-many-points", "no-strokes", "tap", "tap-with-pen"])
def test_bad_strokes_get_a_sentence_and_the_right_status(app, payload, status, words):
    body = json.dumps(payload).replace("NaN", "NaN")  # json.dumps writes NaN as JavaScript does
    res = app.post("/api/predict", body, content_type="application/json", expect_errors=True)
    assert words in assert_json_error(res, status)


def test_background_does_not_change_what_the_network_sees(app):
    inputs = [np.array(post_json(app, {"image": data_url(draw_png(7, bg))}).json["input"])
              for bg in BACKGROUNDS]
    for other in inputs[1:]:
        np.testing.assert_allclose(other, inputs[0], atol=0.02)


def test_answer_has_digit_probabilities_and_the_28x28_input(app):
    res = post_json(app, {"image": data_url(draw_png(0))})
    assert res.status_int == 200
    assert res.headers["Cache-Control"] == "no-store"
    answer = res.json
    assert set(answer) == {"digit", "probabilities", "input", "not_a_digit"}
    p = np.array(answer["probabilities"])
    assert p.shape == (10,) and (p >= 0).all() and (p <= 1).all()
    assert abs(p.sum() - 1.0) < 1e-9
    assert answer["digit"] == int(np.argmax(p))
    x = np.array(answer["input"])
    assert x.shape == (28, 28) and x.min() >= 0.0 and x.max() <= 1.0
    assert x.max() > 0.9  # MNIST polarity: the ink is near 1, the background 0
    assert x[0].max() == 0.0 and x[:, 0].max() == 0.0  # MNIST keeps a 4 px empty border


def test_answer_says_where_the_server_time_went(app):
    res = post_json(app, {"image": data_url(draw_png(7))})
    parts = dict(part.strip().split(";dur=") for part in res.headers["Server-Timing"].split(","))
    assert set(parts) == {"read", "queue", "preprocess", "predict", "total", "cpu"}
    assert all(float(ms) >= 0 for ms in parts.values())


def test_input_is_exactly_what_the_model_saw(app, model):
    from digits.preprocess import preprocess

    png = draw_png(7)
    answer = post_json(app, {"image": data_url(png)}).json
    x = preprocess(png)
    np.testing.assert_array_equal(np.array(answer["input"], dtype=np.float32), x)
    np.testing.assert_allclose(answer["probabilities"], model.predict(x[None, None])[0], atol=1e-6)


@pytest.mark.parametrize("encode", [
    lambda png: data_url(png),
    lambda png: base64.b64encode(png).decode(),  # bare base64
    lambda png: base64.encodebytes(png).decode(),  # wrapped at 76 columns, as `base64` prints
    lambda png: base64.b64encode(png).decode().rstrip("="),  # padding lost
], ids=["data-url", "bare", "wrapped", "unpadded"])
def test_data_url_and_bare_base64_give_the_same_answer(app, encode):
    png = draw_png(1)
    reference = post_json(app, {"image": data_url(png)}).json
    assert post_json(app, {"image": encode(png)}).json == reference


def test_json_with_charset_is_accepted(app):
    res = app.post("/api/predict", json.dumps({"image": data_url(draw_png(1))}),
                   content_type="application/json; charset=utf-8")
    assert res.json["digit"] == 1


# ------------------------------------------------------------------------------ bad requests


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "image/png", ""])
def test_body_that_is_not_json_is_refused_with_415(app, content_type):
    res = app.post("/api/predict", b'{"image": "x"}', content_type=content_type or None,
                   expect_errors=True)
    message = assert_json_error(res, 415)
    assert "application/json" in message


@pytest.mark.parametrize("body", [
    b"{not json", b"", b"\xff\xfe{}", b'{"image": "abc"',
    b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than Python's recursion limit
    b'{"image": ' + b"9" * 5000 + b"}",  # an integer longer than Python will parse
], ids=["not-json", "empty", "not-utf8", "unterminated", "deep", "long-number"])
def test_malformed_json_is_refused_with_400(app, body):
    res = app.post("/api/predict", body, content_type="application/json", expect_errors=True)
    assert "JSON" in assert_json_error(res, 400)


@pytest.mark.parametrize("payload", [{}, [], "image", 7, None, {"picture": "abc"}],
                         ids=["empty-object", "list", "string", "number", "null", "wrong-key"])
def test_json_without_a_drawing_is_refused_with_400(app, payload):
    message = assert_json_error(post_json(app, payload), 400)
    assert '"strokes"' in message and '"image"' in message


@pytest.mark.parametrize("image", [None, 12, ["data:image/png;base64,"], {"png": "..."}])
def test_image_field_that_is_not_a_string_is_refused_with_400(app, image):
    assert "string" in assert_json_error(post_json(app, {"image": image}), 400)


@pytest.mark.parametrize("image", ["@@@ not base64 @@@", "data:image/png;base64,%%%%",
                                   "data:image/png,iVBORw0KGgo", "", "data:image/png;base64,"])
def test_bad_base64_is_refused_with_400(app, image):
    assert_json_error(post_json(app, {"image": image}), 400)


@pytest.mark.parametrize("data", [
    b"hello, this is not an image",
    b"\xff\xd8\xff\xe0" + b"\x00" * 64,  # the start of a JPEG
    b"GIF89a" + b"\x00" * 64,
], ids=["text", "jpeg", "gif"])
def test_bytes_that_are_not_a_png_are_refused_with_400(app, data):
    message = assert_json_error(post_json(app, {"image": data_url(data)}), 400)
    assert "PNG" in message


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_png_is_refused_with_400(app, keep):
    png = draw_png(7)
    assert_json_error(post_json(app, {"image": data_url(png[: int(len(png) * keep)])}), 400)


def test_body_over_2_mib_is_refused_with_413(app):
    body = json.dumps({"image": "A" * (2 * 1024 * 1024 + 10)})
    res = app.post("/api/predict", body, content_type="application/json", expect_errors=True)
    assert "MiB" in assert_json_error(res, 413)


def wsgi_post_without_content_length(app: TestApp, body: bytes):
    """POST with no Content-Length at all, as a streaming WSGI server may pass it on."""
    request = webob.Request.blank("/api/predict", method="POST", body=body,
                                  content_type="application/json")
    del request.environ["CONTENT_LENGTH"]
    return request.get_response(app.app)


def test_body_without_content_length_is_read_up_to_the_limit(app):
    res = wsgi_post_without_content_length(
        app, json.dumps({"image": data_url(draw_png(1))}).encode())
    assert res.status_int == 200, res.text
    too_big = wsgi_post_without_content_length(app, b'{"image": "' + b"A" * 3_000_000 + b'"}')
    assert_json_error(too_big, 413)


def test_content_length_that_is_not_a_number_is_refused_with_400(app):
    request = webob.Request.blank("/api/predict", method="POST", body=b"{}",
                                  content_type="application/json")
    request.environ["CONTENT_LENGTH"] = "lots"
    assert "Content-Length" in assert_json_error(request.get_response(app.app), 400)


def test_image_over_2048_pixels_is_refused_with_413(app):
    huge = encode(Image.new("L", (3000, 3000), 255))  # compresses to a few kB
    assert len(huge) < 2 * 1024 * 1024
    message = assert_json_error(post_json(app, {"image": data_url(huge)}), 413)
    assert "3000" in message


@pytest.mark.parametrize("mode, paper", [("RGBA", (0, 0, 0, 0)), ("RGB", (255, 255, 255)),
                                         ("RGB", (0, 0, 0))], ids=BACKGROUNDS)
def test_blank_canvas_is_refused_with_422(app, mode, paper):
    blank = encode(Image.new(mode, (280, 280), paper))
    assert "draw" in assert_json_error(post_json(app, {"image": data_url(blank)}), 422).lower()


# ------------------------------------------------------------------------------ other routes


def test_health_names_the_weights_file_and_the_limits(app):
    res = app.get("/api/health")
    assert res.json["status"] == "ok"
    assert res.json["model"] == "mnist_cnn.npz"
    assert res.json["max_body_bytes"] == 2 * 1024 * 1024
    assert res.json["max_image_side"] == 2048
    assert res.json["parameters"] > 0


@pytest.mark.parametrize("path, content_type, marker", [
    ("/", "text/html", 'id="canvas"'),
    ("/static/answer.js", "text/javascript", "/api/predict"),
    ("/static/style.css", "text/css", "touch-action: none"),
    ("/static/favicon.svg", "image/svg+xml", "<svg"),
])
def test_page_and_static_files_are_served_fresh(app, path, content_type, marker):
    res = app.get(path)
    assert res.content_type == content_type
    assert marker in res.text
    assert res.headers["Cache-Control"] == "no-cache"  # revalidate: an updated script is seen
    again = app.get(path, headers={"If-None-Match": res.headers["ETag"]}, status=304)
    assert again.body == b""


def test_page_has_the_elements_scripts_rely_on(app):
    html = app.get("/").text
    for element_id in ["canvas", "predict", "clear", "prediction", "probabilities"]:
        assert f'id="{element_id}"' in html
    assert html.count('class="bar"') == 10
    assert 'data-status="empty"' in html
    assert "http://" not in html and "https://" not in html  # works offline: nothing external


@pytest.mark.parametrize("path", ["/static/../serve.py", "/static/..%2fserve.py",
                                  "/static/%2e%2e/serve.py", "/static/../../etc/passwd",
                                  "/static//etc/passwd"])
def test_static_refuses_paths_outside_the_static_folder(app, path):
    res = app.get(path, expect_errors=True)
    assert res.status_int in (403, 404)
    assert "create_app" not in res.text and "root:" not in res.text
    assert_json_error(res, res.status_int)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/nothing-here", 404),
    ("GET", "/static/missing.js", 404),
    ("GET", "/api/predict", 405),
    ("PUT", "/api/predict", 405),
    ("POST", "/api/health", 405),
])
def test_unknown_routes_and_methods_answer_json(app, method, path, status):
    res = app.request(path, method=method, expect_errors=True)
    assert_json_error(res, status)


@pytest.mark.parametrize("method, path", [
    ("GET", "/"), ("GET", "/static/main.js"), ("GET", "/api/health"), ("GET", "/api/nothing"),
    ("POST", "/api/predict"), ("GET", "/static/../serve.py"),
])
def test_every_answer_carries_the_security_headers(app, method, path):
    res = app.request(path, method=method, expect_errors=True)
    for name, value in HEADERS.items():
        assert res.headers[name] == value, (path, name)


def test_predictions_beyond_the_queue_are_told_to_come_back_with_503():
    # A model that holds every prediction until released: one computes, QUEUE wait, the next
    # request finds the queue full and is refused at once with Retry-After.
    release = threading.Event()

    class SlowModel:
        def predict(self, x):
            release.wait(10)
            return np.full((1, 10), 0.1, np.float32)

    slow = serve.create_app(SlowModel(), "slow.npz")
    body = json.dumps({"strokes": page_strokes(7)}).encode()

    def ask():
        req = webob.Request.blank("/api/predict", method="POST", body=body,
                                  content_type="application/json")
        return req.get_response(slow)

    with ThreadPoolExecutor(serve.QUEUE + 1) as pool:
        held = [pool.submit(ask) for _ in range(serve.QUEUE + 1)]
        health = TestApp(slow).get("/api/health")
        for _ in range(500):  # until all but the one computing wait in the queue (<= 5 s)
            if TestApp(slow).get("/api/health").json["queued"] == serve.QUEUE:
                break
            threading.Event().wait(0.01)
        refused = ask()
        release.set()
        answered = [future.result(timeout=10) for future in held]
    assert health.status_int == 200
    assert_json_error(refused, 503)
    assert refused.headers["Retry-After"] == "1" and "busy" in refused.json["error"]
    assert [res.status_int for res in answered] == [200] * (serve.QUEUE + 1)


def test_a_real_bug_gives_json_500_without_a_traceback():
    class BrokenModel:
        def predict(self, x):
            raise RuntimeError("secret internal detail")

    broken = TestApp(serve.create_app(BrokenModel(), "broken.npz"))
    res = broken.post("/api/predict", json.dumps({"image": data_url(draw_png(1))}),
                      content_type="application/json", expect_errors=True)
    message = assert_json_error(res, 500)
    assert "secret" not in message
    assert "RuntimeError" in res.errors  # logged on the server side (wsgi.errors)


# ------------------------------------------------------------------------------ live server


@pytest.fixture(scope="module")
def live():
    proc, address = start_server("--weights", str(WEIGHTS))
    yield address
    stop_server(proc)


def request(address: str, method: str, path: str, body=None, headers=None, chunked=False):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res, data


def test_live_server_reads_a_drawing_over_http(live):
    res, data = request(live, "GET", "/api/health")
    assert res.status == 200 and json.loads(data)["model"] == "mnist_cnn.npz"
    assert res.getheader("Server") == "waitress"  # a threaded server, not Bottle's default
    body = json.dumps({"image": data_url(draw_png(7, "white"))})
    res, data = request(live, "POST", "/api/predict", body, {"Content-Type": "application/json"})
    assert res.status == 200
    assert json.loads(data)["digit"] == 7


def test_live_server_refuses_a_large_body_with_json_413(live):
    body = b'{"image": "' + b"A" * (3 * 1024 * 1024) + b'"}'
    res, data = request(live, "POST", "/api/predict", body, {"Content-Type": "application/json"})
    assert res.status == 413
    assert "error" in json.loads(data)


def test_live_server_caps_a_chunked_body_without_content_length(live):
    chunks = (b"A" * 65536 for _ in range(48))  # 3 MiB, sent without a Content-Length
    res, data = request(live, "POST", "/api/predict", chunks,
                        {"Content-Type": "application/json"}, chunked=True)
    assert res.status == 413
    assert "error" in json.loads(data)


def test_live_server_answers_concurrent_requests(live):
    from concurrent.futures import ThreadPoolExecutor

    body = json.dumps({"image": data_url(draw_png(0))})

    def ask(_):
        res, data = request(live, "POST", "/api/predict", body,
                            {"Content-Type": "application/json"})
        return res.status, json.loads(data)["digit"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(16)))
    assert answers == [(200, 0)] * 16


@pytest.mark.parametrize("weights", ["does/not/exist.npz", "not-a-model"])
def test_missing_or_bad_weights_stop_the_start_with_one_line(tmp_path, weights):
    if weights == "not-a-model":
        weights = tmp_path / "garbage.npz"
        weights.write_bytes(b"this is not an npz archive")
    proc = subprocess.run([sys.executable, "serve.py", "--weights", str(weights)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(weights) in lines[0]
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------ labelled drawings
# POST /api/drawings and GET /api/drawings/stats (web/store.py); the store's promises under
# concurrency, kill -9 and a full or read-only disk are in tests/test_store.py.

PERSON = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def keeper(model, tmp_path):
    """An app with a drawings store in a fresh file (small caps, to reach them quickly)."""
    from web.store import DrawingStore

    store = DrawingStore(tmp_path / "drawings.sqlite", max_per_minute=6,
                         max_per_person_per_minute=4)
    return TestApp(serve.create_app(model, WEIGHTS.name, store=store)), store


def post_drawing(app: TestApp, payload, **kwargs):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return app.post("/api/drawings", body, content_type=kwargs.pop("content_type",
                    "application/json"), expect_errors=True, **kwargs)


def test_a_labelled_drawing_is_kept_with_what_the_network_saw(keeper):
    app, store = keeper
    strokes = page_strokes(7)
    res = post_drawing(app, {"strokes": strokes, "pen": 15.4, "label": 1, "predicted": 7,
                             "person": PERSON})
    assert res.status_int == 201 and res.json == {"id": 1}
    assert res.content_type == "application/json"
    seen = post_json(app, {"strokes": strokes, "pen": 15.4}).json["input"]
    x, y = store.examples(PERSON)
    np.testing.assert_array_equal(x[0], np.array(seen, dtype=np.float32))
    assert y.tolist() == [1]
    res = post_drawing(app, {"image": data_url(draw_png(4)), "label": 4})
    assert res.status_int == 201 and res.json == {"id": 2}
    stats = app.get("/api/drawings/stats").json
    assert stats["count"] == 2 and stats["by_label"] == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert stats["corrected"] == 1 and stats["people"] == 1


@pytest.mark.parametrize("payload, status, words", [
    ({"strokes": page_strokes(7)}, 400, '"label" is missing'),
    ({"strokes": page_strokes(7), "label": 10}, 400, '"label"'),
    ({"strokes": page_strokes(7), "label": "7"}, 400, '"label"'),
    ({"strokes": page_strokes(7), "label": True}, 400, '"label"'),
    ({"strokes": page_strokes(7), "label": 7.5}, 400, '"label"'),
    ({"strokes": page_strokes(7), "label": 7, "predicted": -1}, 400, '"predicted"'),
    ({"strokes": page_strokes(7), "label": 7, "person": "x"}, 400, '"person"'),
    ({"strokes": page_strokes(7), "label": 7, "person": ["a" * 32]}, 400, '"person"'),
    ({"label": 7}, 400, 'no "strokes" or "image"'),
    ({"strokes": "7", "label": 7}, 400, "list of strokes"),
    ({"strokes": [[[0, 0], [1]]], "label": 7}, 400, "Stroke 0"),
    ({"strokes": page_strokes(7), "pen": -3, "label": 7}, 400, '"pen"'),
    ({"image": "not base64 at all!", "label": 7}, 400, "base64"),
    ({"image": 7, "label": 7}, 400, "string"),
    ({"strokes": [[[i, i] for i in range(20_001)]], "label": 7}, 413, "points"),
    ({"strokes": [], "label": 7}, 422, "draw a digit first"),
    ({"strokes": [[[140, 140]]], "label": 7}, 422, "draw a digit first"),
    ([7], 400, 'no "strokes" or "image"'),
    ("{not json", 400, "not valid JSON"),
], ids=["no-label", "label-10", "label-string", "label-bool", "label-fraction", "predicted",
        "person-short", "person-list", "no-drawing", "strokes-string", "short-point", "pen",
        "bad-base64", "image-number", "too-many-points", "no-strokes", "tap", "json-list",
        "bad-json"])
def test_every_bad_labelled_drawing_gets_a_sentence_and_nothing_is_kept(keeper, payload,
                                                                        status, words):
    app, store = keeper
    assert words in assert_json_error(post_drawing(app, payload), status)
    assert store.stats()["count"] == 0


def test_a_labelled_drawing_must_be_json_and_not_too_large(keeper):
    app, store = keeper
    res = post_drawing(app, "label=7", content_type="application/x-www-form-urlencoded")
    assert_json_error(res, 415)
    huge = json.dumps({"strokes": [[[i % 280 + 0.123456789, i % 97 + 0.123456789]
                                    for i in range(19_000)]], "label": 7})
    assert len(huge) > serve.MAX_DRAWING_BYTES
    assert "larger than" in assert_json_error(post_drawing(app, huge), 413)
    assert store.stats()["count"] == 0


def test_too_many_drawings_a_minute_get_429_with_when_to_retry(keeper):
    app, store = keeper
    body = {"strokes": page_strokes(7), "label": 7, "person": PERSON}
    assert [post_drawing(app, body).status_int for _ in range(4)] == [201] * 4
    res = post_drawing(app, body)
    assert "of your drawings a minute" in assert_json_error(res, 429)
    assert 1 <= int(res.headers["Retry-After"]) <= 61
    others = [post_drawing(app, {**body, "person": f"other-person-{i}"}).status_int
              for i in range(3)]
    assert others == [201, 201, 429]  # 6 a minute from everyone
    assert store.stats()["count"] == 6


def test_without_a_store_drawings_are_refused_and_predictions_work(app):
    res = post_drawing(app, {"strokes": page_strokes(7), "label": 7})
    assert "database" in assert_json_error(res, 503)
    assert_json_error(app.get("/api/drawings/stats", expect_errors=True), 503)
    assert post_json(app, {"strokes": page_strokes(7)}).status_int == 200


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/drawings", 405),
    ("GET", "/api/drawings/1", 405),  # only DELETE, by its owner
    ("GET", f"/api/drawings?person={PERSON}", 405),
    ("DELETE", "/api/drawings/stats", 405),
])
def test_no_route_hands_out_drawings(keeper, method, path, status):
    app, _ = keeper
    post_drawing(app, {"strokes": page_strokes(7), "label": 7, "person": PERSON})
    res = app.request(path, method=method, expect_errors=True)
    assert_json_error(res, status)
    assert "strokes" not in res.text


def test_a_person_id_is_checked_and_without_corrections_changes_nothing(keeper):
    app, _ = keeper
    assert '"person"' in assert_json_error(
        post_json(app, {"strokes": page_strokes(7), "person": "no spaces allowed"}), 400)
    plain = post_json(app, {"strokes": page_strokes(7)}).json
    mine = post_json(app, {"strokes": page_strokes(7), "person": PERSON}).json
    assert mine["adapted"] is False and "adapted" not in plain
    assert mine["probabilities"] == plain["probabilities"]


# ------------------------------------------------------------------------------ undo and forget
# A person's own drawings, keyed by the X-Person header alone (docs/corrections.md).

OTHER = "fedcba9876543210fedcba9876543210"


def mine(app: TestApp, person: str | None, method: str = "get", path: str = "/api/drawings/mine"):
    headers = {} if person is None else {"X-Person": person}
    return getattr(app, method)(path, headers=headers, expect_errors=True)


def test_a_person_lists_undoes_and_forgets_their_own_drawings_only(keeper):
    app, store = keeper
    body = {"strokes": page_strokes(7), "label": 1, "predicted": 7}
    ids = [post_drawing(app, {**body, "person": PERSON}).json["id"] for _ in range(3)]
    theirs = post_drawing(app, {**body, "label": 7, "person": OTHER}).json["id"]
    listed = mine(app, PERSON).json
    assert listed["count"] == 3 and listed["corrected"] == 3
    assert [d["id"] for d in listed["drawings"]] == ids[::-1]
    assert set(listed["drawings"][0]) == {"id", "label", "predicted", "created"}
    assert [d["id"] for d in mine(app, OTHER).json["drawings"]] == [theirs]

    # nobody deletes another's drawing, and the answer does not say whether it exists
    refused = assert_json_error(mine(app, OTHER, "delete", f"/api/drawings/{ids[0]}"), 404)
    missing = assert_json_error(mine(app, OTHER, "delete", "/api/drawings/999999"), 404)
    assert refused.replace(str(ids[0]), "N") == missing.replace("999999", "N")
    assert mine(app, PERSON, "delete", f"/api/drawings/{ids[0]}").json == {"deleted": 1}
    assert_json_error(mine(app, PERSON, "delete", f"/api/drawings/{ids[0]}"), 404)
    assert mine(app, PERSON).json["count"] == 2

    assert mine(app, PERSON, "delete").json == {"deleted": 2}  # forget them
    assert mine(app, PERSON, "delete").json == {"deleted": 0}
    assert mine(app, PERSON).json == {"count": 0, "corrected": 0, "drawings": []}
    assert mine(app, OTHER).json["count"] == 1 and store.stats()["count"] == 1


@pytest.mark.parametrize("person, method, path", [
    (None, "get", "/api/drawings/mine"), (None, "delete", "/api/drawings/mine"),
    (None, "delete", "/api/drawings/1"), ("short", "get", "/api/drawings/mine"),
    ("has spaces in it", "delete", "/api/drawings/mine"), ("x" * 65, "delete", "/api/drawings/1"),
], ids=["list-no-id", "forget-no-id", "undo-no-id", "short", "spaces", "too-long"])
def test_without_a_well_formed_person_id_nothing_is_listed_or_deleted(keeper, person, method,
                                                                      path):
    app, store = keeper
    post_drawing(app, {"strokes": page_strokes(7), "label": 1, "person": PERSON})
    assert "X-Person" in assert_json_error(mine(app, person, method, path), 400) or person
    assert store.stats()["count"] == 1


def test_the_person_id_in_a_url_or_body_is_not_a_key(keeper):
    app, store = keeper
    row = post_drawing(app, {"strokes": page_strokes(7), "label": 1, "person": PERSON}).json["id"]
    assert_json_error(app.get(f"/api/drawings/mine?person={PERSON}", expect_errors=True), 400)
    res = app.delete(f"/api/drawings/{row}", json.dumps({"person": PERSON}),
                     content_type="application/json", expect_errors=True)
    assert_json_error(res, 400)
    assert store.stats()["count"] == 1


def test_without_a_store_the_persons_routes_say_so(model):
    app = TestApp(serve.create_app(model, WEIGHTS.name))
    for method, path in (("get", "/api/drawings/mine"), ("delete", "/api/drawings/mine"),
                         ("delete", "/api/drawings/3")):
        assert "keeps no drawings" in assert_json_error(mine(app, PERSON, method, path), 503)
