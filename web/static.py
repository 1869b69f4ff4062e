"""The page's files, gzip-compressed for browsers that accept it.

    answer = static_answer(root, "main.js", request.get_header("Accept-Encoding", ""))

Text files (HTML, CSS, JavaScript, SVG, JSON) are sent gzipped when the request's
Accept-Encoding allows gzip, with Content-Encoding: gzip, a Content-Length that counts the gzip
bytes, an ETag of their own and Vary: Accept-Encoding (caches keep the two forms apart). Each
file is compressed once per version (path, size, modification time) and kept in memory; the page's
files are a few dozen KiB. Anything else (images, a Range request, an error) goes out as
bottle.static_file made it.

What this module is not: the route (serve.py), or the headers every answer carries (web.api).
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache

from bottle import BaseRequest, HTTPResponse, static_file

COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_BYTES = 512  # smaller files gain nothing worth the header


def accepts_gzip(accept_encoding: str) -> bool:
    """Does an Accept-Encoding header allow gzip? ("gzip, br" yes; "gzip;q=0" or "" no; "*" yes.)"""
    allowed = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            allowed[name.strip()] = q
    q = allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", 0.0)))
    return q > 0


@lru_cache(maxsize=64)
def _gzipped(path: str, size: int, mtime_ns: int) -> bytes:
    """The gzip bytes of a file, once per version (size and mtime are part of the cache key)."""
    with open(path, "rb") as f:
        return gzip.compress(f.read(), compresslevel=9, mtime=0)


def static_answer(root: str, path: str, req: BaseRequest) -> HTTPResponse:
    """bottle.static_file(path, root) for the request ``req``, with "no-cache" (revalidate: an
    updated file is seen at once), gzipped when the file is text and ``req`` accepts gzip."""
    answer = static_file(path, root=root)
    if answer.status_code >= 400:
        return answer
    answer.set_header("Cache-Control", "no-cache")
    if not answer.headers.get("Content-Type", "").startswith(COMPRESSED_TYPES):
        return answer
    answer.set_header("Vary", "Accept-Encoding")
    filename = os.path.join(os.path.abspath(root), path.strip("/\\"))
    stats = os.stat(filename)
    if (answer.status_code not in (200, 304) or stats.st_size < MIN_BYTES
            or not accepts_gzip(req.get_header("Accept-Encoding", ""))):
        return answer
    if hasattr(answer.body, "close"):
        answer.body.close()  # static_file opened the file; the gzip bytes are sent instead
    etag = f'{answer.headers.get("ETag", "").strip(chr(34))}-gzip'  # the gzip form's own
    answer.set_header("ETag", etag)
    if etag in _etags(req.get_header("If-None-Match", "")):
        answer.status = 304
        answer.body = b""
        return answer
    body = _gzipped(filename, stats.st_size, stats.st_mtime_ns)
    answer.status = 200
    answer.set_header("Content-Encoding", "gzip")
    answer.set_header("Content-Length", str(len(body)))
    answer.body = b"" if req.method == "HEAD" else body
    return answer


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header, without quotes or W/."""
    return {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
