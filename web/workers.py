"""Forked worker processes: start N, restart one that dies, stop them all on SIGTERM or Ctrl+C.

    run_workers(serve_forever, 2)   # returns once they are all stopped

web.server uses it to run waitress in several processes on one listening socket, bound before
the fork so that every worker accepts from it. Forking after the model is loaded shares its
memory between the workers; the parent starts no threads, so forking stays safe. A worker that
dies is replaced (and the parent gives up if three die within two seconds of starting each); on
Linux, workers end with their parent even when it is killed outright.

What this is not: a general process manager (no reloading, no scaling; its one log
line is a warning when a worker dies).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import time
import traceback
from collections.abc import Callable

_STOPPING = {signal.SIGTERM, signal.SIGINT}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
log = logging.getLogger(__name__)


class _Stop(Exception):
    """SIGTERM or SIGINT reached the parent of the workers."""


def run_workers(serve_forever: Callable[[], None], workers: int) -> None:
    """Run ``serve_forever`` in ``workers`` forked processes until SIGTERM or SIGINT reaches
    this one; then stop them (SIGTERM, SIGKILL after 5 s) and return. RuntimeError when they
    keep failing as they start."""
    started: dict[int, float] = {}  # pid -> time.monotonic() at its start

    def stop(signum, frame):
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in _STOPPING}
    quick_deaths = 0
    try:
        for _ in range(workers):
            _start(serve_forever, started)
        while True:
            pid, status = os.wait()
            began = started.pop(pid, None)
            if began is None:
                continue
            quick_deaths = quick_deaths + 1 if time.monotonic() - began < 2.0 else 0
            if quick_deaths >= 3:
                raise RuntimeError("worker processes keep failing as they start")
            log.warning("worker %d ended (exit code %d); starting another", pid,
                        os.waitstatus_to_exitcode(status))
            _start(serve_forever, started)
    except _Stop:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_all(started)


def _start(serve_forever: Callable[[], None], started: dict[int, float]) -> None:
    parent = os.getpid()
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)  # no stop before the pid is recorded
    pid = os.fork()
    if pid:
        started[pid] = time.monotonic()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)  # a stop that came runs now
        return
    code = 1
    try:  # the worker: never return into the parent's code
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
        serve_forever()
        code = 0
    except BaseException:  # noqa: BLE001 - report anything, then leave with a code
        traceback.print_exc()
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies, however it dies (Linux's
    PR_SET_PDEATHSIG): a parent killed with SIGKILL left its workers serving on, orphaned.
    Elsewhere a worker outlives a parent killed that way."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before we asked
        os._exit(0)


def _stop_all(started: dict[int, float], grace: float = 5.0) -> None:
    for pid in started:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while started and time.monotonic() < deadline:
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid:
            started.pop(pid, None)
        else:
            time.sleep(0.05)
    for pid in started:
        _signal(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    started.clear()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
