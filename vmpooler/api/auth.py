"""Tokens and HTTP Basic authentication for the blueprints.

* ``auth_enabled()``: is an ``auth`` section configured?
* ``current_token()``: the ``X-AUTH-TOKEN`` of the request once validated, or None when
  none was sent or auth is not configured; a sent but unknown token is a 401.
* ``require_token()``: the user of the request's valid token, else a 401 (works
  whether or not auth is configured, as the original's ``need_token!``).
* ``authenticate_basic()``: the Basic-auth username accepted by the auth provider, else a 401.
* ``is_admin(user)``: is ``user`` one of ``config.admin_users``?

A token that is not letters and digits is refused as not valid without a Redis look-up.

Each 401 carries ``WWW-Authenticate: Basic realm="Authentication required"``.
"""

from __future__ import annotations

import base64
import binascii

from flask import g, request

from vmpooler.api.errors import unauthorized
from vmpooler.api.state import settings, tokens
from vmpooler.api.validation import is_token
from vmpooler.auth import authenticate

TOKEN_HEADER = "X-AUTH-TOKEN"
MISSING_TOKEN = f"this request needs a token: send one in the {TOKEN_HEADER} header"
INVALID_TOKEN = f"the token in {TOKEN_HEADER} is not valid"


def auth_enabled() -> bool:
    return settings().auth is not None


def _validated() -> tuple[str, str]:
    """(token, user) of the request's token, checked once per request."""
    if "vmpooler_token" not in g:
        token = request.headers.get(TOKEN_HEADER)
        if token is None:
            raise unauthorized(MISSING_TOKEN)
        token = token.strip()
        user = tokens().touch(token) if is_token(token) else None
        if user is None:
            raise unauthorized(INVALID_TOKEN)
        g.vmpooler_token = (token, user)
    return g.vmpooler_token


def current_token() -> str | None:
    if not auth_enabled() or TOKEN_HEADER not in request.headers:
        return None
    return _validated()[0]


def current_user() -> str | None:
    """The user of ``current_token()`` (None when there is none)."""
    return _validated()[1] if current_token() is not None else None


def require_token() -> str:
    return _validated()[1]


def request_token() -> tuple[str, str]:
    """(token, user) of the request's valid token, else a 401."""
    return _validated()


def is_admin(user: str) -> bool:
    return user in (settings().config.admin_users or ())


def authenticate_basic() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise unauthorized("this request needs HTTP Basic authentication (username and password)")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("the Authorization header is not valid Basic credentials") from None
    username, sep, password = decoded.partition(":")
    if not sep or not authenticate(settings().auth, username, password):
        raise unauthorized("authentication failed: wrong username or password")
    return username
