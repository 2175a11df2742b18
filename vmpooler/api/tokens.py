"""``/token``: API tokens, created and listed with HTTP Basic credentials.

Without an ``auth`` section there are no tokens and every route here is a 404.
Tokens never expire; any authenticated user may delete any token (as 1.3.0).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from vmpooler.api.auth import auth_enabled, authenticate_basic
from vmpooler.api.errors import ApiError
from vmpooler.api.state import context, meta, tokens

blueprint = Blueprint("tokens", __name__)


def _auth_configured() -> None:
    if not auth_enabled():
        raise ApiError(404, "authentication is not configured on this server, so there are no tokens")


@blueprint.get("/api/v1/token")
def list_tokens():
    """The caller's tokens with their creation and last-use times (HTTP Basic).
    ---
    responses: {200: TokenList, 401: Error, 404: Error}
    """
    _auth_configured()
    user = authenticate_basic()
    found = tokens().of_user(user)
    if not found:
        raise ApiError(404, f"'{user}' has no tokens")
    body: dict = {"ok": True}
    for token, fields in sorted(found.items(), key=lambda item: item[1].get("created", "")):
        body[token] = {"created": fields.get("created", ""), "last": fields.get("last", "never")}
    return jsonify(body)


@blueprint.post("/api/v1/token")
def create_token():
    """A new token for the caller (HTTP Basic).
    ---
    responses: {200: TokenCreated, 401: Error, 404: Error}
    """
    _auth_configured()
    user = authenticate_basic()
    context().metrics.increment("token.created")
    return jsonify({"ok": True, "token": tokens().create(user)})


@blueprint.get("/api/v1/token/<token>")
def get_token(token: str):
    """A token's user and times, and the VMs checked out with it (no credentials needed).
    ---
    responses: {200: TokenInfo, 404: Error}
    """
    _auth_configured()
    fields = tokens().get(token)
    if not fields:
        raise ApiError(404, "no such token")
    details: dict = dict(fields)
    vms = meta().token_vms([pool.name for pool in context().settings.pools], token)
    if vms:
        details["vms"] = {"running": vms}
    return jsonify({"ok": True, token: details})


@blueprint.delete("/api/v1/token/<token>")
def delete_token(token: str):
    """Delete a token (HTTP Basic).
    ---
    responses: {200: Ok, 401: Error, 404: Error}
    """
    _auth_configured()
    authenticate_basic()
    if not tokens().delete(token):
        # 1.3.0 answered 401 here; a missing token is a 404.
        raise ApiError(404, "no such token")
    return jsonify({"ok": True})
