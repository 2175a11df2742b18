"""``request_logger``: one line per request, as the original's RequestLogger wrote it.

The original logged the response body (what the client received). JSON bodies
are logged on one line with token values masked, so that a log file does not hand out
credentials; other bodies (the dashboard page, its scripts) by type and size.
"""

from __future__ import annotations

import json
import logging
import re

from flask import Flask, Response, request

log = logging.getLogger("vmpooler.api")

_TOKEN_VALUE = re.compile(r'("token"\s*:\s*")[^"]*(")')


def register(app: Flask) -> None:
    app.after_request(log_request)


def log_request(response: Response) -> Response:
    log.info("[ ] API: Method: %s, Status: %s, Path: %s, Body: %s",
             request.method, response.status_code, request.path, _body(response))
    return response


def _body(response: Response) -> str:
    if response.is_json and not response.is_streamed:
        # One line per request: the pretty-printed body is logged compactly.
        text = json.dumps(response.get_json(silent=True), ensure_ascii=False, separators=(", ", ": "))
        return _TOKEN_VALUE.sub(r"\1<masked>\2", text)
    return f"<{response.mimetype or 'no content type'}, {response.content_length or 0} bytes>"
