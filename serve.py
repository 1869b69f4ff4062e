"""serve.py: the drawing page and a small JSON API around the trained network.

Run it:

    python serve.py                      # http://127.0.0.1:8080/
    python serve.py --host 0.0.0.0 --port 8000 --weights weights/mnist_cnn.npz
    python serve.py --workers 2          # one process per core (Linux, macOS)
    python serve.py --db data/drawings.sqlite   # where labelled drawings are kept (the default)
    python serve.py --db postgresql://digits@db:5432/digits   # one store for many servers

Routes:

    GET  /                 the drawing page (static/index.html)
    GET  /static/<path>    its scripts, styles and icon (gzipped for browsers that accept it)
    GET  /api/health       {"status": "ok", "model": "mnist_cnn.npz", ...}
    POST /api/predict      {"strokes": [[[x, y], ...], ...]}  (the page's form)
                        or {"image": "data:image/png;base64,..."}
                        -> {"digit": 7, "probabilities": [10 floats], "input": [28 x 28 floats],
                            "not_a_digit": false}
                           an optional "person" (the page's opaque id) reads it with that
                           person's corrections (web/corrections.py); then "adapted" says
                           whether they counted
    POST /api/read         the same body, one digit or a number written left to right
                        -> {"number": "20.5", "digits": [{"digit", "probabilities", "box",
                            "strokes", "input"}, ...], "not_a_digit": false} (web/read.py)
    POST /api/explain      the same body -> what the page's "Look inside" panel shows: feature
                           maps, filters, saliency, nearest training digits (web/explain.py)
    POST /api/drawings     the same drawing with "label": 0..9 ("predicted", "person" optional)
                        -> 201 {"id": 12}, kept in the database --db (web/store.py)
    GET  /api/drawings/stats   {"count": N, "by_label": [10 ints], ...}: counts, never drawings
    GET  /api/drawings/mine    with the header X-Person: <the page's id> -> that person's
                               drawings {"count": N, "corrected": M, "drawings": [{"id", "label",
                               "predicted", "created"}, ...]} (newest first, at most 500)
    DELETE /api/drawings/<id>  with X-Person: undo one of theirs -> {"deleted": 1}; 404 when they
                               have none with that id (someone else's is not theirs)
    DELETE /api/drawings/mine  with X-Person: forget all of theirs -> {"deleted": N}

What this file deliberately is not: it does no image maths (digits.preprocess does) and no HTTP
plumbing (web: reading and refusing requests, the compute gate, waitress's limits). It holds the
routes, and every bad request becomes a JSON {"error": "<a sentence for a person>"}.
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
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from bottle import Bottle, HTTPResponse, request, response

import nn
from digits.canvas import canvas_png
from digits.drawing import MAX_POINTS, MAX_SIDE, MAX_STROKES
from digits.preprocess import preprocess, preprocess_strokes
from training.mnist import SEARCHED_DIRS, find_mnist
from web.api import (
    ERROR_SENTENCES,
    MAX_BODY_BYTES,
    RequestError,
    add_headers,
    error_answer,
    json_answer,
    one_line,
    read_drawing,
    read_json,
)
from web.corrections import Corrections, Reader, mnist_references
from web.explain import Explainer
from web.gate import Gate
from web.judge import Judge
from web.neighbours import BackgroundIndex
from web.read import read_number
from web.server import listen, run
from web.static import static_answer
from web.store import (
    DrawingStore,
    RateLimitError,
    StoreError,
    StoreInputError,
    check_digit,
    check_person,
)

# ----------------------------------------------------------------------------------------------
# defaults (the command line overrides host, port, weights and workers)
HOST = "127.0.0.1"
PORT = 8080
WEIGHTS = "weights/mnist_cnn.npz"
JUDGE = "weights/not_a_digit.npz"  # scripts/train_not_a_digit.py, trained on WEIGHTS' features
DB = "data/drawings.sqlite"
MAX_DRAWING_BYTES = 512 * 1024  # a labelled drawing to keep: 20,000 points of strokes fit
WORKERS = 1  # processes; each has THREADS threads and its own gate
THREADS = 15  # waitress threads per process: both gates' queues plus one each, three to spare...
QUEUE = 8  # ... so health checks and the page's files never wait behind predictions
EXPLAIN_QUEUE = 2  # explanations waiting (THREADS covers both gates' queues and three to spare)
PATIENCE = 2.0  # s a request may wait for its turn before it is told to come back (503)
STATIC_DIR = Path(__file__).resolve().parent / "static"
# ----------------------------------------------------------------------------------------------


def create_app(model: Any, weights_name: str, explainer: Explainer | None = None,
               store: DrawingStore | None = None, reader: Reader | None = None,
               judge: Judge | None = None) -> Bottle:
    """Build the web app around an already loaded model.

    model: anything with `.predict(x)`, x float32 (N, 1, 28, 28) in 0..1 -> (N, 10) probabilities,
        and optionally `.meta` (a dict of facts about the training run) for /api/health.
    weights_name: the weights file name that /api/health reports, e.g. "mnist_cnn.npz".
    explainer: what /api/explain answers with; by default one for `model` (an nn.Sequential)
        without the nearest training digits.
    store: where POST /api/drawings keeps labelled drawings; None answers those routes with 503.
    reader: reads a drawing with its person's corrections (web.corrections.Reader); None reads
        every drawing with the model alone.
    judge: says whether a drawing is a digit at all, and reads numbers (web.judge.Judge); None
        judges with the model alone, and calls nothing "not a digit".
    """
    app = Bottle()
    explainer = explainer or Explainer(model)
    reader = reader or Reader(model, None)
    judge = judge or Judge(model)
    gate = Gate(waiting=QUEUE, patience=PATIENCE)  # every prediction goes through it
    # The panel's explanations (13 ms of CPU each) have a gate of their own, so they never queue
    # a prediction; its short queue keeps the threads they can hold to EXPLAIN_QUEUE + 1.
    explain_gate = Gate(waiting=EXPLAIN_QUEUE, patience=PATIENCE)

    @app.get("/")
    def index():
        return _static("index.html")

    @app.get("/static/<path:path>")
    def static(path: str):
        return _static(path)

    @app.get("/api/health")
    def health():
        return json_answer({
            **_model_facts(model),  # first, so the metadata cannot overwrite the fields below
            "status": "ok",
            "model": weights_name,
            "max_body_bytes": MAX_BODY_BYTES,
            "max_image_side": MAX_SIDE,
            "max_strokes": MAX_STROKES,
            "max_points": MAX_POINTS,
            "queued": gate.queued,
        })

    @app.post("/api/predict")
    def predict():
        started, started_cpu = time.perf_counter(), time.thread_time()
        payload = read_json(request)
        drawing = read_drawing(payload)
        person = _checked(check_person, payload.get("person"))
        reader.refresh(person)  # the store's word on their corrections, before the model's turn
        read = time.perf_counter()
        with gate.turn(_connection()):
            turn = time.perf_counter()
            x = drawing.to_mnist()  # float32 (28, 28), 1.0 = ink
            prepared = time.perf_counter()
            p, adapted = reader.read(x, person, refresh=False)  # (10,), with the person's labels
            not_a_digit = judge.head is not None and bool(
                judge.is_not_a_digit(judge.read(x[None])[1])[0])
        predicted = time.perf_counter()
        p = np.asarray(p, dtype=np.float64)
        p = p / p.sum()  # float32 rounding can leave the sum a few 1e-7 away from 1
        # Where the time went, in the standard header browsers' developer tools show. "cpu" is
        # this thread's CPU time: on a busy machine, total - cpu is time spent waiting for a core.
        response.set_header("Server-Timing", _server_timing(
            read=read - started, queue=turn - read, preprocess=prepared - turn,
            predict=predicted - prepared, total=time.perf_counter() - started,
            cpu=time.thread_time() - started_cpu))
        answer = {"digit": int(np.argmax(p)), "probabilities": p,
                  "input": x,  # exactly the float32 values the model saw
                  "not_a_digit": not_a_digit}
        if person is not None:
            answer["adapted"] = adapted  # whether this person's corrections changed the answer
        return json_answer(answer)

    @app.post("/api/read")
    def read():
        started, started_cpu = time.perf_counter(), time.thread_time()
        payload = read_json(request)
        drawing = read_drawing(payload)  # the same forms, caps and errors as predict
        person = _checked(check_person, payload.get("person"))
        reader.refresh(person)
        adapt = None if person is None else (lambda x: reader.read(x, person, refresh=False))
        with gate.turn(_connection()):
            turn = time.perf_counter()
            answer = read_number(drawing, judge, adapt)
        response.set_header("Server-Timing", _server_timing(
            queue=turn - started, read=time.perf_counter() - turn,
            total=time.perf_counter() - started, cpu=time.thread_time() - started_cpu))
        return json_answer(answer)

    @app.post("/api/explain")
    def explain():
        started = time.perf_counter()
        drawing = read_drawing(read_json(request))  # the same forms, caps and errors as predict
        with explain_gate.turn(_connection()):
            x = drawing.to_mnist()
            prepared = time.perf_counter()
            answer = explainer.explain(x)  # on the explainer's own thread and model copy
        response.set_header("Server-Timing", _server_timing(
            prepare=prepared - started, explain=time.perf_counter() - prepared,
            total=time.perf_counter() - started))
        return json_answer(answer)

    # ---------------------------------------------------------------- labelled drawings
    def kept():
        if store is None:
            raise RequestError(503, "This server keeps no drawings: it was started without a "
                                    "database.")
        return store

    @app.post("/api/drawings")
    def add_drawing():
        kept()
        payload = read_json(request, MAX_DRAWING_BYTES)
        drawing = read_drawing(payload)
        label = _checked(check_digit, payload.get("label"), "label", True)
        predicted = _checked(check_digit, payload.get("predicted"), "predicted", False)
        person = _checked(check_person, payload.get("person"))
        with gate.turn(_connection()):
            x = drawing.to_mnist()
        try:
            row = store.add(label=label, predicted=predicted, person=person, input=x,
                            model=weights_name, pen=drawing.pen, image=drawing.png,
                            strokes=None if drawing.strokes is None else
                            [stroke.tolist() for stroke in drawing.strokes])
        except RateLimitError as err:
            raise RequestError(429, str(err), **{"Retry-After": str(err.retry_after)}) from None
        except StoreError as err:  # a full or read-only disk, a file damaged meanwhile
            raise RequestError(503, str(err)) from None
        response.status = 201  # the person's next reading, anywhere, asks the store first
        return json_answer({"id": row})

    @app.get("/api/drawings/stats")
    def drawing_stats():
        return json_answer(_asked(kept().stats))

    # A person's own drawings: the id the page keeps in localStorage is the only key. It comes
    # in a header, never in the URL (which proxies log), and a custom header cannot be sent by
    # another site's page without a CORS preflight, which this server never grants.
    @app.get("/api/drawings/mine")
    def my_drawings():
        drawings = _asked(kept().mine, _owner())
        return json_answer({"count": len(drawings), "drawings": drawings, "corrected": sum(
            d["predicted"] is not None and d["predicted"] != d["label"] for d in drawings)})

    @app.delete("/api/drawings/mine")
    def forget_my_drawings():
        return json_answer({"deleted": _asked(kept().forget, _owner())})

    @app.delete("/api/drawings/<row:int>")
    def undo_drawing(row: int):
        if not _asked(kept().delete, _owner(), row):
            raise RequestError(404, f"You have no drawing {row} here (it was removed already, or "
                                    "is not yours).")
        return json_answer({"deleted": 1})

    app.add_hook("after_request", add_headers)
    for status in ERROR_SENTENCES:
        app.error(status)(error_answer)
    return app


# ---------------------------------------------------------------------------------- helpers


def _static(path: str) -> HTTPResponse:
    """A file from static/, gzipped for browsers that accept it (Bottle refuses paths that climb
    out of static/ with a 403)."""
    return static_answer(str(STATIC_DIR), path, request)


def _connection() -> tuple[str, str]:
    """Who is asking, for the compute gate's fairness: the connection's address and port."""
    return request.environ.get("REMOTE_ADDR", ""), request.environ.get("REMOTE_PORT", "")


def _owner() -> str:
    """The person's id from the X-Person header (400 when missing or malformed)."""
    person = request.headers.get("X-Person")
    if person is None:
        raise RequestError(400, "Say whose drawings these are: send the X-Person header with the "
                                "opaque id the page keeps in localStorage.")
    return _checked(check_person, person)


def _asked(method, *args):
    """store.method(*args), a database that cannot answer turned into a 503."""
    try:
        return method(*args)
    except StoreError as err:
        raise RequestError(503, str(err)) from None


def _checked(check, *args):
    """check(*args) from web.store, its StoreInputError turned into a 400."""
    try:
        return check(*args)
    except StoreInputError as err:
        raise RequestError(400, str(err)) from None


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


# ---------------------------------------------------------------------------------- main


def load_model(path: str) -> Any:
    """nn.load, then one drawing of each form through preprocessing and the model, so numba's
    kernels are compiled (or read from its cache) before the first visitor, and before
    --workers forks: every worker starts warm."""
    model = nn.load(path)
    seven = [[[0.2, 0.1], [0.8, 0.1], [0.4, 0.9]]]
    for x in (preprocess_strokes(seven), preprocess(canvas_png(seven))):
        model.predict(x[None, None])
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the digit-drawing page and its API.")
    parser.add_argument("--host", default=HOST, help=f"address to listen on (default {HOST})")
    parser.add_argument("--port", type=int, default=PORT,
                        help=f"port to listen on, 0 = any free port (default {PORT})")
    parser.add_argument("--weights", default=WEIGHTS, help=f"model file (default {WEIGHTS})")
    parser.add_argument("--not-a-digit", default=JUDGE, metavar="PATH",
                        help=f"the 'not a digit' judge for these weights (default {JUDGE}; "
                             "without it nothing is called 'not a digit')")
    parser.add_argument("--db", default=DB, help="where the drawings people label are kept: a "
                        "SQLite file, created on first start, or postgresql://USER@HOST:PORT/NAME "
                        f"to share one store between servers (default {DB})")
    parser.add_argument("--data-dir", default=None, help="MNIST, whose training digits a "
                        "person's corrections are weighed against and the 'Look inside' panel "
                        "shows (default $MNIST_DIR, else data/mnist/ or ../shared/mnist/; the "
                        "server never downloads: without MNIST both do without)")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help=f"processes serving the same port, one per core is right "
                             f"(default {WORKERS}; more than one needs Linux or macOS)")
    args = parser.parse_args(argv)
    # The web package's warnings (a worker that died, a cache it could not write) as our own.
    logging.basicConfig(format="serve.py: warning: %(message)s", level=logging.WARNING)
    if args.workers < 1 or (args.workers > 1 and not hasattr(os, "fork")):
        print(f"serve.py: --workers {args.workers}: give 1 or more, and more than 1 only where "
              "processes can fork (Linux, macOS)", file=sys.stderr)
        return 1

    try:
        model = load_model(args.weights)
    except (OSError, ValueError) as err:  # nn.load's own errors name the file and the fix
        message = one_line(err)
        if args.weights not in message:
            message = f"cannot load the model from {args.weights}: {message}"
        print(f"serve.py: {message}", file=sys.stderr)
        return 1
    except Exception as err:  # anything else at start-up is still reported as one line
        print(f"serve.py: cannot load the model from {args.weights}: "
              f"{type(err).__name__}: {one_line(err)}", file=sys.stderr)
        return 1
    try:
        store = DrawingStore(args.db)
    except StoreError as err:  # a corrupt file: refuse to start rather than lose what it holds
        print(f"serve.py: {one_line(err)}", file=sys.stderr)
        return 1
    if store.problem:  # a read-only or full disk: predictions still work
        print(f"serve.py: warning: {store.problem}", file=sys.stderr)
    mnist = Path(args.data_dir) if args.data_dir else find_mnist("train")
    neighbours = BackgroundIndex(model, args.weights, mnist).start()  # off the request path
    reader = Reader(model, _corrections(model, mnist), store)
    judge = _judge(model, args.weights, args.not_a_digit)
    app = create_app(model, Path(args.weights).name, Explainer(model, neighbours), store, reader,
                     judge)
    try:
        sock = listen(args.host, args.port)
    except OSError as err:
        print(f"serve.py: cannot listen on {args.host}:{args.port}: {one_line(err)}",
              file=sys.stderr)
        return 1
    host, port = sock.getsockname()[:2]
    url_host = f"[{host}]" if ":" in str(host) else host
    print(f"Serving handwritten digits on http://{url_host}:{port}/ "
          f"({args.workers} process{'es' if args.workers > 1 else ''}; Ctrl+C to stop)", flush=True)
    run(app, sock, workers=args.workers, threads=THREADS)
    return 0


def _judge(model: Any, weights: str, path: str) -> Judge:
    """The 'not a digit' judge in ``path``, with a warning when it is missing, damaged or was
    trained on another CNN's features (then nothing is called 'not a digit')."""
    try:
        judge = Judge(model, nn.load(path))
    except (OSError, ValueError) as err:
        print(f"serve.py: warning: nothing will be called 'not a digit': {one_line(err)}",
              file=sys.stderr)
        return Judge(model)
    if not judge.matches(weights):
        print(f"serve.py: warning: {path} was trained on another model's features than "
              f"{weights}'s; nothing will be called 'not a digit' until it is trained again "
              "(python -m scripts.train_not_a_digit)", file=sys.stderr)
        return Judge(model)
    return judge


def _corrections(model: Any, mnist: Path | None) -> Corrections | None:
    """What a person's corrections are weighed against (MNIST training digits), or None, with
    a warning, when MNIST is not there: drawings are then read by the model alone."""
    if mnist is None:
        print("serve.py: warning: corrections will be kept but not used: MNIST's training "
              "digits, needed to weigh them, are not in $MNIST_DIR or "
              f"{' or '.join(map(str, SEARCHED_DIRS))} (python train.py downloads them into "
              "data/mnist/)", file=sys.stderr)
        return None
    try:
        return Corrections(model, *mnist_references(mnist))
    except (OSError, ValueError) as err:  # missing or damaged
        print(f"serve.py: warning: corrections will be kept but not used, because MNIST's "
              f"training digits are needed to weigh them: {one_line(err)}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
