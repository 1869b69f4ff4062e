"""UNIPEN's isolated digits: real people's pen trajectories, read from their JSON-lines files.

    digits = load_unipen(resolve_unipen_dir(None), "train")   # --unipen-dir, else $UNIPEN_DIR,
    digits[0].strokes, digits[0].label, digits[0].writer, digits[0].lab   # else ../shared/unipen

The isolated-digit category of UNIPEN train_r01_v07 (Guyon, Schomaker, Plamondon, Liberman and
Janet, "UNIPEN project of on-line data exchange and recognizer benchmarks", ICPR 1994; Unipen
Consortium 1999, doi:10.5281/zenodo.1195803, CC BY 4.0): 15,466 digits written with a stylus on
tablets by 258 people at 13 labs, split by writer into train (200 writers) and test (58). The
files are never part of this repository; this module reads them from where they are. Use
"train" for training and choices, "test" only to measure.

A line is {"label": 0..9, "writer": "...", "id": "unipen-1a/<lab>/...", "strokes": [[[x, y],
...], ...]}, the pen-down traces in drawing order, in each tablet's own units, y down.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "test")
DEFAULT_DIRS = (Path("data") / "unipen", Path("..") / "shared" / "unipen")
# Labs left out of training and of the held-out writers' scores: about 6% of IBM's labels are
# stroke fragments (the stem of a 4 labelled 4, the slash of a 0 labelled 0), which teach a
# network to call a stick a 4.
NOISY_LABS = ("ibm",)
VALIDATION = "0/7"  # the training writers train.py holds out unless told otherwise


@dataclass(frozen=True)
class PenDigit:
    """One digit as a person wrote it: strokes float64 (P, 2) each, its label, who and where."""
    strokes: tuple[np.ndarray, ...]
    label: int
    writer: str
    lab: str


def resolve_unipen_dir(unipen_dir: str | None) -> Path | None:
    """The UNIPEN folder: the argument, else $UNIPEN_DIR, else data/unipen/ or ../shared/unipen/
    when they hold the files; None when there is none (training then goes on without it)."""
    return resolve_pen_dir(unipen_dir, "UNIPEN_DIR", DEFAULT_DIRS)


def resolve_pen_dir(given: str | None, variable: str, defaults: tuple[Path, ...]) -> Path | None:
    """A folder of pen digits in this format: ``given``, else $``variable``, else the first of
    ``defaults`` holding a train.jsonl.gz; None when there is none."""
    if given:
        return Path(given).expanduser()
    if os.environ.get(variable):
        return Path(os.environ[variable]).expanduser()
    for folder in defaults:
        if (folder / "train.jsonl.gz").is_file():
            return folder
    return None


def load_unipen(folder: str | os.PathLike, split: str) -> list[PenDigit]:
    """Every digit of one split, in file order.

    Raises FileNotFoundError (naming the file and what to do) or ValueError (naming the line)
    for a missing or damaged file.
    """
    return load_pen_digits(folder, split, "UNIPEN", "unipen")


def load_pen_digits(folder: str | os.PathLike, split: str, name: str,
                    option: str) -> list[PenDigit]:
    """load_unipen for any source in UNIPEN's format: ``name`` ("UNIPEN", "pendigits") and
    ``option`` ("unipen": --unipen-dir and $UNIPEN_DIR) say in its errors which data it is."""
    if split not in SPLITS:
        raise ValueError(f"unknown {name} split {split!r}: use 'train' or 'test'")
    path = Path(folder) / f"{split}.jsonl.gz"
    if not path.is_file():
        owner = name + ("'" if name.endswith("s") else "'s")
        raise FileNotFoundError(f"{path} is missing: point --{option}-dir or "
                                f"{option.upper()}_DIR at the folder holding {owner} "
                                "train.jsonl.gz and test.jsonl.gz")
    digits = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    row = json.loads(line)
                    strokes = pen_strokes(row)
                    label = int(row["label"])
                    if not strokes or not 0 <= label <= 9:
                        raise ValueError("no strokes, or a label outside 0..9")
                    digits.append(PenDigit(strokes, label, str(row["writer"]),
                                           str(row["id"]).split("/")[1]))
                except (KeyError, IndexError, TypeError, ValueError) as e:
                    raise ValueError(f"{path}, line {number}, is not a {name} digit ({e}): "
                                     "the file is damaged; fetch it again") from None
    except (OSError, EOFError) as e:
        raise ValueError(f"{path} cannot be read ({e}): the file is damaged; fetch it "
                         "again") from None
    return digits


def pen_strokes(row: dict) -> tuple[np.ndarray, ...]:
    """A record's non-empty pen-down traces as float64 arrays (P, 2) of (x, y), y down; the
    jsonl rows of UNIPEN's digits and letters (and pendigits') all hold them as "strokes"."""
    return tuple(np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in row["strokes"] if len(s))


def parse_holdout(spec: str) -> tuple[int, int]:
    """"K/N" -> (K, N), 0 <= K < N: the training writers whose id hashes to K mod N.

    Raises ValueError saying what is expected."""
    k, slash, n = spec.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and int(k) < int(n)):
        raise ValueError(f"expected K/N with 0 <= K < N, like 0/7 or 2/4, got {spec!r}")
    return int(k), int(n)


def is_held_out(writer: str, spec: str = VALIDATION) -> bool:
    """Whether a writer is in the K/N share of ``spec``: the same writers in every run, and the
    N shares K = 0..N-1 split the writers into N disjoint folds of about equal size."""
    k, n = parse_holdout(spec)
    return int(hashlib.sha256(writer.encode()).hexdigest(), 16) % n == k


def split_writers(digits: list[PenDigit], spec: str = VALIDATION,
                  ) -> tuple[list[PenDigit], list[PenDigit]]:
    """(kept, held out): the digits of writers outside and inside the K/N share of ``spec``,
    NOISY_LABS left out of both. Raises ValueError for a bad spec."""
    parse_holdout(spec)
    digits = [d for d in digits if d.lab not in NOISY_LABS]
    held = [is_held_out(d.writer, spec) for d in digits]
    return ([d for d, h in zip(digits, held) if not h], [d for d, h in zip(digits, held) if h])
