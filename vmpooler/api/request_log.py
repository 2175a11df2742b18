"""``request_logger``: one line per request, as the original's RequestLogger wrote it.

The original logged the response body (what the client received). JSON bodies
are logged on one line; other bodies (the dashboard page, its scripts) by type and size.
Token values are masked wherever they appear (the request's token, ``/token/<t>`` paths,
token list bodies whose keys are tokens) and control characters are escaped, so a
crafted path or body cannot hand out credentials or write a line of its own
(see ``vmpooler.log_safety``).
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request

from vmpooler.api.auth import TOKEN_HEADER
from vmpooler.log_safety import clean

log = logging.getLogger("vmpooler.api")


def register(app: Flask) -> None:
    app.after_request(log_request)


def log_request(response: Response) -> Response:
    secrets = [request.headers.get(TOKEN_HEADER, "").strip()]
    log.info("[ ] API: Method: %s, Status: %s, Path: %s, Body: %s",
             clean(request.method), response.status_code, clean(request.path, secrets),
             clean(_body(response), secrets))
    return response


def _body(response: Response) -> str:
    if response.is_json and not response.is_streamed:
        # One line per request: the pretty-printed body is logged compactly.
        return json.dumps(response.get_json(silent=True), ensure_ascii=False, separators=(", ", ": "))
    return f"<{response.mimetype or 'no content type'}, {response.content_length or 0} bytes>"
