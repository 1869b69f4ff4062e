"""The drawings people label on the page, kept in one SQLite file (the standard library's sqlite3).

    store = DrawingStore("data/drawings.sqlite")           # created on first use, WAL mode
    row = store.add(label=9, input=x28, strokes=[[[x, y], ...]], predicted=4, person="a1b2...")
    store.stats()                # {"count": N, "by_label": [10 ints], ...}: counts, never drawings
    x, y = read_drawings("data/drawings.sqlite")           # for train.py --drawings
    export_idx("data/drawings.sqlite", "data/drawings-idx")  # IDX files for other tools

A row holds what the person drew (the strokes as sent, or the PNG), the 28x28 the network saw
(float32, exactly), the label the person gave, the network's prediction, the model's file name,
the person's opaque id and the time. Nothing is lost: every write is one transaction committed
with synchronous=FULL before the caller hears "saved", so a process killed mid-write leaves the
file as it was before or after that row. Each call opens its own connection (about 0.2 ms), so
any number of threads, or processes, may share the file; SQLite's lock orders their writes.

The errors say what happened and what to do: StoreCorruptError (the file is not a database of
drawings: refuse to start), StoreUnavailableError (the disk is full or read-only: the caller
keeps working without saving), RateLimitError (too many rows this minute), and StoreInputError
for a bad label, prediction or person id.

What this module is not: a way to hand drawings back to the web. Only counts leave it through
the server; read_drawings and export_idx are for the person who runs the server.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import numpy as np

from nn.data import write_idx

DEFAULT_PATH = Path("data") / "drawings.sqlite"
SCHEMA_VERSION = 1
# Rows per minute: a person labels a drawing every few seconds at most, so 30 a minute is a busy
# person; 120 a minute is a classroom. Either cap also bounds the disk: a strokes row is ~5 KB.
MAX_PER_MINUTE = 120
MAX_PER_PERSON_PER_MINUTE = 30
PERSON = re.compile(r"[A-Za-z0-9_-]{8,64}")  # what the page makes: 32 random hex digits
INPUT_BYTES = 28 * 28 * 4  # float32
SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: an id is never reused
    created   REAL    NOT NULL,                   -- Unix time, seconds
    person    TEXT,                               -- the page's opaque id, or NULL
    label     INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER CHECK (predicted BETWEEN 0 AND 9),
    model     TEXT    NOT NULL,                   -- the weights file that made the prediction
    strokes   TEXT,                               -- JSON [[[x, y], ...], ...] as sent, or NULL
    pen       REAL,                               -- the pen width sent with the strokes
    image     BLOB,                               -- the PNG as sent, or NULL
    input     BLOB    NOT NULL CHECK (length(input) = 3136)  -- float32 (28, 28), 1.0 = ink
);
CREATE INDEX IF NOT EXISTS drawings_created ON drawings (created);
CREATE INDEX IF NOT EXISTS drawings_person ON drawings (person, id);
"""


class StoreError(Exception):
    """Something about the drawings database, in a sentence for a person."""


class StoreCorruptError(StoreError):
    """The file is not a usable database of drawings: the server must not start on it."""


class StoreUnavailableError(StoreError):
    """The database cannot be written now (disk full, read-only, I/O error)."""


class RateLimitError(StoreError):
    """More rows this minute than the store takes; `retry_after` seconds until one fits."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class StoreInputError(StoreError, ValueError):
    """A label, prediction or person id that is not what the API takes (HTTP 400)."""


# ------------------------------------------------------------------------------------------------
# checking what a request says


def check_digit(value, name: str, required: bool) -> int | None:
    """A digit 0..9 from JSON (an int, not a bool or 7.0), None when absent and not required."""
    if value is None and not required:
        return None
    if value is None:
        raise StoreInputError(f'"{name}" is missing: send the digit the person says it is, a '
                              "whole number from 0 to 9.")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise StoreInputError(f'"{name}" must be a whole number from 0 to 9; got '
                              f"{json.dumps(value)[:20]}.")
    return value


def check_person(value) -> str | None:
    """The page's opaque id: 8 to 64 letters, digits, '-' or '_'; None when absent."""
    if value is None:
        return None
    if not isinstance(value, str) or not PERSON.fullmatch(value):
        raise StoreInputError('"person" must be an opaque id of 8 to 64 letters, digits, "-" or '
                              '"_" (the page makes one and keeps it in localStorage).')
    return value


# ------------------------------------------------------------------------------------------------
# the store


class DrawingStore:
    """One SQLite file of labelled drawings; safe to share between threads and processes.

    Opening checks the file: a file that is not a database of drawings raises StoreCorruptError.
    A file that cannot be created or written (read-only or full disk) does not raise: `problem`
    says why, and every later call tries again, so the store recovers when the disk does.
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, max_per_minute: int = MAX_PER_MINUTE,
                 max_per_person_per_minute: int = MAX_PER_PERSON_PER_MINUTE, clock=time.time):
        self.path = Path(path)
        self.max_per_minute = max_per_minute
        self.max_per_person_per_minute = max_per_person_per_minute
        self.clock = clock
        self.problem: str | None = None
        self._ready = False
        try:
            self._prepare()
        except StoreUnavailableError as err:
            self.problem = str(err)

    # -------------------------------------------------------------------------- writing

    def add(self, *, label: int, input: np.ndarray, model: str, predicted: int | None = None,
            person: str | None = None, strokes: list | None = None, pen: float | None = None,
            image: bytes | None = None) -> int:
        """Keep one labelled drawing; return its id once it is safely on disk.

        input: float32 (28, 28), the picture the network saw. strokes (JSON lists, as checked by
        digits.drawing.load_strokes) or image (PNG bytes): what the person drew.
        Raises StoreInputError, RateLimitError or StoreUnavailableError.
        """
        label = check_digit(label, "label", required=True)
        predicted = check_digit(predicted, "predicted", required=False)
        person = check_person(person)
        pixels = np.ascontiguousarray(input, dtype="<f4")
        if pixels.shape != (28, 28):
            raise StoreInputError(f"input must be 28x28, got {pixels.shape}")
        row = (label, predicted, person, model, None if strokes is None else
               json.dumps(strokes, separators=(",", ":")), pen, image, pixels.tobytes())
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the count and the insert see the same table
            try:
                now = self.clock()
                self._check_rate(db, now, person)
                cursor = db.execute(
                    "INSERT INTO drawings (created, label, predicted, person, model, strokes, "
                    "pen, image, input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (now, *row))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return int(cursor.lastrowid)

    def _check_rate(self, db: sqlite3.Connection, now: float, person: str | None) -> None:
        """RateLimitError when the last minute already holds the most rows we take."""
        since = now - 60
        checks = [("", (), self.max_per_minute, "drawings from everyone")]
        if person is not None:
            checks.append((" AND person = ?", (person,), self.max_per_person_per_minute,
                           "of your drawings"))
        for where, args, cap, whose in checks:
            count, oldest = db.execute(f"SELECT COUNT(*), MIN(created) FROM drawings WHERE "
                                       f"created > ?{where}", (since, *args)).fetchone()
            if count >= cap:
                wait = max(1, int(oldest + 60 - now) + 1)
                raise RateLimitError(f"This server keeps at most {cap} {whose} a minute; "
                                     f"please try again in {wait} seconds.", wait)

    # -------------------------------------------------------------------------- reading

    def stats(self) -> dict:
        """Counts only: {"count", "by_label": [10], "corrected", "confirmed", "people",
        "last_minute", "max_per_minute"}."""
        with self._connect() as db:
            by_label = [0] * 10
            for label, n in db.execute("SELECT label, COUNT(*) FROM drawings GROUP BY label"):
                by_label[label] = n
            corrected, confirmed, people = db.execute(
                "SELECT COALESCE(SUM(predicted IS NOT NULL AND predicted != label), 0), "
                "COALESCE(SUM(predicted = label), 0), COUNT(DISTINCT person) FROM drawings"
            ).fetchone()
            last_minute = db.execute("SELECT COUNT(*) FROM drawings WHERE created > ?",
                                     (self.clock() - 60,)).fetchone()[0]
        return {"count": sum(by_label), "by_label": by_label, "corrected": corrected,
                "confirmed": confirmed, "people": people, "last_minute": last_minute,
                "max_per_minute": self.max_per_minute}

    def examples(self, person: str, limit: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """A person's latest `limit` labelled drawings, oldest first: inputs float32 (N, 28, 28)
        and labels int64 (N,). Raises StoreUnavailableError when the file cannot be read."""
        with self._connect() as db:
            rows = db.execute("SELECT input, label FROM drawings WHERE person = ? "
                              "ORDER BY id DESC LIMIT ?", (check_person(person), limit)).fetchall()
        return _arrays(rows[::-1])

    def examples_if_readable(self, person: str) -> tuple[np.ndarray, np.ndarray] | None:
        """examples(person), or None when the file cannot be read now: a prediction then goes
        on without the person's drawings (web.corrections.Reader asks again next time)."""
        try:
            return self.examples(person)
        except StoreError:
            return None

    # -------------------------------------------------------------------------- the file

    def _prepare(self) -> None:
        """Check the file and create the table, once; StoreCorruptError / StoreUnavailableError."""
        _check_header(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreUnavailableError(f"The drawings database {self.path} cannot be created "
                                        f"({err.strerror}).") from None
        with _Connection(self.path) as db:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _corrupt(self.path, "SQLite's quick_check finds it damaged")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")} - {"sqlite_sequence"}
            if version != SCHEMA_VERSION and (version or tables):
                raise _corrupt(self.path, f"it is a SQLite database but not one of drawings "
                                          f"(version {version}, tables {sorted(tables)})")
            if version == 0:
                db.execute("PRAGMA journal_mode = WAL")  # stays set in the file
                db.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; "
                                 "COMMIT;")
        self._ready, self.problem = True, None

    def _connect(self):
        """A fresh connection that is closed afterwards, errors turned into StoreErrors."""
        if not self._ready:
            try:
                self._prepare()
            except StoreUnavailableError as err:
                self.problem = str(err)
                raise
        return _Connection(self.path)


class _Connection:
    """`with _Connection(path) as db`: a fresh connection, closed afterwards; sqlite3's errors
    leave as StoreErrors that name the file."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
            self.db.execute("PRAGMA synchronous = FULL")  # "saved" means on disk, not in a cache
        except sqlite3.DatabaseError as err:
            raise _explain(path, err) from None

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, kind, err, trace) -> None:
        self.db.close()
        if isinstance(err, sqlite3.DatabaseError):
            raise _explain(self.path, err) from None


def _corrupt(path: Path, why: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"{path} cannot be used as the drawings database: {why}. Move it aside "
        f"(mv {path} {path}.broken) and start again to begin a new one, or pass --db with "
        "another file.")


def _explain(path: Path, err: sqlite3.DatabaseError) -> StoreError:
    """A StoreError naming the file, what happened and what still works."""
    code = getattr(err, "sqlite_errorname", "")  # Python 3.11+; the message is read otherwise
    text = str(err)
    if code in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text or (
            "not a database" in text):
        return _corrupt(path, f"SQLite says: {text}")
    if code == "SQLITE_FULL" or "is full" in text:
        why = "the disk is full"
    elif code.startswith("SQLITE_READONLY") or "readonly" in text:
        why = "it is read-only"
    elif code.startswith("SQLITE_BUSY") or "locked" in text:
        why = "another process holds it locked"
    elif code.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        why = f"the disk refused to write ({text}): it may be full or failing"
    else:
        why = f"SQLite says: {text}"
    return StoreUnavailableError(f"Drawings cannot be saved in {path} now ({why}); predictions "
                                 "still work.")


def _check_header(path: Path) -> None:
    """StoreCorruptError unless an existing, non-empty file starts as SQLite files do."""
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as f:
            if f.read(16) != SQLITE_HEADER:
                raise _corrupt(path, "it is not a SQLite database")


def _arrays(rows) -> tuple[np.ndarray, np.ndarray]:
    """(input blob, label) rows -> float32 (N, 28, 28) and int64 (N,)."""
    x = np.frombuffer(b"".join(blob for blob, _ in rows), dtype="<f4").reshape(-1, 28, 28)
    return x.astype(np.float32), np.array([label for _, label in rows], dtype=np.int64)


# ------------------------------------------------------------------------------------------------
# for the person who runs the server: training data and IDX files


def read_drawings(path: str | Path, upto: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Every stored drawing with id <= upto (all when None): inputs float32 (N, 28, 28) in 0..1,
    labels int64 (N,), and the largest id read (0 when none), so a later call can read the same
    rows again. Raises StoreError naming the file when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no drawings database at {path}: start serve.py with --db {path} and "
                         "label some drawings on the page first")
    _check_header(path)
    with _Connection(path) as db:
        try:
            rows = db.execute("SELECT input, label, id FROM drawings WHERE id <= ? ORDER BY id",
                              (2**62 if upto is None else upto,)).fetchall()
        except sqlite3.OperationalError as err:
            if "no such" not in str(err):
                raise
            raise _corrupt(path, f"it is a SQLite database but not one of drawings ({err})"
                           ) from None
    x, y = _arrays([(blob, label) for blob, label, _ in rows])
    return x, y, (rows[-1][2] if rows else 0)


def export_idx(path: str | Path, folder: str | Path) -> tuple[Path, Path, int]:
    """Write the stored drawings as MNIST-style IDX files in `folder`:
    drawings-images-idx3-ubyte.gz (uint8 (N, 28, 28), 255 = ink, like MNIST) and
    drawings-labels-idx1-ubyte.gz (uint8 (N,)). Returns their paths and N."""
    x, y, _ = read_drawings(path)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = folder / "drawings-images-idx3-ubyte.gz"
    labels = folder / "drawings-labels-idx1-ubyte.gz"
    write_idx(images, np.clip(np.rint(x * 255), 0, 255).astype(np.uint8))
    write_idx(labels, y.astype(np.uint8))
    return images, labels, len(y)
