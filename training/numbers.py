"""Numbers composed from one writer's own digits, as a person would write them in a row.

    numbers = compose_numbers(digits, rng, count=200, length=4)    # digits: PenDigit list
    numbers[0].strokes, numbers[0].text, numbers[0].gap            # "4071", "close"
    png = number_png(numbers[0], rng)                              # drawn on a canvas

Each number takes 1 to 8 digits of one writer (so one hand, one size and one tablet's units) and
writes them left to right: every digit about the writer's median digit height, the baseline
drifting (a slope and a wobble), the whole number slanted, and the blanks between digits of
one kind per number, from ink touching to wide (GAPS, in units of the writer's digit height).

What this is not: a model of how people write numbers in one stroke or join digits with ligatures;
the digits were each written alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digits.canvas import render, to_png

# blank between neighbouring digits' ink, as a share of the writer's digit height
GAPS = {"touching": (-0.08, 0.0), "close": (0.02, 0.15), "normal": (0.15, 0.4),
        "wide": (0.4, 0.9)}
DRIFT = 0.08  # slope of the baseline, either way, and ...
WOBBLE = 0.05  # ... each digit's own step off it, in digit heights
SLANT = 10.0  # degrees of shear, either way
SIZE_JITTER = 0.08  # each digit is the writer's median height, give or take this share
# canvases: the digits' height in px, the pen as a share of it, backgrounds
PNG_HEIGHT = (40, 110)
PNG_PEN = (0.06, 0.16)
BACKGROUNDS = ("transparent", "white", "black")


@dataclass(frozen=True)
class Number:
    """A composed number: strokes float64 (P, 2) each (y down, the writer's units), the digits it
    says, which digit each stroke belongs to, the writer and the kind of gap."""
    strokes: tuple[np.ndarray, ...]
    text: str
    owner: tuple[int, ...]
    writer: str
    gap: str


def by_writer(digits) -> dict[str, list]:
    """The digits of each writer, writers with fewer than 10 digits left out."""
    out: dict[str, list] = {}
    for d in digits:
        out.setdefault(d.writer, []).append(d)
    return {w: ds for w, ds in sorted(out.items()) if len(ds) >= 10}


def compose(own: list, rng: np.random.Generator, length: int, gap: str, writer: str = ""
            ) -> Number:
    """One number of ``length`` digits drawn at random from ``own`` (one writer's digits)."""
    picks = [own[int(k)] for k in rng.integers(len(own), size=length)]
    heights = [float(np.ptp(np.concatenate(d.strokes)[:, 1])) for d in own]
    height = max(float(np.median(heights)), 1e-9)
    slope, shear = rng.uniform(-DRIFT, DRIFT), np.tan(np.radians(rng.uniform(-SLANT, SLANT)))
    strokes, owner, right = [], [], 0.0
    for i, d in enumerate(picks):
        points = np.concatenate(d.strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        scale = height / max(high[1] - low[1], 1e-9) * rng.uniform(1 - SIZE_JITTER,
                                                                  1 + SIZE_JITTER)
        bottom = height * (slope * i + rng.normal(0, WOBBLE))
        placed = [(s - [low[0], high[1]]) * scale for s in d.strokes]  # left, bottom at 0
        placed = [np.stack([s[:, 0] - shear * s[:, 1], s[:, 1]], axis=1) for s in placed]
        left = min(float(s[:, 0].min()) for s in placed)
        offset = (right + rng.uniform(*GAPS[gap]) * height if i else 0.0) - left
        placed = [s + [offset, bottom] for s in placed]
        right = max(float(s[:, 0].max()) for s in placed)
        strokes += placed
        owner += [i] * len(placed)
    return Number(tuple(strokes), "".join(str(d.label) for d in picks), tuple(owner), writer, gap)


def compose_numbers(digits, rng: np.random.Generator, count: int, length: int,
                    gaps: tuple[str, ...] = tuple(GAPS)) -> list[Number]:
    """``count`` numbers of ``length`` digits, each of one writer (chosen in turn at random),
    the gap kinds in turn."""
    writers = by_writer(digits)
    names = sorted(writers)
    out = []
    for k in range(count):
        writer = names[int(rng.integers(len(names)))]
        out.append(compose(writers[writer], rng, length, gaps[k % len(gaps)], writer))
    return out


def number_png(number: Number, rng: np.random.Generator) -> bytes:
    """The number drawn on a canvas as a person's PNG: digits PNG_HEIGHT px tall, a round pen
    PNG_PEN of that, a margin around, one of BACKGROUNDS; never over 2048 px a side."""
    points = np.concatenate(number.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    heights = [np.ptp(np.concatenate([s for s, o in zip(number.strokes, number.owner) if o == i]
                                     )[:, 1]) for i in sorted(set(number.owner))]
    tall = rng.uniform(*PNG_HEIGHT)
    scale = min(tall / max(float(np.median(heights)), 1e-9), 1800 / max(float((high - low).max()),
                                                                         1e-9))
    pen = max(2.0, rng.uniform(*PNG_PEN) * tall)
    margin = pen + rng.uniform(5, 40)
    placed = [(s - low) * scale + margin for s in number.strokes]
    width, height = ((high - low) * scale + 2 * margin).astype(int) + 1
    ink = render(placed, (int(height), int(width)), pen, smoothing=False)
    return to_png(ink, BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))])
