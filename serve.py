"""serve.py: the drawing page and a small JSON API around the trained network.

Run it:

    python serve.py                      # http://127.0.0.1:8080/
    python serve.py --host 0.0.0.0 --port 8000 --weights weights/mnist_cnn.npz
    python serve.py --db data/drawings.sqlite   # where labelled drawings are kept (the default)

Routes:

    GET  /                 the drawing page (static/index.html)
    GET  /static/<path>    its script, styles and icon
    GET  /api/health       {"status": "ok", "model": "mnist_cnn.npz", ...}
    POST /api/predict      {"strokes": [[[x, y], ...], ...]}  (the page's form)
                        or {"image": "data:image/png;base64,..."}
                        -> {"digit": 7, "probabilities": [10 floats], "input": [28 x 28 floats]}
                           an optional "person" (the page's opaque id) reads it with that person's
                           corrections (digits/adapt.py); then "adapted" says whether they counted
    POST /api/drawings     the same drawing with "label": 0..9 ("predicted", "person" optional)
                        -> 201 {"id": 12}, kept in the SQLite file --db (digits/store.py)
    GET  /api/drawings/stats   {"count": N, "by_label": [10 ints], ...}: counts, never drawings

What this file deliberately is not: it does no image maths. Turning a drawing of any size and
background into the 28x28 picture MNIST would have made of it is `digits.preprocess`'s job; this
file only moves bytes between HTTP and the model, and turns every bad request into a JSON
{"error": "<a sentence for a person>"} with the right status code.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # One BLAS thread for the server, set before NumPy loads OpenBLAS. A batch-1 forward pass is
    # a few tiny matrix multiplies; OpenBLAS splitting each over both cores must wait for the
    # second core, which on a busy machine costs 10-30 ms per multiply instead of 0.1 ms
    # (measured with scripts/bench_server.py). A value already in the environment wins; importing
    # serve (as the tests do) changes nothing.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import base64
import binascii
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import waitress
from bottle import Bottle, HTTPError, HTTPResponse, request, response, static_file

import nn
from digits.adapt import Corrections, Reader, mnist_references
from digits.drawing import (
    MAX_POINTS,
    MAX_SIDE,
    MAX_STROKES,
    BlankDrawingError,
    DrawingError,
    DrawingTooLargeError,
)
from digits.mnist import ensure_mnist, resolve_data_dir
from digits.preprocess import preprocess, preprocess_strokes
from digits.store import (
    DrawingStore,
    RateLimitError,
    StoreError,
    StoreInputError,
    check_digit,
    check_person,
)

# ----------------------------------------------------------------------------------------------
# defaults (the command line overrides host, port, weights and db)
HOST = "127.0.0.1"
PORT = 8080
WEIGHTS = "weights/mnist_cnn.npz"
DB = "data/drawings.sqlite"
MAX_DRAWING_BYTES = 512 * 1024  # a labelled drawing to keep: 20,000 points of strokes fit
THREADS = 8  # waitress worker threads
MAX_BODY_BYTES = 2 * 1024 * 1024  # a 2048x2048 canvas PNG of a drawing is far smaller
# Bodies above MAX_BODY_BYTES get our JSON 413 once waitress has buffered them; bodies above
# this much larger limit are refused by waitress itself before it reads them (plain-text 413).
WAITRESS_BODY_LIMIT = 16 * 1024 * 1024
STATIC_DIR = Path(__file__).resolve().parent / "static"
# ----------------------------------------------------------------------------------------------

# Security and freshness for every answer. "no-cache" still allows the browser to keep a copy,
# but it must ask (If-None-Match / If-Modified-Since) before using it: an updated app.js is
# never stale. The CSP also enforces "works offline": nothing may come from another host.
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}
ERROR_SENTENCES = {
    400: "The request could not be understood.",
    403: "That file is not one this server shares.",
    404: "There is nothing at this address. The API lives at /api/health and /api/predict.",
    405: "That HTTP method is not allowed here.",
    413: "The request is too large.",
    415: "Send the drawing as JSON.",
    416: "That byte range is not available.",
    422: "The drawing could not be read.",
    429: "Too many requests; please wait a little.",
    500: "Something went wrong on the server; it has been logged. Please try again.",
    503: "The server cannot do that right now; please try again later.",
}


class RequestError(HTTPError):
    """A refusal whose message was written for the person who sent the request.

    Bottle's own errors (the router's 404 and 405, static_file's 403) carry terse or technical
    bodies; those are answered with ERROR_SENTENCES instead, and a 500 never shows its cause.
    """


def create_app(model: Any, weights_name: str, store: DrawingStore | None = None,
               reader: Reader | None = None) -> Bottle:
    """Build the web app around an already loaded model.

    model: anything with `.predict(x)`, x float32 (N, 1, 28, 28) in 0..1 -> (N, 10) probabilities,
        and optionally `.meta` (a dict of facts about the training run) for /api/health.
    weights_name: the weights file name that /api/health reports, e.g. "mnist_cnn.npz".
    store: where POST /api/drawings keeps labelled drawings; None answers those routes with 503.
    reader: reads a drawing with its person's corrections (digits.adapt.Reader); None reads
        every drawing with the model alone.
    """
    app = Bottle()
    reader = reader or Reader(model, None)
    # One drawing at a time through preprocess and the model. Both are CPU-bound NumPy code
    # that keeps dropping and retaking the GIL; THREADS threads interleaving them made about
    # 480 context switches per request and cost half the throughput (scripts/bench_server.py,
    # 8 clients: 145-235 requests/s without this lock, 265-280 with it). It also covers nn,
    # which promises no thread safety (layers keep what backward needs). The other threads
    # still overlap everything else: reading requests, parsing JSON, writing answers.
    compute_lock = threading.Lock()

    @app.get("/")
    def index():
        return _static("index.html")

    @app.get("/static/<path:path>")
    def static(path: str):
        return _static(path)

    @app.get("/api/health")
    def health():
        return {
            **_model_facts(model),  # first, so the metadata cannot overwrite the fields below
            "status": "ok",
            "model": weights_name,
            "max_body_bytes": MAX_BODY_BYTES,
            "max_image_side": MAX_SIDE,
            "max_strokes": MAX_STROKES,
            "max_points": MAX_POINTS,
        }

    @app.post("/api/predict")
    def predict():
        started, started_cpu = time.perf_counter(), time.thread_time()
        drawing = _read_drawing()
        person = _checked(check_person, drawing["fields"].get("person"))
        read = time.perf_counter()
        with compute_lock:
            locked = time.perf_counter()
            x = _preprocess(drawing)  # float32 (28, 28), 1.0 = ink
            prepared = time.perf_counter()
            p, adapted = reader.read(x, person)  # (10,): the model's, or with the person's labels
        predicted = time.perf_counter()
        p = np.asarray(p, dtype=np.float64)
        p = p / p.sum()  # float32 rounding can leave the sum a few 1e-7 away from 1
        answer = {
            "digit": int(np.argmax(p)),
            "probabilities": p.tolist(),
            "input": x.astype(np.float64).tolist(),  # exactly the float32 values the model saw
        }
        if person is not None:
            answer["adapted"] = adapted  # whether this person's corrections changed the answer
        body = json.dumps(answer)
        # Where the time went, in the standard header browsers' developer tools show. "cpu" is
        # this thread's CPU time: on a busy machine, total - cpu is time spent waiting for a core.
        response.set_header("Server-Timing", _server_timing(
            read=read - started, queue=locked - read, preprocess=prepared - locked,
            predict=predicted - prepared, total=time.perf_counter() - started,
            cpu=time.thread_time() - started_cpu))
        response.content_type = "application/json"
        return body

    # ---------------------------------------------------------------- labelled drawings (issue 9)
    @app.post("/api/drawings")
    def add_drawing():
        if store is None:
            raise RequestError(503, "This server keeps no drawings: it was started without a "
                                    "database.")
        drawing = _read_drawing(MAX_DRAWING_BYTES)
        fields = drawing["fields"]
        label = _checked(check_digit, fields.get("label"), "label", True)
        predicted = _checked(check_digit, fields.get("predicted"), "predicted", False)
        person = _checked(check_person, fields.get("person"))
        with compute_lock:
            x = _preprocess(drawing)
        try:
            row = store.add(label=label, predicted=predicted, person=person, input=x,
                            model=weights_name, strokes=drawing.get("strokes"),
                            pen=drawing.get("pen"), image=drawing.get("image"))
        except RateLimitError as err:
            raise RequestError(429, str(err), **{"Retry-After": str(err.retry_after)}) from None
        except StoreError as err:  # a full or read-only disk, a file damaged meanwhile
            raise RequestError(503, str(err)) from None
        with compute_lock:
            reader.remember(person, x, label)  # saved first: what the person sees is kept
        response.status = 201
        return {"id": row}

    @app.get("/api/drawings/stats")
    def drawing_stats():
        if store is None:
            raise RequestError(503, "This server keeps no drawings: it was started without a "
                                    "database.")
        try:
            return store.stats()
        except StoreError as err:
            raise RequestError(503, str(err)) from None

    @app.hook("after_request")
    def add_headers():
        for name, value in COMMON_HEADERS.items():
            response.set_header(name, value)
        if request.path.startswith("/api/"):
            response.set_header("Cache-Control", "no-store")

    for status in ERROR_SENTENCES:
        app.error(status)(_json_error)
    return app


# ---------------------------------------------------------------------------------- helpers


def _static(path: str) -> HTTPResponse:
    """A file from static/ (Bottle refuses paths that climb out of it with a 403)."""
    answer = static_file(path, root=str(STATIC_DIR))
    if answer.status_code < 400:
        answer.set_header("Cache-Control", "no-cache")
    return answer


def _preprocess(drawing: dict) -> np.ndarray:
    """digits.preprocess for either form, its three kinds of refusal turned into status codes."""
    try:
        if "strokes" in drawing:
            return preprocess_strokes(drawing["strokes"], drawing.get("pen"))
        return preprocess(drawing["image"])
    except DrawingTooLargeError as err:  # a subclass of DrawingError: test it first
        raise RequestError(413, _sentence(err)) from None
    except DrawingError as err:
        raise RequestError(400, _sentence(err)) from None
    except BlankDrawingError as err:
        raise RequestError(422, _sentence(err)) from None


HOW_TO_SEND = ('send {"strokes": [[[x, y], ...], ...]} or {"image": '
               '"data:image/png;base64,..."}.')


def _read_drawing(max_bytes: int = MAX_BODY_BYTES) -> dict:
    """The drawing in a POST /api/predict request: {"strokes": list, "pen": number or None} or
    {"image": PNG bytes}, and "fields": the whole JSON object (label, person...); or a
    RequestError saying what is wrong with the request."""
    media_type = request.content_type.split(";")[0].strip()  # Bottle lower-cases it
    if media_type != "application/json":
        shown = media_type or "no Content-Type"
        raise RequestError(415, "Send the drawing as JSON with 'Content-Type: application/json' "
                                f"(this request was {shown}).")
    body = _read_body(max_bytes)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, 5000-digit numbers, [[[[...]]]]
        raise RequestError(400, f"The body is not valid JSON; {HOW_TO_SEND}") from None
    if not isinstance(payload, dict) or not ("strokes" in payload or "image" in payload):
        raise RequestError(400, f'The JSON has no "strokes" or "image" field; {HOW_TO_SEND}')
    if "strokes" in payload:
        return {"strokes": payload["strokes"], "pen": payload.get("pen"), "fields": payload}
    image = payload["image"]
    if not isinstance(image, str):
        raise RequestError(400, 'The "image" field must be a string: a data URL '
                                '"data:image/png;base64,..." or bare base64.')
    return {"image": _decode_data_url(image), "fields": payload}


def _checked(check, *args):
    """check(*args) from digits.store, its StoreInputError turned into a 400."""
    try:
        return check(*args)
    except StoreInputError as err:
        raise RequestError(400, str(err)) from None


def _read_body(limit: int) -> bytes:
    """Read at most `limit` bytes of request body; 413 without reading when it says it is bigger."""
    mib = limit // (1024 * 1024)
    too_large = RequestError(413, f"The request body is larger than {mib} MiB; "
                                  "send a smaller image (a 280x280 PNG is plenty).")
    stream = request.environ["wsgi.input"]
    declared = request.environ.get("CONTENT_LENGTH", "").strip()
    if declared and not declared.isdigit():
        raise RequestError(400, f"The Content-Length header ({declared[:20]!r}) is not a number.")
    length = int(declared) if declared else -1  # -1: the client sent no Content-Length
    if length > limit:
        raise too_large
    if length >= 0:
        return stream.read(length)
    body = stream.read(limit + 1)  # no length given: never read more than we would accept
    if len(body) > limit:
        raise too_large
    return body


def _decode_data_url(image: str) -> bytes:
    """Bytes from "data:image/png;base64,...." or from bare base64."""
    text = image.strip()
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise RequestError(400, 'The "image" data URL must be base64 encoded, like '
                                    '"data:image/png;base64,iVBOR...".')
    text = "".join(text.split())  # base64 wrapped over lines is still base64
    text += "=" * (-len(text) % 4)  # and so is base64 that lost its padding
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, 'The "image" field is not valid base64; send the canvas '
                                'export from canvas.toDataURL("image/png").') from None
    if not data:
        raise RequestError(400, 'The "image" field is empty; send a PNG of the drawing.')
    return data


def _model_facts(model: Any) -> dict[str, Any]:
    """The plain (JSON-ready) top-level facts from the model's metadata, for /api/health."""
    meta = getattr(model, "meta", None) or {}
    facts: dict[str, Any] = {}
    if hasattr(model, "num_parameters"):
        facts["parameters"] = int(model.num_parameters())
    for key, value in meta.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, int, float, bool)) or value is None:
            facts[str(key)] = value
    return facts


def _server_timing(**seconds: float) -> str:
    """A Server-Timing header value, e.g. "preprocess;dur=1.234, predict;dur=0.812" (ms)."""
    return ", ".join(f"{name};dur={value * 1000:.3f}" for name, value in seconds.items())


def _sentence(err: Exception) -> str:
    """An exception's message as one line for a person."""
    return " ".join(str(err).split()) or type(err).__name__


def _json_error(err: HTTPError) -> str:
    """Every error, whoever raised it, answers {"error": "<a sentence>"} as JSON.

    Bottle does not turn a dict into JSON inside an error handler, so it is done here. For a 500,
    Bottle has already written the traceback to wsgi.errors (the server's log), never the body.
    """
    if isinstance(err, RequestError):
        message = err.body
    else:
        message = ERROR_SENTENCES.get(err.status_code, ERROR_SENTENCES[500])
    for name, value in COMMON_HEADERS.items():
        response.set_header(name, value)
    response.set_header("Cache-Control", "no-store")
    response.content_type = "application/json"
    return json.dumps({"error": message})


# ---------------------------------------------------------------------------------- main


def load_model(path: str) -> Any:
    """nn.load plus one throw-away prediction, so numba compiles before the first visitor."""
    model = nn.load(path)
    model.predict(np.zeros((1, 1, 28, 28), dtype=np.float32))
    return model


def _corrections(model: Any, data_dir: str | None) -> Corrections | None:
    """What a person's corrections are measured against (MNIST training digits), or None, with
    a warning, when MNIST cannot be had: drawings are then read by the model alone."""
    try:
        return Corrections(model, *mnist_references(ensure_mnist(resolve_data_dir(data_dir))))
    except (OSError, ValueError) as err:  # missing, damaged or not downloadable
        print(f"serve.py: warning: corrections will be kept but not used, because MNIST's "
              f"training digits are needed to weigh them: {_sentence(err)}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the digit-drawing page and its API.")
    parser.add_argument("--host", default=HOST, help=f"address to listen on (default {HOST})")
    parser.add_argument("--port", type=int, default=PORT,
                        help=f"port to listen on, 0 = any free port (default {PORT})")
    parser.add_argument("--weights", default=WEIGHTS, help=f"model file (default {WEIGHTS})")
    parser.add_argument("--db", default=DB, help="SQLite file of the drawings people label, "
                                                 f"created on first start (default {DB})")
    parser.add_argument("--data-dir", default=None, help="MNIST, whose training digits a "
                        "person's corrections are measured against (default $MNIST_DIR, else "
                        "data/mnist/, downloaded there if missing)")
    args = parser.parse_args(argv)

    try:
        model = load_model(args.weights)
    except (OSError, ValueError) as err:  # nn.load's own errors name the file and the fix
        message = _sentence(err)
        if args.weights not in message:
            message = f"cannot load the model from {args.weights}: {message}"
        print(f"serve.py: {message}", file=sys.stderr)
        return 1
    except Exception as err:  # anything else at start-up is still reported as one line
        print(f"serve.py: cannot load the model from {args.weights}: "
              f"{type(err).__name__}: {_sentence(err)}", file=sys.stderr)
        return 1
    try:
        store = DrawingStore(args.db)
    except StoreError as err:  # a corrupt file: refuse to start rather than lose what it holds
        print(f"serve.py: {_sentence(err)}", file=sys.stderr)
        return 1
    if store.problem:  # a read-only or full disk: predictions still work
        print(f"serve.py: warning: {store.problem}", file=sys.stderr)
    app = create_app(model, Path(args.weights).name, store,
                     Reader(model, _corrections(model, args.data_dir), store.examples_if_readable))
    try:
        server = waitress.create_server(app, host=args.host, port=args.port, threads=THREADS,
                                        max_request_body_size=WAITRESS_BODY_LIMIT)
    except OSError as err:
        print(f"serve.py: cannot listen on {args.host}:{args.port}: {_sentence(err)}",
              file=sys.stderr)
        return 1
    host = server.effective_host
    url_host = f"[{host}]" if ":" in str(host) else host
    print(f"Serving handwritten digits on http://{url_host}:{server.effective_port}/ "
          "(Ctrl+C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
