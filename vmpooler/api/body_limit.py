"""WSGI middleware bounding request bodies before the application reads them.

A body whose declared ``Content-Length`` is over the limit is refused at once with a
413 and never read. A body without a declared length (``Transfer-Encoding: chunked``)
is read through a counter that stops at the limit: the handler's read then ends in
the same 413, so no process ever holds more than ``limit`` bytes of one body.
"""

from __future__ import annotations

import json

from werkzeug.exceptions import RequestEntityTooLarge


def _message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class CappedInput:
    """A ``wsgi.input`` that raises ``RequestEntityTooLarge`` once more than ``limit`` bytes are read."""

    def __init__(self, stream, limit: int):
        self.stream = stream
        self.limit = limit
        self.seen = 0

    def _count(self, data: bytes) -> bytes:
        self.seen += len(data)
        if self.seen > self.limit:
            raise RequestEntityTooLarge(_message(self.limit))
        return data

    def read(self, size: int = -1) -> bytes:
        # Never ask the server for more than one byte past the limit.
        room = self.limit + 1 - self.seen
        size = room if size is None or size < 0 else min(size, room)
        return self._count(self.stream.read(max(size, 0)))

    def readline(self, size: int = -1) -> bytes:
        room = self.limit + 1 - self.seen
        size = room if size is None or size < 0 else min(size, room)
        return self._count(self.stream.readline(max(size, 0)))

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class BodyLimit:
    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        declared = (environ.get("CONTENT_LENGTH") or "").strip()
        if declared:
            if not (declared.isascii() and declared.isdigit()):
                return _refuse(start_response, "400 Bad Request", "the Content-Length header is not a number")
            if int(declared) > self.limit:
                return _refuse(start_response, "413 Request Entity Too Large", _message(self.limit))
        elif "wsgi.input" in environ:
            environ["wsgi.input"] = CappedInput(environ["wsgi.input"], self.limit)
        return self.app(environ, start_response)


def _refuse(start_response, status: str, message: str):
    body = json.dumps({"ok": False, "error": message}).encode()
    # The unread body stays on the socket: the connection is not reused.
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Connection", "close")])
    return [body]
