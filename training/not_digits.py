"""Drawings that are not digits, for teaching a model to say "that is not a digit".

    letters = load_letters(resolve_unipen_dir(None), "train")   # UNIPEN's real letters
    shapes = not_digit_strokes(digits, rng, 1000)               # scribbles, shapes, fragments...

Real writers' letters come from UNIPEN (categories 1b and 1c, the digits' writer split; letters
written like a digit, O l Z S b g..., are marked ``digit_like`` and are kept out of the negatives
by the caller). The rest is made here from strokes, each kind a small random program:

    scribble    a zigzag or a tangle of loops, one to three strokes
    shape       a triangle, square, star, cross, hash, arrow, wave, smiley or heart
    crossed     a real digit struck through with a zigzag or an X
    fragment    part of a real digit: some of its strokes, or one stroke cut short (straight
                pieces are left out: a straight stroke alone is a 1)
    squeezed    two real digits of one writer written into each other (what a grouping that
                takes two digits for one looks like)

What this is not: a catalogue of every non-digit. It is what the model is shown as "no".
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.unipen import pen_strokes

KINDS = ("scribble", "shape", "crossed", "fragment", "squeezed")


@dataclass(frozen=True)
class PenLetter:
    """One letter as a person wrote it: strokes float64 (P, 2) each, the letter, who, and
    whether it is written like a digit (O, l, Z, S...)."""
    strokes: tuple[np.ndarray, ...]
    label: str
    writer: str
    digit_like: bool


def load_letters(folder: str | Path, split: str) -> list[PenLetter]:
    """UNIPEN's letters of one split ("train" or "test"), from letters-<split>.jsonl.gz.

    Raises FileNotFoundError naming the file, or ValueError naming a damaged line."""
    path = Path(folder) / f"letters-{split}.jsonl.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: point --unipen-dir or UNIPEN_DIR at the "
                                "folder holding UNIPEN's letters-train/letters-test files")
    letters = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
                strokes = pen_strokes(row)
                if strokes:
                    letters.append(PenLetter(strokes, str(row["label"]), str(row["writer"]),
                                             bool(row["digit_like"])))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}, line {number}, is not a UNIPEN letter ({e})") from None
    return letters


# ------------------------------------------------------------------------------- generators


def _u(rng, low, high):
    return float(rng.uniform(low, high))


def _polyline(points) -> np.ndarray:
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def _scribble(rng) -> list[np.ndarray]:
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.5:  # zigzag back and forth
            n = int(rng.integers(5, 14))
            x = np.linspace(0, 1, n) + rng.normal(0, 0.04, n)
            y = np.where(np.arange(n) % 2 == 0, 0.0, 1.0) * _u(rng, 0.4, 1) + rng.normal(0, .08, n)
            pts = np.stack([x, y], axis=1)
            if rng.random() < 0.5:
                pts = pts[:, ::-1]
        else:  # a tangle of loops moving sideways
            t = np.linspace(0, 2 * np.pi * _u(rng, 2.5, 6), 120)
            r = _u(rng, 0.15, 0.35)
            pts = np.stack([t / t[-1] + r * np.cos(t), r * np.sin(t) * _u(rng, 0.6, 1.5)], 1)
        strokes.append(pts + rng.normal(0, 0.1, 2))
    return strokes


def _shape(rng) -> list[np.ndarray]:
    kind = int(rng.integers(9))
    if kind == 0:  # triangle
        p = np.array([[0.5, 0], [1, 0.9], [0, 0.9], [0.5, 0]]) + rng.normal(0, 0.04, (4, 2))
        return [p]
    if kind == 1:  # square
        p = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) + rng.normal(0, 0.04, (5, 2))
        return [p]
    if kind == 2:  # five-pointed star in one stroke
        a = np.radians(-90 + 144 * np.arange(6))
        return [np.stack([np.cos(a), np.sin(a)], 1) + rng.normal(0, 0.04, (6, 2))]
    if kind == 3:  # X
        return [_polyline([[0, 0], [1, 1]]), _polyline([[1, 0], [0, 1]])]
    if kind == 4:  # hash
        return [_polyline([[0.3, 0], [0.25, 1]]), _polyline([[0.7, 0], [0.65, 1]]),
                _polyline([[0, 0.35], [1, 0.35]]), _polyline([[0, 0.7], [1, 0.7]])]
    if kind == 5:  # arrow
        return [_polyline([[0, 0.5], [1, 0.5]]), _polyline([[0.7, 0.2], [1, 0.5], [0.7, 0.8]])]
    if kind == 6:  # wave
        t = np.linspace(0, 2 * np.pi * _u(rng, 1.5, 3), 60)
        return [np.stack([t, np.sin(t) * _u(rng, 0.5, 1.5)], 1)]
    if kind == 7:  # smiley: face, eyes, mouth
        t = np.linspace(0, 2 * np.pi, 40)
        face = np.stack([np.cos(t), np.sin(t)], 1)
        mouth = np.stack([0.5 * np.cos(np.linspace(0.3, np.pi - 0.3, 12)),
                          0.2 + 0.4 * np.sin(np.linspace(0.3, np.pi - 0.3, 12))], 1)
        return [face, _polyline([[-0.35, -0.3], [-0.33, -0.25]]),
                _polyline([[0.35, -0.3], [0.37, -0.25]]), mouth]
    t = np.linspace(0, 2 * np.pi, 60)  # heart
    return [np.stack([16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t)
                                             - 2 * np.cos(3 * t) - np.cos(4 * t))], 1)]


def _extent(strokes) -> tuple[np.ndarray, np.ndarray]:
    points = np.concatenate(strokes)
    return points.min(axis=0), points.max(axis=0)


def _crossed(digit, rng) -> list[np.ndarray]:
    low, high = _extent(digit)
    size = high - low
    if rng.random() < 0.5:  # zigzag over it
        n = int(rng.integers(5, 10))
        x = np.linspace(-0.1, 1.1, n)
        y = np.where(np.arange(n) % 2 == 0, 0.1, 0.9) + rng.normal(0, 0.05, n)
        strike = [np.stack([x, y], 1) * size + low]
    else:  # an X over it
        strike = [_polyline([[0, 0], [1, 1]]) * size + low,
                  _polyline([[1, 0], [0, 1]]) * size + low]
    return list(digit) + strike


def _straight(stroke: np.ndarray) -> bool:
    """Is the stroke nearly a straight line (its points within 8% of its length of the chord)?"""
    if len(stroke) < 3:
        return True
    chord = stroke[-1] - stroke[0]
    length = float(np.hypot(*chord))
    spread = float(np.ptp(stroke, axis=0).max())
    if length < 0.5 * spread:
        return False
    off = np.abs(np.cross(chord, stroke - stroke[0])) / max(length, 1e-9)
    return float(off.max()) < 0.08 * max(length, 1e-9)


def _fragment(digit, rng) -> list[np.ndarray] | None:
    strokes = list(digit)
    if len(strokes) > 1 and rng.random() < 0.5:
        keep = rng.permutation(len(strokes))[:int(rng.integers(1, len(strokes)))]
        part = [strokes[k] for k in sorted(keep)]
    else:
        k = int(rng.integers(len(strokes)))
        stroke = strokes[k]
        if len(stroke) < 6:
            return None
        cut = int(len(stroke) * _u(rng, 0.3, 0.65))
        piece = stroke[:cut] if rng.random() < 0.5 else stroke[cut:]
        part = [piece] + ([s for j, s in enumerate(strokes) if j != k] if rng.random() < 0.3
                          else [])
    if len(part) == 1 and _straight(part[0]):
        return None
    low, high = _extent(part)
    d_low, d_high = _extent(strokes)
    if (high - low).max() < 0.3 * (d_high - d_low).max():  # a speck, not a fragment
        return None
    return part


def _squeezed(first, second, rng) -> list[np.ndarray]:
    """Two digits side by side, from overlapping by a third of the first one's height to 0.15 of
    it apart (what a grouping that takes two close digits for one reads)."""
    low1, high1 = _extent(first)
    low2, high2 = _extent(second)
    h1, h2 = max(high1[1] - low1[1], 1e-9), max(high2[1] - low2[1], 1e-9)
    scale = h1 / h2
    gap = _u(rng, -0.3, 0.15) * h1
    shift = np.array([high1[0] + gap - low2[0] * scale, low1[1] - low2[1] * scale])
    return list(first) + [s * scale + shift for s in second]


def not_digit_strokes(digits, rng: np.random.Generator, n: int,
                      kinds: tuple[str, ...] = KINDS) -> tuple[list[list[np.ndarray]], list[str]]:
    """``n`` drawings that are not digits, as strokes, and the kind of each.

    Inputs:  digits, real digits (anything with ``.strokes`` and ``.writer``) to cross out,
             break and squeeze together; kinds, which of KINDS to make, in turn.
    Returns: (drawings, kinds): strokes float64 (P, 2) each, y down, in any units.
    """
    by_writer: dict[str, list] = {}
    for d in digits:
        by_writer.setdefault(d.writer, []).append(d)
    writers = sorted(by_writer)
    drawings, made = [], []
    while len(drawings) < n:
        kind = kinds[len(drawings) % len(kinds)]
        digit = digits[int(rng.integers(len(digits)))]
        if kind == "scribble":
            strokes = _scribble(rng)
        elif kind == "shape":
            strokes = _shape(rng)
        elif kind == "crossed":
            strokes = _crossed(list(digit.strokes), rng)
        elif kind == "fragment":
            strokes = _fragment(list(digit.strokes), rng)
        else:
            own = by_writer[writers[int(rng.integers(len(writers)))]]
            a, b = (own[int(k)] for k in rng.integers(len(own), size=2))
            strokes = _squeezed(list(a.strokes), list(b.strokes), rng)
        if strokes is None:
            continue
        drawings.append([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])
        made.append(kind)
    return drawings, made
