"""POST /api/read over real HTTP (serve.py in its own process), and not_a_digit on /api/predict.

The drawings are digits as the page draws them (conftest), put side by side as a person writes a
number: apart, touching, with a decimal point; and things that are not digits.
"""

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import FOUR, ONE, SEVEN, ZERO, dense, encode, in_box, start_server, stop_server
from digits.canvas import render, to_png

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = REPO / "weights" / "mnist_cnn.npz"
JUDGE = REPO / "weights" / "not_a_digit.npz"
SHAPES = {0: ZERO, 1: ONE, 4: FOUR, 7: SEVEN}
SCRIBBLE = [[(x, 0.5 + 0.45 * (-1) ** k) for k, x in enumerate(np.linspace(0, 1, 12))]]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, address = start_server("--weights", str(WEIGHTS), "--not-a-digit", str(JUDGE),
                                 "--db", str(tmp_path_factory.mktemp("read") / "d.sqlite"))
    yield address
    stop_server(proc)


def post(address: str, path: str, body) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{address}{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def written(text: str, gap: float = 0.3, height: float = 100.0) -> list[list[list[float]]]:
    """The digits of ``text`` (0, 1, 4, 7 and ".") written left to right as strokes in pixels,
    each ``height`` tall and about 0.6 of it wide, ``gap`` of the height apart (negative: the
    ink overlaps)."""
    strokes, left = [], 10.0
    for ch in text:
        if ch == ".":
            strokes.append([[left, 10 + height * 0.97], [left + 1.5, 10 + height * 0.98]])
            left += gap * height
            continue
        width = 0.15 if ch == "1" else 0.6
        for stroke in in_box(SHAPES[int(ch)], left - (1 - width) / 2 * height, 10, height):
            strokes.append([list(p) for p in dense(stroke, 2.0)])
        left += (width + gap) * height
    return strokes


def as_png(strokes, pen: float = 9.0) -> dict:
    points = np.concatenate([np.asarray(s) for s in strokes])
    width, height = (points.max(axis=0) + 20).astype(int)
    ink = render(strokes, (int(height), int(width)), pen, smoothing=False)
    data = base64.b64encode(to_png(ink, "white")).decode()
    return {"image": f"data:image/png;base64,{data}"}


@pytest.mark.parametrize("digit", [0, 1, 4, 7])
def test_one_digit_reads_as_that_digit_like_predict(server, digit):
    strokes = written(str(digit))
    status, answer = post(server, "/api/read", {"strokes": strokes})
    _, predicted = post(server, "/api/predict", {"strokes": strokes})
    assert status == 200
    assert answer["number"] == str(digit) and len(answer["digits"]) == 1
    only = answer["digits"][0]
    assert only["digit"] == predicted["digit"] == digit
    assert only["strokes"] == list(range(len(strokes)))
    assert np.allclose(only["input"], predicted["input"])
    assert answer["not_a_digit"] is False and predicted["not_a_digit"] is False


@pytest.mark.parametrize("text", ["74", "1047", "7010"])
def test_a_number_reads_digit_by_digit_with_boxes_and_strokes(server, text):
    strokes = written(text)
    status, answer = post(server, "/api/read", {"strokes": strokes})
    assert status == 200 and answer["number"] == text
    boxes = [item["box"] for item in answer["digits"]]
    assert all(a[2] < b[0] for a, b in zip(boxes, boxes[1:]))  # left to right, apart
    used = sorted(i for item in answer["digits"] for i in item["strokes"])
    assert used == list(range(len(strokes)))
    for item in answer["digits"]:
        assert np.isclose(sum(item["probabilities"]), 1.0, atol=1e-5)
        assert np.asarray(item["input"]).shape == (28, 28)


def test_a_number_as_png_reads_the_same_with_boxes_in_pixels(server):
    strokes = written("470")
    status, answer = post(server, "/api/read", as_png(strokes))
    assert status == 200 and answer["number"] == "470"
    first = answer["digits"][0]["box"]
    assert 0 <= first[0] < 20 and first[2] < 90  # the 4: 60 px wide from x = 10, a 9 px pen
    assert all(item["strokes"] == [] for item in answer["digits"])


def test_a_decimal_point_reads_as_a_point(server):
    strokes = written("1.4", gap=0.25)
    status, answer = post(server, "/api/read", {"strokes": strokes})
    assert status == 200 and answer["number"] == "1.4"
    assert [p["strokes"] for p in answer["points"]] == [[1]]
    status, answer = post(server, "/api/read", as_png(strokes))
    assert status == 200 and answer["number"] == "1.4"


@pytest.mark.parametrize("form", ["strokes", "png"])
def test_touching_digits_become_two(server, form):
    strokes = written("47", gap=-0.04)
    body = {"strokes": strokes} if form == "strokes" else as_png(strokes, pen=12.0)
    status, answer = post(server, "/api/read", body)
    assert status == 200 and answer["number"] == "47"


def test_a_one_touching_a_seven_in_a_png_is_read_not_left_out(server):
    # one blob, narrower than the writing's height, that read whole is "not a digit"
    status, answer = post(server, "/api/read", as_png(written("17", gap=-0.05), pen=14.0))
    assert status == 200 and answer["number"] == "17" and answer["not_digits"] == []


@pytest.mark.parametrize("shape", [SCRIBBLE], ids=["scribble"])
def test_what_is_not_a_digit_is_said_so(server, shape):
    strokes = [[list(p) for p in dense(s, 2.0)] for s in in_box(shape, 10, 10, 100)]
    status, answer = post(server, "/api/read", {"strokes": strokes})
    assert status == 200 and answer["not_a_digit"] is True and answer["number"] == ""
    status, predicted = post(server, "/api/predict", {"strokes": strokes})
    assert status == 200 and predicted["not_a_digit"] is True
    assert 0 <= predicted["digit"] <= 9  # still the network's best guess


def test_blank_and_malformed_drawings_are_refused_with_a_sentence(server):
    for body, status in [({"strokes": []}, 422), ({"strokes": [[[5, 5]]]}, 422),
                         ({"strokes": "12"}, 400), ({"image": "not base64!"}, 400),
                         (b"{", 400), ({"nothing": 1}, 400)]:
        got, answer = post(server, "/api/read", body)
        assert got == status and isinstance(answer["error"], str) and answer["error"]
    blank = np.zeros((60, 200), np.float32)
    got, answer = post(server, "/api/read",
                       {"image": base64.b64encode(to_png(blank, "white")).decode()})
    assert got == 422


def test_hostile_sizes_are_refused_before_work(server):
    too_many_strokes = [[[k, 0], [k, 10]] for k in range(65)]
    too_many_points = [[[k % 100, k // 100] for k in range(20_001)]]
    from PIL import Image
    wide = encode(Image.new("L", (2049, 10), 255))
    for body in ({"strokes": too_many_strokes}, {"strokes": too_many_points},
                 {"image": base64.b64encode(wide).decode()}):
        got, answer = post(server, "/api/read", body)
        assert got == 413 and answer["error"]
    got, answer = post(server, "/api/read", b"[" * 3_000_000)
    assert got == 413


def test_a_number_of_64_strokes_is_read_within_the_limits(server):
    strokes = written("1111111111111111" * 4, gap=0.3)[:64]
    status, answer = post(server, "/api/read", {"strokes": strokes})
    assert status == 200 and len(answer["number"]) == 64
