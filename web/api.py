"""Reading requests and writing answers for the JSON API, the same way in every route.

A route that takes a drawing (POST /api/predict; POST /api/drawings or an explain route alike):

    @app.post("/api/explain")
    def explain():
        payload = read_json(request)     # 415 not JSON, 413 over MAX_BODY_BYTES, 400 malformed
        drawing = read_drawing(payload)  # 400/413 for a bad "strokes" or "image", checked before
                                         # any pixel: PNG header, size and chunks; every point
        with gate:                       # web.gate.Gate: 503 + Retry-After when the queue is full
            x = drawing.to_mnist()       # float32 (28, 28); digits' refusals as 400/413/422
            ...                          # the model, inside the gate too
        return json_answer({"digit": 7, "input": x})  # NumPy arrays welcome

A route's own checks raise ``RequestError(status, "a sentence for a person")``; fields of its own
(a "label") it reads from ``payload``. A route without a body (GET /api/drawings/stats) needs none
of this. Whatever it raises, ``error_answer`` (installed by serve.create_app for every status in
ERROR_SENTENCES) turns into {"error": "<a sentence>"}, a 500 never showing its cause, and
``add_headers`` puts HEADERS on every answer. web.server answers its own refusals (malformed HTTP,
bodies or headers too large) with the same JSON and headers.

What this module is not: the routes, or image maths (digits.drawing reads drawings,
digits.preprocess turns them into 28x28).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from bottle import BaseRequest, HTTPError, request, response

from digits.drawing import (
    BlankDrawingError,
    DrawingError,
    DrawingTooLargeError,
    check_png,
    load_pen,
    load_strokes,
)
from digits.preprocess import preprocess, strokes_to_mnist

MAX_BODY_BYTES = 2 * 1024 * 1024  # a 2048x2048 canvas PNG of a drawing is far smaller

# Every answer, the page's files and every error alike. "no-referrer": nothing of our URLs leaks.
# The CSP also enforces "works offline" (nothing from another host) and forbids framing; the
# page uses none of the powerful features, so Permissions-Policy turns them off; COOP and CORP
# keep other sites from holding a handle to our window or embedding our answers.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
BODY_TOO_LARGE = (f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; "
                  "send a smaller image (a 280x280 PNG is plenty).")
ERROR_SENTENCES = {
    400: "The request could not be understood.",
    403: "That file is not one this server shares.",
    404: "There is nothing at this address. The API lives at /api/health and /api/predict.",
    405: "That HTTP method is not allowed here.",
    413: BODY_TOO_LARGE,
    415: "Send the drawing as JSON.",
    416: "That byte range is not available.",
    422: "The drawing could not be read.",
    429: "Too many requests; please wait a little.",
    431: "The request's headers are too large.",
    500: "Something went wrong on the server; it has been logged. Please try again.",
    501: "The server does not support that way of sending a request.",
    503: "The server is busy; please try again in a moment.",
}
HOW_TO_SEND = ('send {"strokes": [[[x, y], ...], ...]} or {"image": '
               '"data:image/png;base64,..."}.')


class RequestError(HTTPError):
    """A refusal whose message was written for the person who sent the request:
    ``RequestError(400, "The label must be a digit from 0 to 9.")``; extra keyword arguments are
    headers (``**{"Retry-After": "1"}``).

    Bottle's own errors (the router's 404 and 405, static_file's 403) carry terse or technical
    bodies; those are answered with ERROR_SENTENCES instead, and a 500 never shows its cause.
    """


# ---------------------------------------------------------------------------------- reading


def read_json(req: BaseRequest, limit: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON body, parsed; or a RequestError: 415 when it is not
    application/json, 413 over ``limit`` bytes (refused from Content-Length before reading), 400
    when it is not JSON (NaN is not JSON; nor is nesting deeper than 1024, or an integer that
    does not fit 64 bits)."""
    media_type = req.content_type.split(";")[0].strip()  # Bottle lower-cases it
    if media_type != "application/json":
        shown = media_type or "no Content-Type"
        raise RequestError(415, "Send the drawing as JSON with 'Content-Type: application/json' "
                                f"(this request was {shown}).")
    try:
        return orjson.loads(_read_body(req, limit))
    except orjson.JSONDecodeError as err:
        raise RequestError(400, f"The body is not valid JSON ({err}); {HOW_TO_SEND}") from None


def _read_body(req: BaseRequest, limit: int) -> bytes:
    """At most ``limit`` bytes of request body; 413 without reading when it says it is bigger."""
    stream = req.environ["wsgi.input"]
    declared = req.environ.get("CONTENT_LENGTH", "").strip()
    if declared and not declared.isdigit():
        raise RequestError(400, f"The Content-Length header ({declared[:20]!r}) is not a number.")
    length = int(declared) if declared else -1  # -1: the client sent no Content-Length
    if length > limit:
        raise RequestError(413, BODY_TOO_LARGE)
    if length >= 0:
        return stream.read(length)
    body = stream.read(limit + 1)  # no length given: never read more than we would accept
    if len(body) > limit:
        raise RequestError(413, BODY_TOO_LARGE)
    return body


@dataclass(frozen=True)
class Drawing:
    """A drawing from a request, checked but not yet turned into pixels: either ``strokes``
    (float64 (P, 2) each, from digits.drawing.load_strokes) and ``pen`` (a width or None), or
    ``png`` (bytes whose header, size and chunks passed digits.drawing.check_png)."""

    strokes: list[np.ndarray] | None = None
    pen: float | None = None
    png: bytes | None = None

    def to_mnist(self) -> np.ndarray:
        """What the network sees, float32 (28, 28) in 0..1 (digits.preprocess); the costly part,
        so call it inside the gate. Refusals come as RequestError 400, 413 or 422."""
        with refusals():
            if self.strokes is not None:
                return strokes_to_mnist(self.strokes, self.pen)
            return preprocess(self.png)


def read_drawing(payload: Any) -> Drawing:
    """The drawing in a parsed request body, {"strokes": [[[x, y], ...], ...], "pen"?: width} or
    {"image": "data:image/png;base64,..." or bare base64}, checked as far as it can be without
    decoding pixels; or a RequestError (400 malformed, 413 too large) that says what is wrong.
    Other fields of ``payload`` are the route's own business."""
    if not isinstance(payload, dict) or not ("strokes" in payload or "image" in payload):
        raise RequestError(400, f'The JSON has no "strokes" or "image" field; {HOW_TO_SEND}')
    with refusals():
        if "strokes" in payload:
            return Drawing(strokes=load_strokes(payload["strokes"]),
                           pen=load_pen(payload.get("pen")))
        image = payload["image"]
        if not isinstance(image, str):
            raise RequestError(400, 'The "image" field must be a string: a data URL '
                                    '"data:image/png;base64,..." or bare base64.')
        png = _decode_data_url(image)
        check_png(png)
        return Drawing(png=png)


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Turn digits' refusals of a drawing into RequestErrors with their sentences:
    DrawingTooLargeError 413, DrawingError 400, BlankDrawingError 422. For routes that call
    digits themselves (to_mnist_steps for an explanation, say)."""
    try:
        yield
    except DrawingTooLargeError as err:  # a subclass of DrawingError: test it first
        raise RequestError(413, one_line(err)) from None
    except DrawingError as err:
        raise RequestError(400, one_line(err)) from None
    except BlankDrawingError as err:
        raise RequestError(422, one_line(err)) from None


def _decode_data_url(image: str) -> bytes:
    """Bytes from "data:image/png;base64,...." or from bare base64."""
    text = image
    if text.lstrip()[:5] == "data:":
        header, comma, text = text.partition(",")
        if not comma or not header.strip().endswith(";base64"):
            raise RequestError(400, 'The "image" data URL must be base64 encoded, like '
                                    '"data:image/png;base64,iVBOR...".')
    try:  # most images come as one clean line: decode that without copying it first
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
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


# ---------------------------------------------------------------------------------- answering


def json_answer(value: Any) -> bytes:
    """``value`` as the JSON body of the current answer (NumPy arrays and scalars included;
    float32 written in their shortest exact form, so a client reading them back as float32 gets
    the very same numbers). 0.02 ms for a prediction where json.dumps of lists took 0.4."""
    response.content_type = "application/json"
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def error_body(sentence: str) -> bytes:
    """{"error": sentence} as JSON bytes."""
    return orjson.dumps({"error": sentence})


def error_answer(err: HTTPError) -> bytes:
    """Bottle's error handler for every status: {"error": "<a sentence>"} with HEADERS.

    Bottle does not turn a dict into JSON inside an error handler, so it is done here. For a
    500, Bottle has already written the traceback to wsgi.errors (the server's log), never the
    body. Headers the error carries (Retry-After) were already applied by Bottle.
    """
    if isinstance(err, RequestError):
        message = err.body
    else:
        message = ERROR_SENTENCES.get(err.status_code, ERROR_SENTENCES[500])
    add_headers()
    response.set_header("Cache-Control", "no-store")  # a refusal is about this request only
    response.content_type = "application/json"
    return error_body(message)


def add_headers() -> None:
    """HEADERS on the current answer, and no caching of anything under /api/."""
    for name, value in HEADERS.items():
        response.set_header(name, value)
    if request.path.startswith("/api/"):
        response.set_header("Cache-Control", "no-store")


def one_line(err: Exception) -> str:
    """An exception's message as one line for a person (its type's name if it has none)."""
    return " ".join(str(err).split()) or type(err).__name__
