"""The page, served and opened in headless Chromium, for the scripts that draw on it as people do.

    with serving() as url, chromium() as browser:
        page = browser.new_context(**LAPTOP).new_page()
        page.goto(url + "/")
        draw(page, strokes, touch=False)    # canvas-fraction strokes as pointer events

What this is not: the tests' fixtures (tests/test_browser.py has its own, with pytest's life
cycle). Shared by scripts/page_screenshots.py and scripts/page_writers.py, not a script itself.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
SMALL = {"viewport": {"width": 320, "height": 568}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@contextmanager
def serving():
    """The URL of serve.py on a free port (the committed weights, a throwaway database), stopped
    afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "serve.py", "--port", "0", "--db", str(Path(tmp) / "d.sqlite")],
            cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            line = server.stdout.readline()  # serve.py prints the URL once the model is loaded
            if "http://" not in line:
                raise SystemExit(f"serve.py did not start: {line!r}")
            yield "http://" + line.split("http://")[1].split("/")[0]
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def chromium():
    """Debian's headless Chromium through Playwright (a test tool: only the page scripts need
    it), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def draw(page, strokes, touch: bool) -> None:
    """Canvas-fraction strokes drawn as pointer events: the mouse, or touches through CDP."""
    box = page.locator("#canvas").bounding_box()

    def at(x, y):
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    cdp = page.context.new_cdp_session(page) if touch else None
    for stroke in strokes:
        if touch:
            for i, (x, y) in enumerate(stroke):
                px, py = at(x, y)
                cdp.send("Input.dispatchTouchEvent", {
                    "type": "touchStart" if i == 0 else "touchMove",
                    "touchPoints": [{"x": px, "y": py, "radiusX": 4, "radiusY": 4}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        else:
            page.mouse.move(*at(*stroke[0]))
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(*at(x, y))
            page.mouse.up()
    if cdp is not None:
        cdp.detach()
