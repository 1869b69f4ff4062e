"""web.store's PostgreSQL dialect (psycopg 3): one database shared by any number of servers.

    DrawingStore("postgresql://digits@db.example:5432/digits")

Connections are kept in a small pool per process (a query costs a round trip, not a new
connection); a process forked with the pool inherited (serve.py --workers) opens its own and
never touches its parent's. Writers are ordered by a table lock taken in the write's
transaction, so the rows-per-minute count and the insert see the same table, as SQLite's BEGIN
IMMEDIATE does; readers never wait for it. A COMMIT has returned (and, with PostgreSQL's default
synchronous_commit, is on the server's disk) before the caller hears "saved".

A database that stops answering gives StoreUnavailableError at once and drops the idle
connections (the next call connects afresh, so the store recovers when the database does).
What this is not: the store's SQL (web/store.py) or a place for passwords in messages.
"""

from __future__ import annotations

import contextlib
import os
import threading

import psycopg
from psycopg import errors, pq
from psycopg.conninfo import conninfo_to_dict

from web.store import COLUMNS, StoreCorruptError, StoreError, unavailable

CONNECT_TIMEOUT = 3  # s: a database that does not answer a connection is reported as lost
STATEMENT_TIMEOUT_MS = 10_000  # no query of the store's takes a fraction of this
MAX_IDLE = 8  # connections kept per process (THREADS in serve.py bounds those in use)
_LOCK_ID = 0x44524157  # "DRAW": the advisory lock that orders two servers creating the table

SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- never reused
    created   DOUBLE PRECISION NOT NULL,            -- Unix time, seconds
    person    TEXT,                                 -- the page's opaque id, or NULL
    label     SMALLINT NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted SMALLINT CHECK (predicted BETWEEN 0 AND 9),
    model     TEXT NOT NULL,                        -- the weights file that made the prediction
    strokes   TEXT,                                 -- JSON [[[x, y], ...], ...] as sent, or NULL
    pen       DOUBLE PRECISION,                     -- the pen width sent with the strokes
    image     BYTEA,                                -- the PNG as sent, or NULL
    input     BYTEA NOT NULL CHECK (length(input) = 3136)  -- float32 (28, 28), 1.0 = ink
);
CREATE INDEX IF NOT EXISTS drawings_created ON drawings (created);
CREATE INDEX IF NOT EXISTS drawings_person ON drawings (person, id);
"""


class PostgresDialect:
    def __init__(self, url: str):
        self.url = url
        try:
            parts = conninfo_to_dict(url)
        except psycopg.ProgrammingError as err:
            raise StoreError(f"{url.split('@')[-1]} is not a PostgreSQL URL psycopg can read "
                             f"({err}); give postgresql://USER@HOST:PORT/NAME") from None
        self.name = (f"postgresql://{parts.get('user', '')}@{parts.get('host', '')}:"
                     f"{parts.get('port', 5432)}/{parts.get('dbname', '')}")  # no password
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list[psycopg.Connection] = []  # a parent's: kept, never used or closed

    def prepare(self, create: bool) -> None:
        """Check the table (and create it, when `create` and it is not there)."""
        with self.connect() as db, db.raw.transaction():
            db.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_ID,))  # one creator at a time
            found = [name for (name,) in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = 'drawings' ORDER BY ordinal_position")]
            if found and found != COLUMNS:
                raise StoreCorruptError(
                    f"{self.name} cannot be used as the drawings database: its table "
                    f"'drawings' is not one of drawings (columns {found}). Give --db another "
                    "database, or rename that table.")
            if not found and not create:
                raise StoreError(f"no drawings in {self.name}: start serve.py with --db "
                                 f"{self.name} and label some drawings on the page first")
            if not found:
                db.raw.execute(SCHEMA)

    @contextlib.contextmanager
    def connect(self):
        """`with dialect.connect() as db`: a pooled connection (autocommit) whose execute takes
        the store's `?` placeholders; psycopg's errors leave as StoreErrors."""
        conn = self._take()
        try:
            yield _Db(conn)
        except psycopg.Error as err:
            if isinstance(err, psycopg.OperationalError) or conn.closed:
                self._drop_idle()  # the server went away: the others are as dead as this one
            raise _explain(self.name, err) from None
        finally:
            self._give_back(conn)

    @contextlib.contextmanager
    def writing(self, db: _Db):
        """One write transaction, ordered with every other writer's by a table lock that
        readers do not wait for."""
        with db.raw.transaction():
            db.execute("LOCK TABLE drawings IN SHARE ROW EXCLUSIVE MODE")
            yield

    # ---------------------------------------------------------------------- the pool

    def _take(self) -> psycopg.Connection:
        with self._lock:
            if os.getpid() != self._pid:  # forked: the parent's sockets are not ours to use
                self._inherited += self._idle
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        except psycopg.Error as err:
            raise _explain(self.name, err) from None

    def _give_back(self, conn: psycopg.Connection) -> None:
        healthy = (not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE)
        with self._lock:
            if healthy and os.getpid() == self._pid and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _Db:
    """A connection whose execute takes `?` placeholders, as sqlite3's does."""

    def __init__(self, conn: psycopg.Connection):
        self.raw = conn

    def execute(self, sql: str, args=()):
        return self.raw.execute(sql.replace("?", "%s"), args)


def _explain(name: str, err: psycopg.Error) -> StoreError:
    """A StoreError naming the database, what happened and what still works."""
    text = " ".join(str(err).split())[:200]
    if isinstance(err, errors.DiskFull):
        why = "its disk is full"
    elif isinstance(err, errors.ReadOnlySqlTransaction):
        why = "it is read-only"
    elif isinstance(err, errors.InsufficientPrivilege):
        why = f"its user may not write there: {text}"
    elif isinstance(err, psycopg.OperationalError):
        why = f"the database does not answer: {text}"
    else:
        why = f"PostgreSQL says: {text}"
    return unavailable(name, why)
