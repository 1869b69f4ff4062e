"""The drawings people label on the page, kept in one database: a SQLite file or PostgreSQL.

    store = DrawingStore("data/drawings.sqlite")           # created on first use, WAL mode
    store = DrawingStore("postgresql://digits@db:5432/digits")   # or shared by many servers
    row = store.add(label=9, input=x28, strokes=[[[x, y], ...]], predicted=4, person="a1b2...")
    store.stats()                # {"count": N, "by_label": [10 ints], ...}: counts, never drawings
    store.version(person)        # changes whenever that person's drawings change (a cheap check)
    store.mine(person); store.delete(person, row); store.forget(person)   # theirs alone
    x, y, upto = read_drawings("data/drawings.sqlite")     # for train.py --drawings
    export_idx(where, "data/drawings-idx")                 # IDX files for other tools

A row holds what the person drew (the strokes as sent, or the PNG), the 28x28 the network saw
(float32, exactly), the label the person gave, the network's prediction, the model's file name,
the person's opaque id and the time. Nothing is lost: every write is one transaction, committed
(on disk: SQLite's synchronous=FULL, PostgreSQL's default synchronous_commit) before the caller
hears "saved". Any number of threads, processes and machines may share the database; the
database orders their writes. The SQL is written once, here; what differs between the two
databases (connecting, creating the table, locking, their errors) is a small dialect:
web/store_sqlite.py and web/store_pg.py.

The errors say what happened and what to do: StoreCorruptError (not a database of drawings:
refuse to start), StoreUnavailableError (a full or read-only disk, a database that does not
answer: the caller keeps working without saving), RateLimitError (too many rows this minute),
and StoreInputError for a bad label, prediction or person id.

What this module is not: a way to hand drawings to anyone but their owner. Counts leave through
the server, and a person's own list (ids, labels, times) to that person; read_drawings and
export_idx are for the person who runs the server.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from nn.data import write_idx

DEFAULT_PATH = Path("data") / "drawings.sqlite"
# Rows per minute: a person labels a drawing every few seconds at most, so 30 a minute is a busy
# person; 120 a minute is a classroom. Either cap also bounds the disk: a strokes row is ~5 KB.
MAX_PER_MINUTE = 120
MAX_PER_PERSON_PER_MINUTE = 30
MAX_LISTED = 500  # a person's latest drawings that vote (web.corrections) and that mine() lists
PERSON = re.compile(r"[A-Za-z0-9_-]{8,64}")  # what the page makes: 32 random hex digits
INPUT_BYTES = 28 * 28 * 4  # float32
COLUMNS = ["id", "created", "person", "label", "predicted", "model", "strokes", "pen", "image",
           "input"]


class StoreError(Exception):
    """Something about the drawings database, in a sentence for a person."""


class StoreCorruptError(StoreError):
    """The database is not a usable one of drawings: the server must not start on it."""


class StoreUnavailableError(StoreError):
    """The database cannot be written or read now (disk full, read-only, not answering)."""


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


def check_person(value, required: bool = False) -> str | None:
    """The page's opaque id: 8 to 64 letters, digits, '-' or '_'; None when absent."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not PERSON.fullmatch(value):
        raise StoreInputError('"person" must be an opaque id of 8 to 64 letters, digits, "-" or '
                              '"_" (the page makes one and keeps it in localStorage).')
    return value


def unavailable(name: str, why: str) -> StoreUnavailableError:
    """The one sentence for a database that cannot be used now, whichever it is."""
    return StoreUnavailableError(f"Drawings cannot be saved in {name} now ({why}); predictions "
                                 "still work.")


def dialect_for(where: str | Path):
    """The dialect for a SQLite path or a postgresql:// URL (psycopg is imported only then)."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        from web.store_pg import PostgresDialect
        return PostgresDialect(text)
    from web.store_sqlite import SqliteDialect
    return SqliteDialect(Path(where))


# ------------------------------------------------------------------------------------------------
# the store


class DrawingStore:
    """One database of labelled drawings; safe to share between threads, processes and machines.

    where: a SQLite file (created with its folder on first use) or a postgresql:// URL.
    Opening checks the database: one that is not of drawings raises StoreCorruptError. One that
    cannot be created or reached now does not raise: `problem` says why, and every later call
    tries again, so the store recovers when the disk or the database does.
    """

    def __init__(self, where: str | Path = DEFAULT_PATH, *, max_per_minute: int = MAX_PER_MINUTE,
                 max_per_person_per_minute: int = MAX_PER_PERSON_PER_MINUTE, clock=time.time):
        self.dialect = dialect_for(where)
        self.name = self.dialect.name  # a path, or the URL without its password
        self.path = getattr(self.dialect, "path", None)  # SQLite's file, else None
        self.max_per_minute = max_per_minute
        self.max_per_person_per_minute = max_per_person_per_minute
        self.clock = clock
        self.problem: str | None = None
        self._ready = False
        try:
            self._connect_checked()
        except StoreUnavailableError as err:
            self.problem = str(err)

    # -------------------------------------------------------------------------- writing

    def add(self, *, label: int, input: np.ndarray, model: str, predicted: int | None = None,
            person: str | None = None, strokes: list | None = None, pen: float | None = None,
            image: bytes | None = None) -> int:
        """Keep one labelled drawing; return its id once it is committed.

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
        with self._connect() as db, self.dialect.writing(db):  # count and insert see one table
            now = self.clock()
            self._check_rate(db, now, person)
            return int(db.execute(
                "INSERT INTO drawings (created, label, predicted, person, model, strokes, pen, "
                "image, input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (now, *row)).fetchone()[0])

    def _check_rate(self, db, now: float, person: str | None) -> None:
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

    def delete(self, person: str, row: int) -> bool:
        """Remove one of the person's drawings (undo); False when they have none with that id
        (whether it does not exist or is someone else's: the answer does not say)."""
        with self._connect() as db, self.dialect.writing(db):
            return db.execute("DELETE FROM drawings WHERE id = ? AND person = ?",
                              (int(row), check_person(person, True))).rowcount > 0

    def forget(self, person: str) -> int:
        """Remove every drawing of the person; how many there were."""
        with self._connect() as db, self.dialect.writing(db):
            return db.execute("DELETE FROM drawings WHERE person = ?",
                              (check_person(person, True),)).rowcount

    # -------------------------------------------------------------------------- reading

    def stats(self) -> dict:
        """Counts only: {"count", "by_label": [10], "corrected", "confirmed", "people",
        "last_minute", "max_per_minute"}."""
        with self._connect() as db:
            by_label = [0] * 10
            for label, n in db.execute("SELECT label, COUNT(*) FROM drawings GROUP BY label"):
                by_label[label] = int(n)
            corrected, confirmed, people = db.execute(
                "SELECT COALESCE(SUM(CASE WHEN predicted != label THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN predicted = label THEN 1 ELSE 0 END), 0), "
                "COUNT(DISTINCT person) FROM drawings").fetchone()
            last_minute = db.execute("SELECT COUNT(*) FROM drawings WHERE created > ?",
                                     (self.clock() - 60,)).fetchone()[0]
        return {"count": sum(by_label), "by_label": by_label, "corrected": int(corrected),
                "confirmed": int(confirmed), "people": int(people),
                "last_minute": int(last_minute), "max_per_minute": self.max_per_minute}

    def version(self, person: str) -> tuple[int, int, int]:
        """(count, largest id, sum of ids) of the person's drawings: one index lookup, and
        different after any add, undo or forget (ids are never reused)."""
        with self._connect() as db:
            row = db.execute("SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(id), 0) FROM "
                             "drawings WHERE person = ?", (check_person(person, True),)
                             ).fetchone()
        return tuple(int(v) for v in row)

    def mine(self, person: str, limit: int = MAX_LISTED) -> list[dict]:
        """The person's latest `limit` drawings, newest first: {"id", "label", "predicted",
        "created"} each (no pixels, no strokes)."""
        with self._connect() as db:
            rows = db.execute("SELECT id, label, predicted, created FROM drawings WHERE "
                              "person = ? ORDER BY id DESC LIMIT ?",
                              (check_person(person, True), limit)).fetchall()
        return [{"id": int(row), "label": int(label),
                 "predicted": None if predicted is None else int(predicted),
                 "created": float(created)} for row, label, predicted, created in rows]

    def labelled(self, person: str, limit: int = MAX_LISTED) -> tuple[np.ndarray, np.ndarray]:
        """The ids and labels of the person's latest `limit` drawings, oldest first: int64 (N,)
        each."""
        with self._connect() as db:
            rows = db.execute("SELECT id, label FROM drawings WHERE person = ? ORDER BY id DESC "
                              "LIMIT ?", (check_person(person, True), limit)).fetchall()
        rows = np.array(rows[::-1], dtype=np.int64).reshape(-1, 2)
        return rows[:, 0], rows[:, 1]

    def inputs(self, person: str, ids) -> np.ndarray:
        """The 28x28 inputs of the person's drawings `ids` (at most MAX_LISTED), in that order:
        float32 (N, 28, 28). Raises StoreError if one is not there (deleted meanwhile)."""
        ids = [int(i) for i in ids][:MAX_LISTED]
        if not ids:
            return np.zeros((0, 28, 28), np.float32)
        with self._connect() as db:
            found = dict(db.execute(
                f"SELECT id, input FROM drawings WHERE person = ? AND id IN "
                f"({', '.join('?' * len(ids))})", (check_person(person, True), *ids)).fetchall())
        if len(found) != len(ids):
            raise StoreError("some of the drawings asked for are no longer in the database")
        return _pixels([found[i] for i in ids])

    def examples(self, person: str, limit: int = MAX_LISTED) -> tuple[np.ndarray, np.ndarray]:
        """A person's latest `limit` labelled drawings, oldest first: inputs float32 (N, 28, 28)
        and labels int64 (N,). Raises StoreUnavailableError when the database cannot be read."""
        with self._connect() as db:
            rows = db.execute("SELECT input, label FROM drawings WHERE person = ? "
                              "ORDER BY id DESC LIMIT ?", (check_person(person, True), limit)
                              ).fetchall()[::-1]
        return _pixels([blob for blob, _ in rows]), np.array([r[1] for r in rows], np.int64)

    # -------------------------------------------------------------------------- the database

    def _connect_checked(self) -> None:
        self.dialect.prepare(create=True)
        self._ready, self.problem = True, None

    def _connect(self):
        """A connection from the dialect (errors leave as StoreErrors), after the table is
        checked or created once."""
        if not self._ready:
            try:
                self._connect_checked()
            except StoreUnavailableError as err:
                self.problem = str(err)
                raise
        return self.dialect.connect()


def _pixels(blobs) -> np.ndarray:
    """float32 little-endian blobs -> float32 (N, 28, 28)."""
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype="<f4").reshape(
        -1, 28, 28).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# for the person who runs the server: training data and IDX files


def read_drawings(where: str | Path, upto: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Every stored drawing with id <= upto (all when None), from a SQLite file or a
    postgresql:// URL: inputs float32 (N, 28, 28) in 0..1, labels int64 (N,), and the largest id
    read (0 when none), so a later call can read the same rows again. Raises StoreError naming
    the database when it cannot be read; never creates one."""
    dialect = dialect_for(where)
    dialect.prepare(create=False)
    with dialect.connect() as db:
        rows = db.execute("SELECT input, label, id FROM drawings WHERE id <= ? ORDER BY id",
                          (2**62 if upto is None else upto,)).fetchall()
    labels = np.array([label for _, label, _ in rows], dtype=np.int64)
    return _pixels([blob for blob, _, _ in rows]), labels, (int(rows[-1][2]) if rows else 0)


def export_idx(where: str | Path, folder: str | Path) -> tuple[Path, Path, int]:
    """Write the stored drawings as MNIST-style IDX files in `folder`:
    drawings-images-idx3-ubyte.gz (uint8 (N, 28, 28), 255 = ink, like MNIST) and
    drawings-labels-idx1-ubyte.gz (uint8 (N,)). Returns their paths and N."""
    x, y, _ = read_drawings(where)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = folder / "drawings-images-idx3-ubyte.gz"
    labels = folder / "drawings-labels-idx1-ubyte.gz"
    write_idx(images, np.clip(np.rint(x * 255), 0, 255).astype(np.uint8))
    write_idx(labels, y.astype(np.uint8))
    return images, labels, len(y)
