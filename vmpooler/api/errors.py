"""Every error is a JSON body; nothing leaks a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from vmpooler.store.errors import StoreUnavailable
from vmpooler.store.keys import UnsafeKeyComponent

log = logging.getLogger("vmpooler.api")

AUTH_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Authentication required"'}


class ApiError(Exception):
    """An error with a status code and a JSON body ``{"ok": false, ...}``."""

    def __init__(self, status: int, message: str | None = None, headers: dict | None = None, **fields):
        super().__init__(message or str(status))
        self.status = status
        self.headers = headers or {}
        self.body = {"ok": False, **fields}
        if message:
            self.body["error"] = message


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=AUTH_CHALLENGE)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return jsonify(error.body), error.status, error.headers

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        # The original answers an unknown method on a known path like an unknown path.
        if isinstance(error, MethodNotAllowed) or error.code == 404:
            return jsonify({"ok": False, "error": "no such route"}), 404
        return jsonify({"ok": False, "error": error.description}), error.code

    def _store_down(error: Exception):
        log.error("Redis is unavailable: %s", error)
        return jsonify({"ok": False, "error": "the service cannot reach its Redis server; try again shortly"}), 503

    @app.errorhandler(UnsafeKeyComponent)
    def _unsafe_name(error: UnsafeKeyComponent):
        # The API validates names first; this is the key builders' refusal, should one get through.
        return jsonify({"ok": False, "error": "a name in this request is not valid: use letters, digits, "
                                              "'.', '-' and single '_'"}), 400

    for failure in StoreUnavailable:
        app.register_error_handler(failure, _store_down)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error: %s", error)
        return jsonify({"ok": False, "error": "internal error; see the server log"}), 500
