"""``/token``: API tokens, created and listed with HTTP Basic credentials.

Without an ``auth`` section there are no tokens and every route here is a 404.
Tokens never expire. Only a token's owner, or one of ``admin_users``, may delete it
(1.3.0 let any authenticated user delete any token).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from vmpooler.api.auth import auth_enabled, authenticate_basic
from vmpooler.api.errors import ApiError
from vmpooler.api.ownership import require_token_owner
from vmpooler.api.state import context, meta, tokens
from vmpooler.api.validation import check_token

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
    responses: {200: TokenInfo, 400: Error, 404: Error}
    """
    _auth_configured()
    fields = tokens().get(check_token(token))
    if not fields:
        raise ApiError(404, "no such token")
    details: dict = dict(fields)
    vms = meta().token_vms([pool.name for pool in context().settings.pools], token)
    if vms:
        details["vms"] = {"running": vms}
    return jsonify({"ok": True, token: details})


@blueprint.delete("/api/v1/token/<token>")
def delete_token(token: str):
    """Delete one of the caller's tokens (HTTP Basic; admins may delete any token).
    ---
    responses: {200: Ok, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    _auth_configured()
    user = authenticate_basic()
    fields = tokens().get(check_token(token))
    if not fields:
        # As 1.3.0: an unknown token is a 401.
        raise ApiError(401, "no such token")
    require_token_owner(fields, user)
    if not tokens().delete(token):
        raise ApiError(401, "no such token")
    return jsonify({"ok": True})
