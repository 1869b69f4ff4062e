"""What does the "Look inside" panel cost? Time and bytes of an explanation, and why PNG grids.

    python -m scripts.bench_explain                       # in this process, committed weights
    python -m scripts.bench_explain --url http://127.0.0.1:8080   # a running serve.py, over HTTP

In this process: web.explain.Explainer.explain for the page's drawn 7 (its strokes
preprocessed as the server does), median and 90th percentile; the size of the JSON answer; and
the feature maps and filters it shows encoded four ways: as one PNG grid per layer (what is
sent), one PNG per map, base64 bytes, and JSON numbers, with the CPU time each encoding takes.

With --url: POST /api/explain and POST /api/predict to that server, one request at a time, and
/api/predict again while a second client asks /api/explain without pause, so you see whether the
panel slows the answers down. Times are wall-clock on a shared machine: compare, don't quote.
This is a measurement, never a test.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import threading
import time
import urllib.request

import numpy as np
from PIL import Image

import nn
from digits.canvas import scale_strokes
from digits.preprocess import preprocess_strokes
from web.explain import Explainer, grid
from web.neighbours import BackgroundIndex

SEVEN = [[(0.28, 0.20), (0.72, 0.20), (0.45, 0.85)]]  # a "7" in canvas fractions


def strokes_body() -> bytes:
    strokes = [s.tolist() for s in scale_strokes(SEVEN, 280)]
    return json.dumps({"strokes": strokes, "pen": 15.4}).encode()


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1e3
    return f"median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms"


def timed(fn, repeats: int) -> tuple[list[float], list[float], object]:
    """Wall-clock and CPU seconds of each call (the process's, all threads: the explainer works
    in a thread of its own; CPU time hardly depends on what else the machine runs), and the
    last result."""
    fn()  # warm up: numba compiles on first use
    wall, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu, result


def in_process(weights: str, repeats: int) -> None:
    model = nn.load(weights)
    index = BackgroundIndex(model, weights).start().join()
    explainer = Explainer(model, index)
    x = preprocess_strokes(json.loads(strokes_body())["strokes"])
    wall, cpu, answer = timed(lambda: explainer.explain(x), repeats)
    body = json.dumps(answer)
    print(f"explain(x): {percentiles(wall)} (CPU: {percentiles(cpu)}); answer {len(body):,} "
          f"bytes of JSON (neighbours: {answer['neighbours']['status']})")

    outputs = model.activations(x[None, None])
    maps = [outputs[1][0], outputs[4][0], model.layers[0].params["w"][:, 0]]
    levels = [np.round(np.clip(m / np.abs(m).max(), 0, 1) * 254).astype(np.uint8) for m in maps]

    def png(a):
        buffer = io.BytesIO()
        Image.fromarray(a, "L").save(buffer, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    encodings = {
        "one PNG grid per layer (sent)": lambda: [png(grid(m)) for m in levels],
        "one PNG per map": lambda: [png(tile) for m in levels for tile in m],
        "base64 bytes": lambda: [base64.b64encode(m.tobytes()).decode() for m in levels],
        "JSON numbers (3 decimals)": lambda: [np.round(m / 254, 3).tolist() for m in levels],
    }
    print("the maps of both layers and the filters, encoded:")
    for name, encode in encodings.items():
        _, cpu, encoded = timed(encode, 20)
        print(f"  {name:32} {len(json.dumps(encoded)):>9,} bytes  {np.median(cpu) * 1e3:6.2f} ms")


def post(url: str, body: bytes) -> tuple[float, int]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        size = len(response.read())
    return time.perf_counter() - start, size


def over_http(base: str, repeats: int) -> None:
    body = strokes_body()
    for path in ("/api/explain", "/api/predict"):
        results = [post(base + path, body) for _ in range(repeats)]
        print(f"POST {path}: {percentiles([t for t, _ in results])}, {results[-1][1]:,} bytes")
    busy = threading.Event()

    def explain_without_pause():
        while not busy.is_set():
            post(base + "/api/explain", body)

    other = threading.Thread(target=explain_without_pause, daemon=True)
    other.start()
    try:
        during = [post(base + "/api/predict", body)[0] for _ in range(repeats)]
    finally:
        busy.set()
        other.join()
    print(f"POST /api/predict while another client asks /api/explain: {percentiles(during)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="weights/mnist_cnn.npz")
    parser.add_argument("--url", help="a running serve.py, e.g. http://127.0.0.1:8080")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    if args.url:
        over_http(args.url.rstrip("/"), args.repeats)
    else:
        in_process(args.weights, args.repeats)


if __name__ == "__main__":
    main()
