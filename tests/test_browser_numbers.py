"""Numbers on the page: a real writer's three digits drawn side by side, with the mouse on a
laptop and with a finger on a phone, read through POST /api/read as one 3-digit number with a
box over each digit; one digit tapped, then corrected alone.

The digits are a UNIPEN *train* writer's own (a test needs real strokes, not the test writers
kept for measuring), placed as a person writes a number: the same height, a small gap between
digits, in the middle of the canvas (scripts.page_screenshots.side_by_side, which the docs'
screenshots use too).

    pytest -m browser tests/test_browser_numbers.py
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_browser import (  # noqa: F401  (fixtures, used by name)
    LAPTOP,
    PHONE,
    browser,
    draw_with_finger,
    draw_with_mouse,
    ink_stats,
    open_page,
    server,
)

from scripts.page_screenshots import side_by_side
from training.unipen import load_unipen

pytestmark = pytest.mark.browser
ANSWER_TIMEOUT_MS = 20_000


def api_read(server_url: str, strokes, width: float, height: float) -> dict:
    sent = [[[x * width, y * height] for x, y in stroke] for stroke in strokes]
    body = json.dumps({"strokes": sent}).encode()
    request = urllib.request.Request(server_url + "/api/read", body,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def number(server, unipen_dir):  # noqa: F811
    """(digits, labels): three digits of one UNIPEN train writer, different labels, that the
    API reads as that number on a laptop's canvas and on a phone's. The first such three."""
    by_writer: dict[str, list] = {}
    for digit in load_unipen(unipen_dir, "train"):
        by_writer.setdefault(digit.writer, []).append(digit)
    for digits in by_writer.values():
        three = list({d.label: d for d in digits[:12]}.values())[:3]  # each label's last of 12
        if len(three) < 3:
            continue
        labels = "".join(str(d.label) for d in three)
        strokes = [d.strokes for d in three]
        if all(api_read(server, side_by_side(strokes, w, h), w, h)["number"] == labels
               for w, h in [(720, 480), (370, 370)]):
            return strokes, labels
    raise AssertionError("no UNIPEN train writer has three digits the API reads as a number")


def mine(server_url: str, person: str) -> dict:
    request = urllib.request.Request(server_url + "/api/drawings/mine",
                                     headers={"X-Person": person})
    with urllib.request.urlopen(request, timeout=10) as res:
        return json.load(res)


def box_centre(page, index: int):
    box = page.locator(f'#boxes .box[data-index="{index}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_a_number_drawn_side_by_side_is_read_boxed_and_one_digit_corrected(
        open_page, server, number, device):  # noqa: F811
    strokes, labels = number
    page = open_page(LAPTOP if device == "laptop" else PHONE, f"number-{device}")
    canvas = page.locator("#canvas").bounding_box()
    drawn = side_by_side(strokes, canvas["width"], canvas["height"])
    draw = draw_with_mouse if device == "laptop" else draw_with_finger
    draw(page, drawn, steps=1, square=False)
    page.wait_for_selector('#prediction[data-status="done"]', timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#prediction").inner_text() == labels  # a 3-character number
    assert page.locator("#boxes .box").count() == 3
    assert page.locator("#number-digits button").all_inner_texts() == list(labels)
    boxes = [page.locator(f'#boxes .box[data-index="{i}"]').bounding_box() for i in range(3)]
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)  # left to right ...
    for box in boxes:  # ... each over the canvas
        assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas[
            "width"] + 1

    # Tap the middle digit: chosen, its bars shown, and no ink added.
    ink = ink_stats(page)[2]
    if device == "laptop":
        page.mouse.click(*box_centre(page, 1))
    else:
        page.wait_for_timeout(600)  # a finger takes a moment to come back
        page.touchscreen.tap(*box_centre(page, 1))
    page.wait_for_selector('#number-digits button[aria-pressed="true"][data-index="1"]')
    page.wait_for_selector('#prediction[data-status="done"]')
    assert page.locator("#prediction").inner_text() == labels  # the tap drew nothing
    assert page.locator("#message").inner_text().startswith("Digit 2 of 3:")
    assert page.locator("#probabilities .bar.best").get_attribute("data-digit") == labels[1]
    assert page.locator("#confirm").inner_text() == f"Yes, a{'n' if labels[1] == '8' else ''} " \
        f"{labels[1]}"
    assert ink_stats(page)[2] == ink

    # Correct that digit: only its strokes go, with the label picked.
    label = (int(labels[1]) + 5) % 10
    person = page.evaluate("localStorage.getItem('person')")
    with page.expect_request("**/api/drawings") as sent:
        if device == "laptop":
            page.click(f'#teach-digits button[data-label="{label}"]')
        else:
            page.tap(f'#teach-digits button[data-label="{label}"]')
    page.wait_for_selector('#teach[data-state="saved"]')
    body = sent.value.post_data_json
    assert len(body["strokes"]) == len(strokes[1])  # the middle digit's strokes, no other's
    xs = [x for stroke in body["strokes"] for x, _ in stroke]
    left = boxes[1]["x"] - canvas["x"]  # its box, in the canvas's CSS pixels
    assert left - 1 <= min(xs) and max(xs) <= left + boxes[1]["width"] + 1
    assert (body["label"], body["predicted"]) == (label, int(labels[1]))
    kept = mine(server, person)
    assert kept["count"] == 1 and [d["label"] for d in kept["drawings"]] == [label]
