"""Every error is a JSON body; nothing leaks a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from kombu.exceptions import OperationalError as BrokerUnavailable
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from vmpooler.store.errors import NotReplicated, StoreUnavailable
from vmpooler.store.keys import UnsafeKeyComponent

log = logging.getLogger("vmpooler.api")

RETRY_AFTER_SECONDS = 2
"""What a 503 for an unreachable Redis asks clients to wait: about a Sentinel failover."""

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
        # During a Sentinel failover (a few seconds) every request lands here, not in a 500.
        log.error("Redis is unavailable: %s", error)
        return (jsonify({"ok": False, "error": "the service cannot reach its Redis server or message broker; try again shortly"}),
                503, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.errorhandler(UnsafeKeyComponent)
    def _unsafe_name(error: UnsafeKeyComponent):
        # The API validates names first; this is the key builders' refusal, should one get through.
        return jsonify({"ok": False, "error": "a name in this request is not valid: use letters, digits, "
                                              "'.', '-' and single '_'"}), 400

    for failure in (*StoreUnavailable, BrokerUnavailable):
        app.register_error_handler(failure, _store_down)

    @app.errorhandler(NotReplicated)
    def _not_replicated(error: NotReplicated):
        log.warning("checkout undone: %s", error)
        return (jsonify({"ok": False, "error": "no Redis replica confirmed the checkout in time; nothing was "
                                               "checked out, try again shortly"}),
                503, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error: %s", error)
        return jsonify({"ok": False, "error": "internal error; see the server log"}), 500
