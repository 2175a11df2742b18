"""Rate limits of the API (Flask-Limiter), counted in the service's Redis so that every API
process shares them.

* ``config.failed_auth_rate_limit`` (default ``10 per minute``): failed authentications per
  client address. Only requests that carry credentials (``X-AUTH-TOKEN`` or ``Authorization``)
  are checked, and only their 401s are counted; once over the limit every credentialed
  request from that address is a 429, right or wrong credentials alike, until the window ends.
* ``config.token_rate_limit`` (default none): requests per token, every route.

A refused request is a 429 JSON body with ``Retry-After`` (seconds).
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any, Callable

from flask import Flask, jsonify, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded

from vmpooler.api.auth import TOKEN_HEADER
from vmpooler.api.validation import is_token
from vmpooler.bootstrap import Services
from vmpooler.store import keys

FIXED_WINDOW = "fixed-window"
"""One counter per key and window: the cheapest check (a GET) on the request path."""


def storage(services: Services) -> tuple[str, dict]:
    """(URI, options) of the limiter's storage: the service's own Redis connection pool, so the
    limits follow whatever the ``redis`` settings say (address, password, TLS, Sentinel...)."""
    return "redis://", {"connection_pool": services.redis.connection_pool, "key_prefix": keys.RATE_LIMIT_PREFIX}


def _client_address() -> str:
    return request.remote_addr or "unknown"


_CREDENTIAL_KEYS = ("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "HTTP_AUTHORIZATION")
"""The WSGI environ keys of the credential headers: read straight from the environ, which is
cheaper than Flask's header lookup on a path that runs three times per request."""


def _sends_credentials() -> bool:
    environ = request.environ
    return any(key in environ for key in _CREDENTIAL_KEYS)


def _token() -> str | None:
    token = (request.headers.get(TOKEN_HEADER) or "").strip()
    return token if is_token(token) else None


def _token_key() -> str:
    # A digest: the counters' key names do not hold the token itself.
    return hashlib.sha256((_token() or "").encode()).hexdigest()[:32]


def _register_for_credentialed_requests(app: Flask, limiter: Limiter) -> None:
    """``limiter.init_app(app)`` with its three request hooks skipped for requests without
    credentials: every limit exempts them, and Flask-Limiter's own bookkeeping would
    otherwise be most of a checkout's time in Python."""
    hooks: tuple[dict[Any, list[Any]], ...] = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(table.get(None, ())) for table in hooks]
    limiter.init_app(app)
    check, headers, release = (next(hook for hook in table[None] if hook not in old) for table, old in zip(hooks, before))

    def check_credentialed() -> None:
        if _sends_credentials():
            check()

    def headers_credentialed(response):
        return headers(response) if _sends_credentials() else response

    def release_credentialed(error: BaseException | None = None) -> None:
        if _sends_credentials():
            release(error)

    for table, hook, gated in zip(hooks, (check, headers, release),
                                  (check_credentialed, headers_credentialed, release_credentialed)):
        table[None] = [gated if entry is hook else entry for entry in table[None]]


def register(app: Flask, services: Services) -> Limiter | None:
    config = services.settings.config
    limits: list[str | Callable[[], str] | ApplicationLimit] = []
    if config.failed_auth_rate_limit:
        limits.append(ApplicationLimit(config.failed_auth_rate_limit, key_function=_client_address,
                                       scope="failed-auth", exempt_when=lambda: not _sends_credentials(),
                                       deduct_when=lambda response: response.status_code == 401,
                                       error_message="too many failed authentications from this address"))
    if config.token_rate_limit:
        limits.append(ApplicationLimit(config.token_rate_limit, key_function=_token_key, scope="token",
                                       exempt_when=lambda: _token() is None,
                                       error_message="too many requests with this token"))
    if not limits:
        return None
    uri, options = storage(services)
    limiter = Limiter(_client_address, application_limits=limits, strategy=FIXED_WINDOW,
                      storage_uri=uri, storage_options=options, headers_enabled=False)
    _register_for_credentialed_requests(app, limiter)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded):
        current = limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current is not None else 60
        return (jsonify({"ok": False, "error": f"{error.description}; try again in {max(wait, 1)} seconds"}), 429,
                {"Retry-After": str(max(wait, 1))})

    return limiter
