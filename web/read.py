"""POST /api/read's answer: a drawing of one digit or a whole number -> the number and its digits.

    answer = read_number(drawing, judge)    # drawing from web.api.read_drawing; call it in the gate
    answer = read_number(drawing, judge, adapt)   # adapt(x) -> (probabilities, adapted): each
                                                  # digit read again with a person's corrections

    {"number": "20.5",                      # the digits read, "." where a decimal point was drawn
     "digits": [{"digit": 2,                # one item per digit, left to right
                 "probabilities": [10 floats summing to 1],
                 "box": [x0, y0, x1, y1],   # in the request's units: stroke units or PNG pixels
                 "strokes": [0, 1],         # indices of the strokes that made it ([] for a PNG)
                 "input": [28 x 28],        # exactly what the network saw, 1.0 = ink
                 "p_not_a_digit": 0.01,
                 "adapted": false}, ...],   # with adapt: did their corrections change it
     "points": [{"box": [...], "strokes": [3]}],   # the decimal points drawn
     "not_digits": [{"box": [...], "strokes": [...], "p_not_a_digit": 0.97}],  # pieces left out
     "not_a_digit": false}                  # true, and "number" empty, when no piece is a digit

How the drawing is cut into digits is digits.numbers' job; this module turns its reading into
JSON and says what a request did wrong (web.api.refusals).

What this is not: the route (serve.py) or the network (web.judge).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from digits.drawing import load_drawing
from digits.numbers import read_ink, read_strokes
from web.api import Drawing, refusals
from web.judge import Judge


def read_number(drawing: Drawing, judge: Judge,
                adapt: Callable[[np.ndarray], tuple[np.ndarray, bool]] | None = None,
                ) -> dict[str, Any]:
    """The /api/read answer for a checked drawing (see the module docstring). ``adapt``, when
    given, reads each digit's 28x28 again (with a person's corrections: web.corrections.Reader)
    after the cutting, which stays the network's own. Refusals (a blank drawing, an undecodable
    PNG) come as RequestErrors 400/413/422."""
    with refusals():
        if drawing.strokes is not None:
            reading = read_strokes(drawing.strokes, judge.read, drawing.pen)
        else:
            reading = read_ink(load_drawing(drawing.png), judge.read, judge.threshold)
    digits, others = [], []
    for piece in reading.pieces:
        item = {"box": list(piece.box), "strokes": list(piece.strokes),
                "p_not_a_digit": piece.p_not}
        if piece.p_not > judge.threshold:
            others.append(item)
        elif adapt is None:
            digits.append({"digit": piece.digit, "probabilities": piece.probabilities,
                           "input": piece.input, **item})
        else:
            p, adapted = adapt(np.asarray(piece.input, dtype=np.float32))
            p = np.asarray(p, dtype=np.float64) / float(np.sum(p))
            digits.append({"digit": int(np.argmax(p)), "probabilities": p, "input": piece.input,
                           "adapted": adapted, **item})
    strokes_body = drawing.strokes is not None
    points = [{"box": list(box), "strokes": [atom] if strokes_body else []}
              for atom, box in reading.point_atoms]
    number = reading.number(judge.threshold)
    if adapt is not None:  # the same places, the digits as read again
        read_again = iter(str(d["digit"]) for d in digits)
        number = re.sub("[0-9]", lambda _: next(read_again), number)
    return {"number": number, "digits": digits, "points": points, "not_digits": others,
            "not_a_digit": not digits}
