"""Take the page's screenshots that docs/ and the README show: a number with its digits' boxes.

    python -m scripts.page_screenshots                   # -> docs/screenshot-*.png
    python -m scripts.page_screenshots --number 47 --out /tmp/shots

Starts `serve.py` on a free port (the committed weights, a throwaway database), opens Debian's
Chromium through Playwright, and writes the number with one UNIPEN *train* writer's own digits
(the first writer whose digits /api/read reads as that number on a laptop's canvas and on a
phone's), side by side as a person writes a number: with the mouse on a 1280x800 laptop, with a
finger on phones. The second digit is chosen (its box, its bars, its correction), as a person
who taps it sees the page. Writes laptop, inside (Look inside open), phone (390x844), dark,
forced-colours and 320 (320x568) PNGs.

What this is not: a test (tests/test_browser_numbers.py draws numbers the same way).
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from pathlib import Path

import numpy as np

from scripts._page import LAPTOP, PHONE, REPO, SMALL, chromium, draw, serving
from training.unipen import load_unipen, resolve_unipen_dir

NUMBER = "2026"
SHOTS = {  # name: (device, extra context options, Look inside open)
    "laptop": (LAPTOP, {}, False),
    "inside": (LAPTOP, {}, True),
    "phone": (PHONE, {}, False),
    "dark": (LAPTOP, {"color_scheme": "dark"}, False),
    "forced-colours": (LAPTOP, {"forced_colors": "active"}, False),
    "320": (SMALL, {}, False),
}


def side_by_side(digits, width: float, height: float) -> list[list[tuple[float, float]]]:
    """Digits' strokes (any units, y down) written left to right on a width x height canvas,
    in canvas fractions: each digit 50% of the canvas tall, a gap of a third of that between
    them, the whole centred (and made smaller if it would not fit in 90% of the width)."""
    tall = 0.5 * height
    placed, x = [], 0.0
    for strokes in digits:
        points = np.concatenate([np.asarray(s, dtype=float) for s in strokes])
        low, extent = points.min(axis=0), np.ptp(points, axis=0)
        scale = tall / max(extent[1], 1e-9)
        placed.append([(np.asarray(s, dtype=float) - low) * scale + [x, 0] for s in strokes])
        x += extent[0] * scale + tall / 3
    total = x - tall / 3
    shrink = min(1.0, 0.9 * width / total)
    left, top = (width - total * shrink) / 2, (height - tall * shrink) / 2
    return [[((left + px * shrink) / width, (top + py * shrink) / height) for px, py in stroke]
            for strokes in placed for stroke in strokes]


def api_read(url: str, strokes, width: float, height: float) -> dict:
    """POST /api/read of canvas-fraction strokes as a width x height canvas sends them."""
    sent = [[[x * width, y * height] for x, y in stroke] for stroke in strokes]
    request = urllib.request.Request(url + "/api/read", json.dumps({"strokes": sent}).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def writers_number(url: str, unipen_dir: Path, number: str):
    """The strokes of one train writer's digits that read as `number` on both canvases."""
    by_writer: dict[str, list] = {}
    for digit in load_unipen(unipen_dir, "train"):
        by_writer.setdefault(digit.writer, []).append(digit)
    for digits in by_writer.values():
        pools = {d: [x.strokes for x in digits if x.label == int(d)] for d in set(number)}
        if any(len(pools[d]) < number.count(d) for d in pools):
            continue
        taken = {d: 0 for d in pools}
        chosen = []
        for d in number:
            chosen.append(pools[d][taken[d]])
            taken[d] += 1
        if all(api_read(url, side_by_side(chosen, w, h), w, h)["number"] == number
               for w, h in [(720, 480), (370, 370)]):
            return chosen
    raise SystemExit(f"no UNIPEN train writer's digits read as {number}: try another --number")


def shoot(browser, url: str, digits, name: str, out: Path) -> Path:
    device, extra, inside = SHOTS[name]
    context = browser.new_context(reduced_motion="reduce", **device, **extra)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector('#prediction[data-status="empty"]')
    box = page.locator("#canvas").bounding_box()
    draw(page, side_by_side(digits, box["width"], box["height"]), device.get("has_touch", False))
    page.wait_for_selector('#prediction[data-status="done"]', timeout=30_000)
    page.locator('#number-digits button[data-index="1"]').click()  # choose the second digit
    page.wait_for_selector('#number-digits button[aria-pressed="true"][data-index="1"]')
    page.evaluate("document.activeElement.blur()")  # no focus ring in the picture
    if inside:
        page.click("#inside > summary")
        page.wait_for_selector('#inside[data-status="done"]', timeout=60_000)
        page.evaluate("document.activeElement.blur()")
    else:
        page.evaluate("window.scrollTo(0, 0)")  # choosing may have scrolled a small phone
    page.wait_for_timeout(300)  # the bars' transition
    path = out / f"screenshot-{name}.png"
    page.screenshot(path=str(path))
    context.close()
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", default=NUMBER, help="the digits to write (default 2026)")
    parser.add_argument("--out", default=str(REPO / "docs"), help="the folder for the PNGs")
    parser.add_argument("--unipen-dir", default=None, help="UNIPEN's folder (else $UNIPEN_DIR)")
    args = parser.parse_args(argv)
    if not args.number.isdigit() or len(args.number) < 2:
        parser.error("--number: two or more digits, such as 2026")
    unipen_dir = resolve_unipen_dir(args.unipen_dir)
    if unipen_dir is None:
        parser.error("UNIPEN is needed: --unipen-dir or $UNIPEN_DIR")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with serving() as url, chromium() as browser:
        digits = writers_number(url, unipen_dir, args.number)
        for name in SHOTS:
            print(shoot(browser, url, digits, name, out))

if __name__ == "__main__":
    main()
