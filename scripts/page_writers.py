"""Real writers' digits drawn on the page, as a person would: does the page read what the API reads?

    python -m scripts.page_writers                       # 10 test digits of each class and source
    python -m scripts.page_writers --per-class 30 --device phone --json

Starts `serve.py` on a free port (the committed weights, a throwaway database), opens Debian's
Chromium through Playwright and, for each of the UNIPEN and pendigits *test* writers' digits
chosen (seeded, the same classes in each source), draws it on the page's canvas point by point
as pointer events (the mouse on a 1280x800 laptop, or a finger on a 390x844 phone), 40-90% of the
canvas's height, anywhere on it. It reads what the page shows (#prediction), and posts the
writer's own strokes to /api/read and /api/predict. It prints, per source: the page's accuracy,
/api/read's and /api/predict's on the same digits, how often the page and /api/read agree, and
the digits where they do not. Whatever the page does between a pointer event and the server (its
coordinates, its recording of strokes, its request) should lose nothing of the digit.

What this is not: a test (tests/test_browser_unipen.py replays a few digits and fails on a page
that loses them) or a way to choose settings (test writers are for measuring only).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

import numpy as np

from digits.canvas import place_strokes
from scripts._page import LAPTOP, PHONE, chromium, draw, serving
from training.pendigits import resolve_pendigits_dir
from training.unipen import load_unipen, resolve_unipen_dir

DEVICES = {"laptop": LAPTOP, "phone": PHONE}


def on_canvas(strokes, width: float, height: float, rng) -> list[list[tuple[float, float]]]:
    """A digit's strokes (any units, y down) placed as a person might draw it on a width x
    height canvas, 40-90% of its height, anywhere: canvas fractions."""
    side = min(width, height)
    placed = place_strokes(strokes, side, rng.uniform(0.4, 0.9), 0.05 * side,
                           where=rng.uniform(0, 1, 2))
    left, top = rng.uniform(0, 1) * (width - side), rng.uniform(0, 1) * (height - side)
    return [[((left + x) / width, (top + y) / height) for x, y in stroke] for stroke in placed]


def api(url: str, path: str, strokes) -> dict:
    body = json.dumps({"strokes": [np.asarray(s).tolist() for s in strokes]}).encode()
    request = urllib.request.Request(url + path, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def chosen_digits(folder: Path, per_class: int, rng) -> list:
    digits = load_unipen(folder, "test")
    out = []
    for label in range(10):
        of_label = [d for d in digits if d.label == label]
        out += [of_label[i] for i in rng.choice(len(of_label), min(per_class, len(of_label)),
                                                replace=False)]
    return out


def run(page, url: str, digits, touch: bool, rng) -> dict:
    rows = []
    for digit in digits:
        page.click("#clear")
        page.wait_for_selector('#prediction[data-status="empty"]')
        box = page.locator("#canvas").bounding_box()
        draw(page, on_canvas(digit.strokes, box["width"], box["height"], rng), touch)
        page.wait_for_selector('#prediction[data-status="done"]', timeout=30_000)
        rows.append({"writer": digit.writer, "label": int(digit.label),
                     "page": page.locator("#prediction").inner_text().strip(),
                     "read": api(url, "/api/read", digit.strokes)["number"],
                     "predict": str(api(url, "/api/predict", digit.strokes)["digit"])})
    truth = [str(r["label"]) for r in rows]
    share = lambda key: float(np.mean([r[key] == t for r, t in zip(rows, truth)]))  # noqa: E731
    return {"n": len(rows), "page": share("page"), "read": share("read"),
            "predict": share("predict"),
            "page_agrees_with_read": float(np.mean([r["page"] == r["read"] for r in rows])),
            "disagree": [r for r in rows if r["page"] != r["read"]]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=10,
                        help="test digits of each class from each source (default 10)")
    parser.add_argument("--device", choices=DEVICES, default="laptop",
                        help="laptop: the mouse; phone: a finger (default laptop)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unipen-dir", default=None, help="default $UNIPEN_DIR, else "
                        "data/unipen/ or ../shared/unipen/")
    parser.add_argument("--pendigits-dir", default=None, help="default $PENDIGITS_DIR, else "
                        "data/pendigits/ or ../shared/pendigits/")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    sources = {name: folder for name, folder in
               (("UNIPEN", resolve_unipen_dir(args.unipen_dir)),
                ("pendigits", resolve_pendigits_dir(args.pendigits_dir)))
               if folder is not None and (folder / "test.jsonl.gz").is_file()}
    if not sources:
        parser.error("no writers: pass --unipen-dir or --pendigits-dir")
    rng = np.random.default_rng(args.seed)
    device = DEVICES[args.device]
    report = {"device": args.device, "seed": args.seed, "sources": {}}
    with serving() as url, chromium() as browser:
        page = browser.new_context(reduced_motion="reduce", **device).new_page()
        page.goto(url + "/")
        for name, folder in sources.items():
            digits = chosen_digits(folder, args.per_class, rng)
            r = run(page, url, digits, device.get("has_touch", False), rng)
            report["sources"][name] = r
            print(f"{name} test writers, {r['n']} digits drawn on the page ({args.device}): "
                  f"page {r['page']:.1%}, /api/read {r['read']:.1%}, /api/predict "
                  f"{r['predict']:.1%}; the page agrees with /api/read on "
                  f"{r['page_agrees_with_read']:.1%}", flush=True)
            for d in r["disagree"]:
                print(f"  {d['writer']} {d['label']}: page {d['page'] or '-'}, /api/read "
                      f"{d['read'] or '-'}, /api/predict {d['predict']}")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
