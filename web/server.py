"""A WSGI app on waitress with deliberate limits, in one process or several.

    sock = listen("127.0.0.1", 8080)          # bound and listening; OSError if it cannot be
    run(app, sock, workers=2, threads=12)      # until SIGTERM or Ctrl+C

Why waitress: its one I/O thread reads each request whole (headers and body, buffered) before a
worker thread sees it, so a slow client costs a socket and a few kilobytes, never a thread. The
limits, each per process:

    connections     CONNECTION_LIMIT (500) open at once; more wait in the kernel's backlog
    idle            a connection with nothing to say is closed after IDLE_TIMEOUT (5 s)
    headers         the whole header within HEADER_TIMEOUT (5 s) of its first byte, at most
                    MAX_HEADER_BYTES (16 KiB, what browsers and proxies allow): 431 beyond
    body            at most web.api.MAX_BODY_BYTES (2 MiB, refused from Content-Length before a
                    byte of it is read: 413), within BODY_TIMEOUT (10 s) + 1 s per BODY_RATE
                    (100 KiB) of it; a chunked body is counted as it comes
    bare LF         a request whose lines end in LF alone is a 400 at once (waitress waited for
                    a CRLF CRLF that never came, until its 120 s timeout)
    100-continue    a request refused from its headers gets its refusal, not "100 Continue"
                    (waitress 3.0 said continue to a 17 MiB body it had refused, then nothing)

Clients over a deadline are disconnected within a second of it (the sweep runs every second).
What waitress answers by itself (400 malformed, 413, 431, 501 unknown Transfer-Encoding, 500
when the app fails before answering) is JSON {"error": "<a sentence>"} with web.api.HEADERS, like
every answer of the app. The hooks are waitress's own extension points: a server's
``channel_class``, and a channel's ``parser_class`` and ``error_task_class``; small subclasses
here, set on the server object that ``waitress.create_server`` returns. (Wrapping the app in a
middleware cannot help: these requests never reach it.)

Several processes (``workers`` > 1, where os.fork exists): the parent binds the socket, then
forks the workers (web.workers), which share the already loaded model's memory and each serve
the same listening socket with the same limits. Not gunicorn: its threaded worker reads a
request in the thread that will serve it, so a client that connects and sends nothing holds
that thread (its authors advise a buffering proxy in front); the limits above would hold only
with --workers 1.

What this is not: TLS, per-client rate limits or caps on connections per address. Those belong
to a reverse proxy in front (docs/deployment.md).
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import socket
import time
from collections.abc import Callable

import waitress
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import BadRequest

from web.api import BODY_TOO_LARGE, ERROR_SENTENCES, HEADERS, MAX_BODY_BYTES, error_body
from web.workers import run_workers

CONNECTION_LIMIT = 500  # per process; below the usual 1024 open files, with poll() (no select cap)
IDLE_TIMEOUT = 5.0  # s; Apache's KeepAliveTimeout, and plenty for a page that asks once a stroke
HEADER_TIMEOUT = 5.0  # s from a request's first byte to the end of its headers
BODY_TIMEOUT = 10.0  # s from the end of the headers to the end of the body, plus...
BODY_RATE = 100 * 1024  # ... a second per this many bytes of it: 2 MiB may take 30 s
MAX_HEADER_BYTES = 16 * 1024
LINGER = 2.0  # s a refused connection drops what still comes before it closes
MAX_QUIET = 2.0  # s at most that a connection told to come back later is not read from
BACKLOG = 1024

_BARE_LF = re.compile(rb"(?<!\r)\n")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's malloc.h
MMAP_THRESHOLD = 8 << 20  # bytes: larger blocks get memory of their own, freed at once


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening (port 0: any free port); OSError when
    the address cannot be used. The first address ``host`` resolves to is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # restart at once on a port whose old connections linger
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def run(app: Callable, sock: socket.socket, *, workers: int = 1, threads: int = 8) -> None:
    """Serve ``app`` on the listening ``sock`` with the limits above until SIGTERM or Ctrl+C:
    in this process, or in ``workers`` forked ones (ValueError where os.fork does not exist)."""
    _give_large_buffers_back()
    if workers <= 1:
        _serve_here(app, sock, threads)
    elif not hasattr(os, "fork"):
        raise ValueError("several worker processes need os.fork (Linux, macOS, BSD); here, run "
                         "one process per port behind a reverse proxy")
    else:
        run_workers(lambda: _serve_here(app, sock, threads), workers)


def _give_large_buffers_back() -> None:
    """Fix glibc's thresholds so that freed memory goes back to the system, and one heap only.

    By default glibc raises its mmap threshold (and its trim threshold with it) each time a
    large block is freed, so the next ones come from its per-thread heaps, which keep them:
    after bursts of 1.5 MB request bodies the server stayed 50-60 MiB larger than it started.
    Fixed thresholds (mallopt(3)) stop that: blocks of MMAP_THRESHOLD and more get their own
    mapping, unmapped when freed, and a heap with more than 2 MiB free at its top gives it back.
    One heap for all threads (M_ARENA_MAX 1) keeps what bodies leave behind in one place.

    Why 8 MiB and not 1: a block that gets its own mapping is new memory each time, and the
    kernel zeroes every page of it on first touch. /api/read of a 4-digit number runs about 9
    candidate digits through the CNN at once, whose Winograd products alone take 1.8 MB: with
    a 1 MiB threshold that was 442 page faults and 1.4 ms more CPU per request (6.1-6.3 against
    4.7-4.8 ms on the 2-core VM of docs/numbers.md). The price, after the 2,000 refused requests
    of every kind of tests/test_web_server.py: 12-13 MiB larger than before them (two runs),
    against 3 MiB with 1 MiB (15-18 when first measured) and 11-26 MiB with 8 MiB and a heap
    per thread. A no-op without glibc.

    This is the serving process's policy; a training process wants the opposite (nn's
    DataParallel keeps freed memory for the next step), and the two never share a process.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, 2 << 20)  # and trim heaps again: the raise had doubled this too
    mallopt(_M_ARENA_MAX, 1)


def _serve_here(app: Callable, sock: socket.socket, threads: int) -> None:
    server = waitress.create_server(
        app, sockets=[sock], threads=threads, connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_TIMEOUT, cleanup_interval=1, asyncore_use_poll=True,
        max_request_header_size=MAX_HEADER_BYTES,
        max_request_body_size=MAX_BODY_BYTES + 1)  # waitress refuses a body this long or longer
    server.channel_class = _Channel  # read by the server for every connection it accepts
    server.run()  # returns on Ctrl+C (waitress catches KeyboardInterrupt); SIGTERM ends us


# ------------------------------------------------------------------------------ the HTTP layer


class _Parser(HTTPRequestParser):
    """waitress's request parser, with a deadline for the whole request, bare LF refused at
    once, and no "100 Continue" for a request already refused."""

    deadline = math.inf  # time.time() by which the request must have arrived whole

    def received(self, data: bytes) -> int:
        now = time.time()
        if self.deadline == math.inf:
            self.deadline = now + HEADER_TIMEOUT
        in_header = not self.headers_finished
        if in_header and self._bare_lf(data):
            self.parse_header(b"GET / HTTP/1.0\r\n")  # what waitress does before its own 431
            self.error = BadRequest("its lines end in LF alone, where HTTP needs CR LF")
            self.completed = True
            return len(data)
        consumed = super().received(data)
        if in_header and self.headers_finished and not self.error:
            size = MAX_BODY_BYTES if self.chunked else self.content_length
            self.deadline = now + BODY_TIMEOUT + size / BODY_RATE
        if self.error:
            self.expect_continue = False
        return consumed

    def _bare_lf(self, data: bytes) -> bool:
        """Does a header line in ``data`` end in LF without CR? (The three bytes before it are
        looked at too, for a CR LF split between two reads, and the body is not.)"""
        tail = self.header_plus[-3:]
        seen = tail + data
        end = seen.find(b"\r\n\r\n")
        return _BARE_LF.search(seen if end < 0 else seen[:end], len(tail)) is not None


class _Channel(HTTPChannel):
    """A waitress connection with our parser and JSON errors, and two changes to its life:

    - A request still arriving makes the connection look idle since (its deadline -
      IDLE_TIMEOUT), so the server's once-a-second sweep of idle connections also cuts off one
      that trickles in past its deadline.
    - A connection answered 503 with a Retry-After is not read from for that long (at most
      MAX_QUIET): the server takes its own advice for a client that does not, such as one that
      keeps sending requests without reading its answers.
    - After a refusal (a 413 while the client is still sending its body, a 431), the connection
      stops sending and reads and drops what still comes for up to LINGER seconds before it
      closes. Closing a socket with unread data makes the kernel reset the connection, and a
      reset can destroy the refusal before the client has read it.
    """

    parser_class = _Parser
    refused = False  # an error answer was written: linger when closing
    lingering = False
    quiet_until = 0.0  # time.monotonic() before which nothing more is read (after a 503)

    def handle_read(self) -> None:
        if self.lingering:
            self.recv(self.adj.recv_bytes)  # dropped; at the client's end of file, recv closes
            return
        super().handle_read()
        if self.request is not None:
            self.last_activity = min(self.last_activity,
                                     self.request.deadline - self.adj.channel_timeout)

    def handle_close(self) -> None:
        if self.refused and not self.lingering and self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_WR)  # the answer is out; say we are done
            except OSError:
                return super().handle_close()
            self.lingering, self.will_close = True, False
            # idle from now on for the sweep, which closes the connection LINGER s from now
            self.last_activity = time.time() - self.adj.channel_timeout + LINGER
            return None
        return super().handle_close()

    def readable(self) -> bool:
        if self.lingering:
            return True
        return time.monotonic() >= self.quiet_until and super().readable()

    def writable(self) -> bool:
        return self.will_close if self.lingering else super().writable()


class _Task(WSGITask):
    """The app's answer to a request; a 503 with Retry-After quiets its connection that long."""

    def execute(self) -> None:
        super().execute()
        if self.status.startswith("503"):
            after = dict((k.lower(), v) for k, v in self.response_headers).get("retry-after")
            try:
                quiet = min(float(after), MAX_QUIET)
            except (TypeError, ValueError):
                return
            self.channel.quiet_until = time.monotonic() + quiet


class _JsonErrorTask(ErrorTask):
    """What waitress answers by itself, as {"error": "<a sentence>"} with the app's headers."""

    def execute(self) -> None:
        error = self.request.error
        body = error_body(_waitress_error_sentence(error.code, str(error.body)))
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"),
                                      ("Cache-Control", "no-store"), *HEADERS.items()])
        self.set_close_on_finish()
        self.channel.refused = True
        self.content_length = len(body)
        self.write(body)


_Channel.task_class = _Task
_Channel.error_task_class = _JsonErrorTask


def _waitress_error_sentence(code: int, detail: str) -> str:
    """The sentence for an error waitress finds itself (bad HTTP, a body or headers too large)."""
    detail = " ".join(detail.split())[:160]
    if code == 400:
        return f"The request is not valid HTTP/1.1: {detail}."
    if code == 413:
        return BODY_TOO_LARGE
    if code == 431:
        return f"The request's headers are larger than {MAX_HEADER_BYTES // 1024} KiB."
    if code == 501:
        return f"{detail} Send the body with a Content-Length, or chunked."
    return ERROR_SENTENCES.get(code, ERROR_SENTENCES[500])
