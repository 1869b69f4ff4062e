"""Admission control for CPU-bound work: one request at a time, a short queue, then 503.

    gate = Gate(waiting=8, patience=2.0)    # once, in create_app, shared by every route
    with gate:                              # a RequestError 503 (Retry-After: 1) when 8 already
        x = drawing.to_mnist()              # wait, or after 2 s without a turn
        p = model.predict(x[None, None])

Why one at a time: preprocessing and the model are short NumPy and numba calls that keep
dropping and retaking the GIL; several threads interleaving them made about 480 context switches
per request and cost half the throughput (scripts/bench_server.py, 8 clients: 145-235 requests/s
without a lock, 265-280 with one). It also covers nn, which promises no thread safety. Why a
bounded queue: without one, every server thread could end up waiting here behind costly
requests, and a health check had no thread left (48 costly PNGs at once kept /api/health waiting
6.7 s). With the queue shorter than the server's thread count, threads stay free for everything
that does not compute, and a flood is told to come back instead of piling up.

One Gate per process: with `serve.py --workers N` each process has its own.
What this is not: a rate limiter per client (a reverse proxy's job) or a thread pool.
"""

from __future__ import annotations

import threading

from web.api import RequestError

RETRY_AFTER_S = 1  # what a refused client is told: a queue of 8 drains in tens of milliseconds


class Gate:
    """A lock with a bounded queue: at most ``waiting`` threads wait for it, none longer than
    ``patience`` seconds; those that cannot get in are refused with a 503 RequestError."""

    def __init__(self, waiting: int, patience: float):
        if waiting < 0 or patience <= 0:
            raise ValueError("a Gate needs waiting >= 0 and patience > 0")
        self.waiting = waiting
        self.patience = patience
        self._turn = threading.Lock()  # held by the one thread computing
        self._count = threading.Lock()  # guards _queued
        self._queued = 0

    @property
    def queued(self) -> int:
        """How many threads are waiting for their turn now."""
        return self._queued

    def __enter__(self) -> Gate:
        if self._turn.acquire(blocking=False):  # nobody computing: no queue to join
            return self
        with self._count:
            if self._queued >= self.waiting:
                raise _busy(f"{self._queued} requests are already waiting")
            self._queued += 1
        try:
            got = self._turn.acquire(timeout=self.patience)
        finally:
            with self._count:
                self._queued -= 1
        if not got:
            raise _busy(f"this one waited {self.patience:g} s without a turn")
        return self

    def __exit__(self, *exc) -> None:
        self._turn.release()


def _busy(why: str) -> RequestError:
    return RequestError(503, f"The server is busy ({why}); please try again in a moment.",
                        **{"Retry-After": str(RETRY_AFTER_S)})
