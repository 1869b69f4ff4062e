"""Admission control for CPU-bound work: one request at a time, a short fair queue, then 503.

    gate = Gate(waiting=8, patience=2.0)    # once, in create_app, shared by every route
    with gate.turn(client):                 # a RequestError 503 (Retry-After: 1) when the queue
        x = drawing.to_mnist()              # is full, or after 2 s without a turn
        p = model.predict(x[None, None])

Why one at a time: preprocessing and the model are short NumPy and numba calls that keep
dropping and retaking the GIL; several threads interleaving them made about 480 context switches
per request and cost half the throughput (scripts/bench_server.py, 8 clients: 145-235 requests/s
without a lock, 265-280 with one). It also covers nn, which promises no thread safety. Why a
bounded queue: without one, every server thread could end up waiting here behind costly
requests, and a health check had no thread left (48 costly PNGs at once kept /api/health waiting
6.7 s). With the queue shorter than the server's thread count, threads stay free for everything
that does not compute, and a flood is told to come back instead of piling up.

Why fair: a few clients that send request after request without waiting for their answers
(pipelining, and never reading) would otherwise keep the queue full for good, and everybody else
would only ever find it full: 60 such connections kept 8 other clients from a reading for up to
40 s. So the queue remembers when each ``client`` (any hashable key: serve.py passes the
connection's address and port) last had a turn. A newcomer who finds the queue full takes the
place of the waiter whose client had a turn most recently, if that was more recent than its own
last turn; the one displaced gets the 503 instead. A client that has just been served loses to
one that has not, so a flood from a few connections cannot starve the others. Turns are given in
the order of arrival.

One Gate per process: with `serve.py --workers N` each process has its own.
What this is not: a rate limiter per client (a reverse proxy's job) or a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from web.api import RequestError

RETRY_AFTER_S = 1  # what a refused client is told: a queue of 8 drains in tens of milliseconds
_REMEMBERED = 4096  # clients whose last turn is remembered; the oldest are forgotten beyond it


class _Waiter:
    """A request in the queue: its client, and how its wait ended (set under the gate's lock)."""

    def __init__(self, client: Hashable | None):
        self.client = client
        self.woken = threading.Event()
        self.granted = False
        self.refusal: str | None = None  # why it was displaced


class Gate:
    """A lock with a bounded, fair queue: at most ``waiting`` requests wait for it, none longer
    than ``patience`` seconds; those that cannot get in are refused with a 503 RequestError."""

    def __init__(self, waiting: int, patience: float):
        if waiting < 0 or patience <= 0:
            raise ValueError("a Gate needs waiting >= 0 and patience > 0")
        self.waiting = waiting
        self.patience = patience
        self._lock = threading.Lock()  # guards everything below
        self._taken = False  # a request is computing
        self._queue: list[_Waiter] = []  # in order of arrival
        self._last_turn: dict[Hashable, float] = {}  # client -> time.monotonic() of its turn

    @property
    def queued(self) -> int:
        """How many requests are waiting for their turn now."""
        return len(self._queue)

    def __enter__(self) -> Gate:
        self._enter(None)
        return self

    def __exit__(self, *exc) -> None:
        self._leave()

    @contextmanager
    def turn(self, client: Hashable | None = None) -> Iterator[None]:
        """``with gate.turn(client):`` the work, on behalf of ``client`` (None: nobody known)."""
        self._enter(client)
        try:
            yield
        finally:
            self._leave()

    def _enter(self, client: Hashable | None) -> None:
        with self._lock:
            if not self._taken:  # nobody computing: no queue to join
                self._taken = True
                self._remember(client)
                return
            if len(self._queue) >= self.waiting:
                self._displace(client)  # or a 503 for this one
            waiter = _Waiter(client)
            self._queue.append(waiter)
        waiter.woken.wait(self.patience)
        with self._lock:
            if waiter.granted:  # given the turn, perhaps just as the wait ran out
                return
            if waiter.refusal is None:  # still in the queue: out of patience
                self._queue.remove(waiter)
                waiter.refusal = f"this one waited {self.patience:g} s without a turn"
        raise _busy(waiter.refusal)

    def _leave(self) -> None:
        with self._lock:
            if not self._queue:
                self._taken = False
                return
            waiter = self._queue.pop(0)  # the turn passes straight to the longest waiting
            waiter.granted = True
            self._remember(waiter.client)
            waiter.woken.set()

    def _displace(self, client: Hashable | None) -> None:
        """Make room in the full queue for ``client``'s request, or refuse it (RequestError 503).
        Called with the lock held."""
        never = -float("inf")
        mine = self._last_turn.get(client, never)
        if self._queue:
            latest = max(self._queue, key=lambda w: self._last_turn.get(w.client, never))
            if self._last_turn.get(latest.client, never) > mine:
                self._queue.remove(latest)
                latest.refusal = ("its place went to a client that had not had a turn as "
                                  "recently")
                latest.woken.set()
                return
        raise _busy(f"{len(self._queue)} requests are already waiting")

    def _remember(self, client: Hashable | None) -> None:
        if client is None:
            return
        self._last_turn.pop(client, None)  # re-inserted last: the dict stays oldest first
        self._last_turn[client] = time.monotonic()
        if len(self._last_turn) > _REMEMBERED:
            del self._last_turn[next(iter(self._last_turn))]


def _busy(why: str) -> RequestError:
    return RequestError(503, f"The server is busy ({why}); please try again in a moment.",
                        **{"Retry-After": str(RETRY_AFTER_S)})
