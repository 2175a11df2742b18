"""Every error is a JSON body; nothing leaks a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("vmpooler.api")


class ApiError(Exception):
    """An error with a status code and a JSON body ``{"ok": false, ...}``."""

    def __init__(self, status: int, message: str | None = None, **fields):
        super().__init__(message or str(status))
        self.status = status
        self.body = {"ok": False, **fields}
        if message:
            self.body["error"] = message


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return jsonify(error.body), error.status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        body = {"ok": False}
        if error.code != 404:
            body["error"] = error.description
        return jsonify(body), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error: %s", error)
        return jsonify({"ok": False, "error": "internal error; see the server log"}), 500
