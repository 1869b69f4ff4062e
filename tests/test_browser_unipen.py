"""Real writers through the page: UNIPEN test digits replayed as mouse and touch strokes.

Each digit's pen trace is put on the page's canvas as a person would draw it (40-90% of the
canvas, anywhere on it) and replayed point by point as pointer events. The page must read what
the API reads for the writer's own strokes: whatever happens between a pointer event and the
server (the page's coordinates, its recording, its request) loses nothing of the digit. And it
must read the digits themselves well: a check against the labels, with a bound far below the
measured accuracy (README), so that only a broken page fails it.

    pytest -m browser tests/test_browser_unipen.py
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from test_browser import (  # noqa: F401  (fixtures, used by name)
    LAPTOP,
    PHONE,
    answer,
    browser,
    draw_with_finger,
    draw_with_mouse,
    open_page,
    server,
)

from digits.canvas import place_strokes
from training.unipen import load_unipen

pytestmark = pytest.mark.browser
PER_DIGIT = 2  # digits of each class replayed per device


def replayed_digits(unipen_dir, seed: int):
    """PER_DIGIT test digits of each class, with where they go on the canvas (fractions)."""
    rng = np.random.default_rng(seed)
    digits = load_unipen(unipen_dir, "test")
    chosen = []
    for label in range(10):
        of_label = [d for d in digits if d.label == label]
        for i in rng.choice(len(of_label), PER_DIGIT, replace=False):
            size, where = rng.uniform(0.4, 0.9), rng.uniform(0, 1, 2)
            placed = place_strokes(of_label[i].strokes, 1, size, 0.05, where=where)
            chosen.append((of_label[i], [stroke.tolist() for stroke in placed]))
    return chosen


def api_digit(server_url: str, strokes) -> int:
    body = json.dumps({"strokes": [s.tolist() for s in strokes]}).encode()
    request = urllib.request.Request(server_url + "/api/predict", body,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["digit"]


@pytest.mark.parametrize("device, seed", [("laptop", 0), ("phone", 1)])
def test_real_writers_digits_replayed_on_the_page_are_read_as_the_api_reads_them(
        open_page, server, unipen_dir, device, seed):  # noqa: F811
    page = open_page(LAPTOP if device == "laptop" else PHONE, f"unipen-{device}")
    draw = draw_with_mouse if device == "laptop" else draw_with_finger
    agree = correct = 0
    chosen = replayed_digits(unipen_dir, seed)
    for digit, strokes in chosen:
        page.click("#clear")
        draw(page, strokes, steps=1)
        seen = answer(page)
        agree += seen == api_digit(server, digit.strokes)
        correct += seen == digit.label
    assert agree >= len(chosen) - 1, f"the page read {agree} of {len(chosen)} as the API did"
    assert correct >= 0.85 * len(chosen), f"{correct} of {len(chosen)} read right"
