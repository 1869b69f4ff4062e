"""Where to cut a blob of ink that may be several digits touching: paths that follow the ink.

    paths = cut_paths(blob, height)      # blob: float32 (H, W) ink of one connected blob
    parts = split_along(blob > 0, paths) # int (H, W): 0 no ink, 1.. the strips left to right

Two digits that touch rarely meet along a straight column: a slanted number, a 7's bar reaching
under the next digit, two round digits kissing at one point. So each cut is a path from the
blob's top row to its bottom row that may step one column left or right per row, and crosses
as little ink as it can (dynamic programming, row by row, as in seam carving): it slips through
the gap beside a slanted stroke and crosses the ink where two digits meet, at its thinnest.
Paths start every START_STEP of the height across the blob and may wander BAND of the height
from where they start; the cheapest ones, SPACING of the height apart, are kept.

A path proposes; it does not decide. The strips between paths are the atoms that
digits.numbers groups back into digits by how well the network reads them, so a cut through
the middle of a digit costs nothing but a few more candidates.

What this is not: thinning the ink back into strokes, or cutting digits that overlap so much
that no path between them exists.
"""

from __future__ import annotations

import numpy as np

START_STEP = 0.08  # a path starts every this share of the height across the blob
BAND = 0.3  # a path stays within this share of the height of its start column
DRIFT = 1.0  # a pixel this far (a height) from the path's start costs this much ink
STEP_COST = 0.05  # what a sideways step costs, in pixels of full ink (straight paths win ties)
SPACING = 0.1  # kept paths lie at least this share of the height apart (mean column)
CUTS_PER_HEIGHT = 5  # at most this many paths per height of the blob's width
SIDE = 0.05  # a kept path has at least this share of the blob's ink on either side
EDGE = 0.15  # no path comes closer than this share of the height to the blob's sides


def cut_paths(blob: np.ndarray, height: float) -> list[np.ndarray]:
    """Cut paths through a blob, float32 (H, W) ink (0 off the blob), the writing ``height``
    px tall: int (H,) arrays, the column of each row, left to right. Cheapest first are kept
    (the ink they cross), SPACING apart, at most CUTS_PER_HEIGHT per height of width."""
    h, w = blob.shape
    edge = max(1, int(EDGE * height))
    starts = np.arange(edge, w - edge, max(1, int(START_STEP * height)))
    if len(starts) == 0:
        return []
    band = max(1, int(BAND * height))
    columns = np.arange(w)
    outside = ((np.abs(columns[None, :] - starts[:, None]) > band)  # (K, W): off each band,
               | (columns < edge) | (columns >= w - edge))  # or too near the sides
    # each pixel's cost: its ink, plus DRIFT per column away from the path's start
    drift = DRIFT * np.abs(columns[None, :] - starts[:, None]) / height  # (K, W)
    cost = np.where(outside, np.inf, blob[0][None, :] + drift)  # (K, W): cheapest path to row 0
    moves = np.zeros((h, len(starts), w), dtype=np.int8)  # -1, 0, +1: where each came from
    for r in range(1, h):
        left = np.concatenate([np.full((len(starts), 1), np.inf), cost[:, :-1]], axis=1)
        right = np.concatenate([cost[:, 1:], np.full((len(starts), 1), np.inf)], axis=1)
        options = np.stack([left + STEP_COST, cost, right + STEP_COST])  # (3, K, W)
        pick = np.argmin(options, axis=0)  # 0: from x-1, 1: from x, 2: from x+1
        moves[r] = pick - 1
        cost = np.take_along_axis(options, pick[None], axis=0)[0] + blob[r][None, :] + drift
        cost[outside] = np.inf
    paths, totals = [], []
    for k in range(len(starts)):
        x = int(np.argmin(cost[k]))
        totals.append(float(cost[k, x]))
        path = np.empty(h, dtype=np.int64)
        for r in range(h - 1, -1, -1):
            path[r] = x
            x += int(moves[r, k, x])
        paths.append(path)
    kept: list[np.ndarray] = []
    limit = max(1, int(CUTS_PER_HEIGHT * w / height))
    total = float(blob.sum())
    for k in np.argsort(totals, kind="stable"):
        if len(kept) == limit:
            break
        left = float(blob[columns[None, :] < paths[k][:, None]].sum())
        if min(left, total - left) < SIDE * total:
            continue  # it goes round the ink (a slanted blob's empty corner) and parts nothing
        if all(abs(paths[k].mean() - p.mean()) >= SPACING * height for p in kept):
            kept.append(paths[k])
    return sorted(kept, key=lambda p: p.mean())


def split_along(mask: np.ndarray, paths: list[np.ndarray]) -> np.ndarray:
    """bool (H, W) ink -> int (H, W): 0 off the ink, else 1 + the number of ``paths`` (int (H,)
    each, ordered left to right) at or left of the pixel in its row: the strips between cuts."""
    columns = np.arange(mask.shape[1])[None, :]  # (1, W)
    strip = np.zeros(mask.shape, dtype=np.int64)
    for path in paths:
        strip += columns >= path[:, None]
    return np.where(mask, strip + 1, 0)
