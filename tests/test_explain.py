"""The "Look inside" panel: web.explain's pictures, POST /api/explain over the app's own
request handling, and the panel in a real browser.

The API tests go through WebTest like tests/test_server.py, with the committed weights; the
refusals are compared with /api/predict's for the very same requests, since the promise is the
same forms, caps and errors. The browser tests reuse tests/test_browser.py's server and
Chromium fixtures: `python serve.py` as a person starts it, finding MNIST by itself.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
import test_browser
from PIL import Image
from playwright.sync_api import expect
from test_browser import DIGITS, draw_with_finger, draw_with_mouse
from webtest import TestApp

import nn
import serve
from conftest import page_png, page_strokes
from web.explain import Explainer, grid
from web.neighbours import BackgroundIndex

# The page's fixtures (a live serve.py, Chromium, laptop and phone pages), shared, not copied.
browser, server, open_page = test_browser.browser, test_browser.server, test_browser.open_page
laptop, phone = test_browser.laptop, test_browser.phone

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "mnist_cnn.npz"
NEIGHBOURS_TIMEOUT_MS = 120_000  # the server reads 10,000 training digits once, at nice 19


@pytest.fixture(scope="module")
def model():
    return serve.load_model(str(WEIGHTS))


@pytest.fixture(scope="module")
def neighbours(model, mnist_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return BackgroundIndex(model, WEIGHTS, mnist_dir, cache, per_digit=50).start().join(120)


@pytest.fixture(scope="module")
def app(model, neighbours) -> TestApp:
    return TestApp(serve.create_app(model, WEIGHTS.name, Explainer(model, neighbours)))


def post(app: TestApp, path: str, payload, **kwargs):
    body = payload if isinstance(payload, bytes) else json.dumps(payload)
    kwargs.setdefault("content_type", "application/json")
    return app.post(path, body, expect_errors=True, **kwargs)


def picture(data_url: str) -> Image.Image:
    assert data_url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


# ------------------------------------------------------------------------------ the answer


def test_explain_shows_every_layer_of_a_drawn_seven(app):
    res = post(app, "/api/explain", {"strokes": page_strokes(7), "pen": 15.4})
    assert res.status_int == 200, res.text
    answer = res.json
    assert answer["digit"] == 7 and sum(answer["probabilities"]) == pytest.approx(1)
    assert picture(answer["input"]).size == (28, 28)
    assert picture(answer["saliency"]).size == (28, 28)
    conv1, conv2 = answer["layers"]
    assert (conv1["name"], conv1["count"], conv1["size"], conv1["columns"]) == ("conv1", 32, 28, 8)
    assert picture(conv1["maps"]).size == (8 * 29 - 1, 4 * 29 - 1)  # 8 x 4 tiles, 1-px gutters
    assert picture(conv1["filters"]).size == (8 * 18 - 3, 4 * 18 - 3)  # 15-px filters, 3-px gutters
    assert (conv2["count"], conv2["size"], "filters" in conv2) == (64, 14, False)
    assert picture(conv2["maps"]).size == (8 * 15 - 1, 8 * 15 - 1)
    for layer in (conv1, conv2):
        assert sorted(layer["order"]) == list(range(layer["count"]))
        assert layer["strength"] == sorted(layer["strength"], reverse=True)  # strongest first
    assert len(res.body) < 40_000  # light enough for a phone: about 20 KB


def test_explain_names_the_nearest_training_digits(app):
    answer = post(app, "/api/explain", {"strokes": page_strokes(7)}).json
    near = answer["neighbours"]
    assert near["status"] == "ready" and near["note"] is None
    assert len(near["digits"]) == 8
    assert sum(d["label"] == 7 for d in near["digits"]) >= 6  # it resembles training 7s
    similarities = [d["similarity"] for d in near["digits"]]
    assert similarities == sorted(similarities, reverse=True) and 0 < similarities[-1] <= 1
    assert all(picture(d["image"]).size == (28, 28) for d in near["digits"])
    assert all(0 <= d["index"] < 55_000 for d in near["digits"])


def test_explain_agrees_with_predict_for_strokes_and_for_a_png(app):
    png = base64.b64encode(page_png(0)).decode()
    for payload in ({"strokes": page_strokes(4)}, {"image": png}):
        predicted = post(app, "/api/predict", payload).json
        explained = post(app, "/api/explain", payload).json
        assert explained["digit"] == predicted["digit"]
        np.testing.assert_allclose(explained["probabilities"], predicted["probabilities"],
                                   atol=1e-5)


def test_explain_says_where_its_time_went(app):
    res = post(app, "/api/explain", {"strokes": page_strokes(1)})
    parts = dict(part.strip().split(";dur=") for part in res.headers["Server-Timing"].split(","))
    assert set(parts) == {"prepare", "explain", "total"} and float(parts["total"]) > 0
    assert res.headers["Cache-Control"] == "no-store"


def test_without_an_index_the_answer_says_so(model):
    answer = post(TestApp(serve.create_app(model, WEIGHTS.name)), "/api/explain",
                  {"strokes": page_strokes(7)}).json
    assert answer["neighbours"]["status"] == "off" and answer["neighbours"]["digits"] == []
    assert len(answer["layers"]) == 2


def test_a_model_without_convolutions_is_explained_too():
    x = np.zeros((28, 28), np.float32)
    x[6:22, 13:15] = 1.0  # a 1
    answer = Explainer(nn.mlp(seed=0)).explain(x)
    assert answer["layers"] == [] and picture(answer["saliency"]).size == (28, 28)


def test_grid_puts_tiles_in_rows_with_gutters_between():
    tiles = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)
    out = grid(tiles, columns=2, gutter=1)
    assert out.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(out[3:5, 4:7], tiles[3])  # row 1, column 1
    assert (out[2] == 255).all() and (out[:, 3] == 255).all() and (out[6:, 4:] == 255).all()


# ------------------------------------------------------------------------------ refusals

HUGE_PNG = base64.b64encode(page_png(7, size=2100)).decode()
BAD_REQUESTS = {
    "not-json": (b'{"strokes": []}', "text/plain"),
    "malformed-json": (b"{not json", "application/json"),
    "no-drawing": ({"picture": "x"}, "application/json"),
    "bad-strokes": ({"strokes": [[[0, 0], [1]]]}, "application/json"),
    "too-many-strokes": ({"strokes": [[[0, 0]]] * 65}, "application/json"),
    "body-over-2-mib": ({"image": "A" * (2 * 1024 * 1024)}, "application/json"),
    "image-over-2048-px": ({"image": HUGE_PNG}, "application/json"),
    "bad-base64": ({"image": "not base64!"}, "application/json"),
    "blank": ({"strokes": [[[140, 140]]]}, "application/json"),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_explain_refuses_exactly_what_predict_refuses(app, name):
    body, content_type = BAD_REQUESTS[name]
    predicted = post(app, "/api/predict", body, content_type=content_type)
    explained = post(app, "/api/explain", body, content_type=content_type)
    assert predicted.status_int >= 400
    assert explained.status_int == predicted.status_int
    assert explained.content_type == "application/json"
    assert explained.json == predicted.json  # the same sentence


def test_explain_is_post_only(app):
    res = app.get("/api/explain", expect_errors=True)
    assert res.status_int == 405 and "error" in res.json


# ------------------------------------------------------------------------------ the page


def open_inside(page):
    page.click("#inside > summary")
    page.wait_for_selector('#inside[data-status="done"]', timeout=20_000)
    expect(page.locator("#inside-neighbours li")).to_have_count(8, timeout=NEIGHBOURS_TIMEOUT_MS)


def natural_widths(page) -> dict[str, int]:
    return page.evaluate("""() => Object.fromEntries(["inside-input", "inside-saliency",
        "inside-filters", "inside-conv1", "inside-conv2"].map((id) =>
        [id, document.getElementById(id).naturalWidth]))""")


@pytest.mark.browser
def test_the_panel_shows_maps_filters_and_neighbours_of_a_drawing(laptop, mnist_dir):
    explained = []
    laptop.on("request", lambda req: explained.append(req.post_data_json)
              if req.url.endswith("/api/explain") else None)
    with laptop.expect_request("**/api/read") as predicted:
        draw_with_mouse(laptop, DIGITS[7])
    laptop.wait_for_selector('#prediction[data-status="done"]')
    assert explained == []  # a closed panel asks for nothing
    open_inside(laptop)
    sent = predicted.value.post_data_json  # the same strokes as the reading (which also
    assert explained[0] == {"strokes": sent["strokes"], "pen": sent["pen"]}  # names the person)
    assert natural_widths(laptop) == {"inside-input": 28, "inside-saliency": 28,
                                      "inside-filters": 141, "inside-conv1": 231,
                                      "inside-conv2": 119}
    labels = [text.split("·")[0].strip()
              for text in laptop.locator("#inside-neighbours li").all_inner_texts()]
    assert labels.count("7") >= 6
    assert laptop.locator("#inside-strongest").inner_text().startswith("Strongest here: filters")
    for selector in ("#inside-conv1", "#inside-conv2", "#inside-neighbours"):
        assert laptop.locator(selector).is_visible()

    laptop.click("#clear")  # clearing empties the panel ...
    assert laptop.locator("#inside").get_attribute("data-status") == "empty"
    assert laptop.locator("#inside-neighbours li").count() == 0
    with laptop.expect_request("**/api/explain"):  # ... and a new drawing is explained in turn
        draw_with_mouse(laptop, DIGITS[0])
    expect(laptop.locator("#inside-message")).to_contain_text("for this 0", timeout=20_000)
    expect(laptop.locator("#inside-neighbours li")).to_have_count(8)


@pytest.mark.browser
def test_the_panel_fits_a_phone(phone, mnist_dir):
    draw_with_finger(phone, DIGITS[4])
    phone.wait_for_selector('#prediction[data-status="done"]')
    open_inside(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    for selector in ("#inside-input", "#inside-conv1", "#inside-conv2", "#inside-neighbours"):
        box = phone.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    assert phone.locator("#inside-conv1").bounding_box()["width"] >= 300  # readable, full width
    labels = [text.split("·")[0].strip()
              for text in phone.locator("#inside-neighbours li").all_inner_texts()]
    assert labels.count("4") >= 6


@pytest.mark.browser
def test_the_keyboard_opens_the_panel(laptop):
    draw_with_mouse(laptop, DIGITS[1])
    laptop.wait_for_selector('#prediction[data-status="done"]')
    laptop.focus("#inside > summary")
    with laptop.expect_request("**/api/explain"):
        laptop.keyboard.press("Enter")  # opens the panel, and is not taken for "predict"
    assert laptop.locator("#inside").get_attribute("open") is not None
    laptop.wait_for_selector('#inside[data-status="done"]')


@pytest.mark.browser
def test_a_server_error_is_shown_in_the_panel(laptop):
    laptop.route("**/api/explain", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": "The server is busy; try again in a moment."}'))
    draw_with_mouse(laptop, DIGITS[1])
    laptop.wait_for_selector('#prediction[data-status="done"]')
    laptop.click("#inside > summary")
    laptop.wait_for_selector('#inside[data-status="error"]')
    assert "busy" in laptop.locator("#inside-message").inner_text()
