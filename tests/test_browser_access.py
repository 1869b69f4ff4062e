"""The page for everyone, in a real browser: axe-core's audit in every state and mode, and the
things an audit cannot see (focus ring contrast computed from the styles, text sizes, the canvas
staying in view with Look inside open, layouts on small phones, the keys, "an 8", gzip).

axe-core is npm's package, installed by `make axe` (build/axe/, pinned in the Makefile) and
injected into audit contexts only, which bypass the page's Content-Security-Policy to run it;
every other test keeps the CSP.

    pytest -m browser tests/test_browser_access.py
"""

from __future__ import annotations

import gzip
import io
import os
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import test_browser
from PIL import Image
from test_browser import (
    ARTIFACTS,
    DIGITS,
    LAPTOP,
    PHONE,
    ZIGZAG,
    answer,
    draw_with_finger,
    draw_with_mouse,
    ink_stats,
)
from test_browser_numbers import number, side_by_side  # noqa: F401  (a fixture, used by name)

from conftest import dense, in_box

# the fixtures of tests/test_browser.py: its server, its Chromium, its pages
browser, server, open_page = test_browser.browser, test_browser.server, test_browser.open_page
laptop = test_browser.laptop

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
AXE = Path(os.environ.get("AXE_JS", ROOT / "build/axe/node_modules/axe-core/axe.min.js"))
SMALL_PHONE = {"viewport": {"width": 320, "height": 568}, "device_scale_factor": 2,
               "is_mobile": True, "has_touch": True}
LANDSCAPE = {"viewport": {"width": 844, "height": 390}, "device_scale_factor": 3,
             "is_mobile": True, "has_touch": True}
_t = np.linspace(0, 2 * np.pi, 80)
_figure_eight = [list(zip(0.5 + 0.24 * np.sin(2 * _t), 0.5 - 0.5 * np.cos(_t), strict=True))]
EIGHT = [dense(stroke, 0.01) for stroke in in_box(_figure_eight, 0.18, 0.15, 0.64)]  # one stroke


# ------------------------------------------------------------------------------ axe-core


def audit(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


MODES = {
    "laptop": LAPTOP,
    "phone": PHONE,
    "small-phone": SMALL_PHONE,
    "laptop-dark": {**LAPTOP, "color_scheme": "dark"},
    "phone-dark": {**PHONE, "color_scheme": "dark"},
    "laptop-forced-colours": {**LAPTOP, "forced_colors": "active"},
    "phone-forced-colours": {**PHONE, "forced_colors": "active"},
}


@pytest.mark.parametrize("mode", MODES)
def test_axe_finds_nothing_serious_in_any_state(browser, server, mode):
    assert AXE.is_file(), f"{AXE} is missing: `make axe` installs axe-core (npm)"
    device = MODES[mode]
    context = browser.new_context(bypass_csp=True, reduced_motion="reduce", **device)
    page = context.new_page()
    draw = draw_with_finger if device.get("has_touch") else draw_with_mouse
    found = {}
    try:
        page.goto(server + "/")
        page.wait_for_selector('#prediction[data-status="empty"]')
        found["empty"] = audit(page)
        draw(page, DIGITS[7])
        answer(page)
        found["after a digit"] = audit(page)
        page.locator("#teach-digits button[data-label='1']").focus()
        found["correcting"] = audit(page)
        page.locator("#teach-digits button[data-label='1']").click()
        page.wait_for_selector('#teach[data-state="saved"]')
        answer(page)
        found["corrected"] = audit(page)
        page.click("#inside > summary")
        page.wait_for_selector('#inside[data-status="done"]', timeout=20_000)
        found["look inside open"] = audit(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"axe-{mode}.png"), full_page=True)
    finally:
        context.close()
    assert {state: v for state, v in found.items() if v} == {}


# A number's states in the widest and narrowest layouts and each colour scheme once: the states
# of a single digit above go through all seven.
NUMBER_MODES = ["laptop", "small-phone", "phone-dark", "laptop-forced-colours"]


@pytest.mark.parametrize("mode", NUMBER_MODES)
def test_axe_finds_nothing_serious_with_a_number_or_not_a_digit(
        browser, server, number, mode):  # noqa: F811
    device = MODES[mode]
    context = browser.new_context(bypass_csp=True, reduced_motion="reduce", **device)
    page = context.new_page()
    draw = draw_with_finger if device.get("has_touch") else draw_with_mouse
    strokes, labels = number
    found = {}
    try:
        page.goto(server + "/")
        page.wait_for_selector('#prediction[data-status="empty"]')
        canvas = page.locator("#canvas").bounding_box()
        draw(page, side_by_side(strokes, canvas["width"], canvas["height"]), steps=1,
             square=False)
        page.wait_for_selector('#prediction[data-status="done"]', timeout=20_000)
        assert page.locator("#boxes .box").count() == len(labels)
        found["boxes shown"] = audit(page)
        page.locator('#number-digits button[data-index="1"]').click()
        page.wait_for_selector('#number-digits button[aria-pressed="true"][data-index="1"]')
        found["a digit chosen"] = audit(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"axe-number-{mode}.png"), full_page=True)
        page.click("#clear")
        page.evaluate("window.scrollTo(0, 0)")  # choosing scrolled a phone to the digits' row
        draw(page, ZIGZAG)
        page.wait_for_selector('.result[data-reading="not-a-digit"]', timeout=20_000)
        assert "doesn't look like a digit" in page.locator("#message").inner_text()
        found["not a digit"] = audit(page)
    finally:
        context.close()
    assert {state: v for state, v in found.items() if v} == {}


def test_a_number_s_digits_are_chosen_by_keyboard_and_named(
        browser, server, number):  # noqa: F811
    context = browser.new_context(**LAPTOP)
    page = context.new_page()
    strokes, labels = number
    try:
        page.goto(server + "/")
        page.wait_for_selector('#prediction[data-status="empty"]')
        canvas = page.locator("#canvas").bounding_box()
        draw_with_mouse(page, side_by_side(strokes, canvas["width"], canvas["height"]),
                        steps=1, square=False)
        page.wait_for_selector('#prediction[data-status="done"]', timeout=20_000)
        group = page.get_by_role("group", name="The digits read: choose one to see and correct it")
        names = [b.get_attribute("aria-label") for b in group.get_by_role("button").all()]
        assert names == [f"Digit {i + 1} of 3: {d}" for i, d in enumerate(labels)]
        first = group.get_by_role("button").first
        assert first.get_attribute("aria-pressed") == "true"  # the first digit, at first
        for _ in range(40):  # Tab to the third digit, choose it with Enter
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.index") == "2":
                break
        page.keyboard.press("Enter")
        page.wait_for_selector('#number-digits button[aria-pressed="true"][data-index="2"]')
        assert page.evaluate("document.activeElement.dataset.index") == "2"  # focus kept
        assert page.locator("#message").inner_text().startswith("Digit 3 of 3:")
        assert page.locator("#boxes .box.chosen").get_attribute("data-index") == "2"
    finally:
        context.close()


# ------------------------------------------------------------------------------ what axe cannot see


def contrast(a, b) -> float:
    """WCAG contrast ratio of two sRGB colours given as (r, g, b) in 0..255."""
    def luminance(rgb):
        c = np.asarray(rgb, dtype=float) / 255
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted([luminance(a), luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


FOCUS_RING = """() => {
    const el = document.activeElement;
    // a pen's radio button is invisible: its ring is drawn on the pen beside it
    const ring = el.matches(".pens input") ? el.nextElementSibling : el;
    const style = getComputedStyle(ring);
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
    let behind = ring.parentElement;  // the ring lies outside the element, on its parent's colour
    while (behind && (getComputedStyle(behind).backgroundColor === "rgba(0, 0, 0, 0)"
                      || getComputedStyle(behind).backgroundColor === "transparent")) {
        behind = behind.parentElement;
    }
    const background = behind ? getComputedStyle(behind).backgroundColor
                              : getComputedStyle(document.documentElement).backgroundColor;
    return {name: el.id || el.dataset.label || el.value || el.tagName, style: style.outlineStyle,
            width: parseFloat(style.outlineWidth), colour: rgb(style.outlineColor),
            background: rgb(background)};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_ring_has_3_to_1_contrast_on_every_control(open_page, scheme):
    page = open_page({**LAPTOP, "color_scheme": scheme}, f"laptop-{scheme}")
    draw_with_mouse(page, DIGITS[7])
    answer(page)  # the corrections' buttons are enabled now
    page.evaluate("document.activeElement.blur()")
    rings = {}
    for _ in range(25):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring["name"] != "BODY":  # past the last control
            rings[ring["name"]] = ring
    assert {"medium", "undo", "clear", "predict", "confirm", "7", "SUMMARY"} <= set(rings)
    for name, ring in rings.items():
        assert ring["style"] != "none" and ring["width"] >= 2, name
        assert ring["colour"][3:] in ([], [1]), name  # opaque
        assert contrast(ring["colour"][:3], ring["background"][:3]) >= 3, (name, ring)


def visible_text_sizes(page) -> dict[str, float]:
    """The computed font size of every element that shows text of its own, keyed by a name."""
    return page.evaluate("""() => {
        const sizes = {};
        for (const el of document.querySelectorAll("body *")) {
            const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
            const box = el.getBoundingClientRect();
            if (!own || box.width < 2 || box.height < 2) continue;  // hidden or visually hidden
            const name = `${el.tagName.toLowerCase()}.${el.className || el.id}`;
            const size = parseFloat(getComputedStyle(el).fontSize);
            sizes[name] = Math.min(size, sizes[name] ?? size);
        }
        return sizes;
    }""")


@pytest.mark.parametrize("device", ["phone", "small-phone"])
def test_no_text_under_12px_on_a_phone(open_page, device):
    page = open_page(PHONE if device == "phone" else SMALL_PHONE, device)
    draw_with_finger(page, DIGITS[4])
    answer(page)
    sizes = visible_text_sizes(page)
    assert "span.pct" in sizes  # the percentages above the bars
    assert {name: size for name, size in sizes.items() if size < 12} == {}


def test_small_phone_shows_the_answer_above_the_fold(open_page):
    page = open_page(SMALL_PHONE, "320x568")
    draw_with_finger(page, DIGITS[7])
    assert answer(page) == 7
    assert page.evaluate("window.scrollY") == 0
    for selector in ["#canvas", "#undo", "#clear", "#predict", "#prediction", "#message"]:
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 568, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320, selector


def test_phone_landscape_shows_every_bar_whole(open_page):
    page = open_page(LANDSCAPE, "844x390")
    draw_with_finger(page, DIGITS[1])
    assert answer(page) == 1
    assert page.evaluate("window.scrollY") == 0
    for selector in ["#canvas", "#prediction", "#probabilities"]:
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 390, selector


@pytest.mark.parametrize("device", ["laptop", "phone", "small-phone"])
def test_nothing_moves_when_the_answer_appears(open_page, device):
    page = open_page({"laptop": LAPTOP, "phone": PHONE, "small-phone": SMALL_PHONE}[device],
                     device)
    boxes = "() => ['#prediction', '.answer', '.result', '#probabilities', '#canvas'].map(" \
            "(s) => { const b = document.querySelector(s).getBoundingClientRect();" \
            " return [s, Math.round(b.y), Math.round(b.height)]; })"
    before = page.evaluate(boxes)
    draw = draw_with_mouse if device == "laptop" else draw_with_finger
    draw(page, DIGITS[0])
    answer(page)
    assert page.evaluate(boxes) == before


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080), (1024, 768)])
def test_look_inside_opens_beside_the_canvas_which_stays_in_view(open_page, size):
    width, height = size
    page = open_page({"viewport": {"width": width, "height": height}}, f"{width}x{height}")
    draw_with_mouse(page, DIGITS[4])
    answer(page)
    page.click("#inside > summary")
    page.wait_for_selector('#inside[data-status="done"]', timeout=20_000)
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") == 0  # opening it moved nothing
    for selector in ["#canvas", "#prediction"]:
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, selector
    page.locator("#inside-conv2").scroll_into_view_if_needed()  # reading down the panel ...
    canvas = page.locator("#canvas").bounding_box()
    assert canvas["y"] >= 0 and canvas["y"] + canvas["height"] <= height  # ... the canvas stays
    inside = page.locator("#inside").bounding_box()
    assert inside["x"] >= canvas["x"] + canvas["width"]  # beside it, not under it
    page.click("#clear")
    draw_with_mouse(page, DIGITS[1])  # and one can draw while watching it
    assert answer(page) == 1
    page.wait_for_selector('#inside[data-status="done"]', timeout=20_000)
    assert "for this 1" in page.locator("#inside-message").inner_text()


def test_backspace_removes_the_last_stroke_and_delete_clears(laptop):
    draw_with_mouse(laptop, DIGITS[4][:1])
    laptop.wait_for_selector('#prediction[data-status="done"]')  # one stroke: not a digit
    first_stroke_ink = ink_stats(laptop)[2]
    draw_with_mouse(laptop, DIGITS[4][1:])
    assert answer(laptop) == 4
    laptop.keyboard.press("Backspace")  # only the second stroke of the 4 goes
    laptop.wait_for_selector('#prediction[data-status="done"]')
    assert ink_stats(laptop)[2] == first_stroke_ink
    laptop.keyboard.press("Backspace")
    assert laptop.locator("#prediction").get_attribute("data-status") == "empty"
    assert ink_stats(laptop)[2] == 0
    for key in ["Delete", "c", "Escape"]:
        draw_with_mouse(laptop, DIGITS[4])
        answer(laptop)
        laptop.keyboard.press(key)
        assert ink_stats(laptop)[2] == 0, key
    footer = laptop.locator("footer.keys").inner_text()
    assert "Backspace undo the last stroke" in footer and "Delete" in footer


def test_enter_on_an_empty_canvas_agrees_that_lifting_the_pen_reads_it(laptop):
    hint = laptop.locator(".hint").inner_text()
    assert "reads it when you lift your pen" in hint
    laptop.keyboard.press("Enter")
    message = laptop.locator("#message").inner_text()
    assert "lift your pen" in message and "press" not in message.lower()


def test_an_8_is_an_8_everywhere(laptop):
    draw_with_mouse(laptop, EIGHT)
    assert answer(laptop) == 8
    assert laptop.locator("#message").inner_text().startswith("It looks like an 8")
    assert laptop.locator("#teach-question").inner_text().startswith("Is it an 8?")
    assert laptop.get_by_role("button", name="Yes, an 8", exact=True).is_visible()
    laptop.click("#inside > summary")
    laptop.wait_for_selector('#inside[data-status="done"]', timeout=20_000)
    assert "more of an 8" in laptop.locator("#inside").inner_text()
    laptop.get_by_role("button", name="8", exact=True).click()
    laptop.wait_for_selector('#teach[data-state="saved"]')
    assert laptop.locator("#teach-question").inner_text() == "Saved as an 8. Thank you!"


def test_names_match_the_visible_labels(laptop):
    draw_with_mouse(laptop, DIGITS[7])
    assert answer(laptop) == 7
    assert laptop.locator("#confirm").get_attribute("aria-label") is None
    assert laptop.get_by_role("button", name="Yes, a 7", exact=True).count() == 1
    for d in range(10):  # "click 3" reaches the button that shows 3
        assert laptop.get_by_role("group", name="Or pick the digit you drew").get_by_role(
            "button", name=str(d), exact=True).count() == 1
    bars = laptop.get_by_role("list", name="Probability of each digit")
    assert bars.get_by_role("listitem").count() == 10
    assert laptop.locator("#probabilities").evaluate("el => el.tagName") == "OL"


def test_forced_colours_show_the_chosen_pen_and_the_bars(open_page):
    page = open_page({**LAPTOP, "forced_colors": "active"}, "forced-colours")
    draw_with_mouse(page, DIGITS[7])
    assert answer(page) == 7
    pens = page.evaluate("""() => [...document.querySelectorAll('.pen-dot')].map((el) => {
        const s = getComputedStyle(el), dot = getComputedStyle(el, '::before');
        return [parseFloat(s.borderTopWidth), s.borderTopColor, dot.backgroundColor]; })""")
    chosen, others = pens[1], [pens[0], pens[2]]
    assert all(chosen[:2] != other[:2] for other in others)  # the chosen pen looks different
    assert all(p[2] not in ("rgba(0, 0, 0, 0)", "transparent") for p in pens)  # dots are drawn
    # the best bar's fill, as pixels on screen: most of it unlike the card around it
    fill = page.locator("#probabilities .bar.best .fill").bounding_box()
    shot = Image.open(io.BytesIO(page.screenshot(clip=fill))).convert("RGB")
    card = page.evaluate("getComputedStyle(document.querySelector('.result')).backgroundColor")
    card_rgb = [int(v) for v in card[card.index("(") + 1:card.index(")")].split(",")[:3]]
    pixels = np.asarray(shot).reshape(-1, 3).astype(int)
    assert (np.abs(pixels - card_rgb).sum(axis=1) > 150).mean() > 0.8


def test_dark_theme_follows_the_system(open_page):
    page = open_page({**LAPTOP, "color_scheme": "dark"}, "dark")
    colours = page.evaluate("""() => [document.body, document.querySelector('.paper'),
        document.getElementById('canvas')].map((el) => getComputedStyle(el))
        .map((s) => [s.backgroundColor, s.color])""")
    (body_bg, body_fg), (paper_bg, _), (_, ink) = colours
    rgb = lambda c: [int(v) for v in c[c.index("(") + 1:c.index(")")].split(",")[:3]]  # noqa: E731
    assert sum(rgb(body_bg)) < 150 and sum(rgb(body_fg)) > 500  # light text on dark
    assert contrast(rgb(paper_bg), rgb(ink)) > 7  # the ink stands out from the paper
    draw_with_mouse(page, DIGITS[1])
    assert answer(page) == 1


def test_static_text_is_gzipped_for_clients_that_accept_it(server):
    for path in ["/", "/static/main.js", "/static/style.css"]:
        plain = urllib.request.urlopen(server + path, timeout=10)
        assert plain.headers["Content-Encoding"] is None
        assert plain.headers["Vary"] == "Accept-Encoding"
        body = plain.read()
        request = urllib.request.Request(server + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=10) as zipped:
            assert zipped.headers["Content-Encoding"] == "gzip", path
            assert zipped.headers["Vary"] == "Accept-Encoding"
            data = zipped.read()
            assert int(zipped.headers["Content-Length"]) == len(data) < len(body)
            assert gzip.decompress(data) == body
            assert zipped.headers["ETag"] != plain.headers["ETag"]
    refused = urllib.request.Request(server + "/static/main.js",
                                     headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert urllib.request.urlopen(refused, timeout=10).headers["Content-Encoding"] is None


def test_the_page_describes_itself(server):
    html = urllib.request.urlopen(server + "/", timeout=10).read().decode()
    assert '<meta name="description" content="' in html
    assert '<meta name="color-scheme" content="light dark">' in html
