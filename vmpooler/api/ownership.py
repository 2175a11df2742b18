"""Who may act on a VM, an on-demand request or a token: the one rule every route uses.

A VM (or on-demand request) checked out with a token records ``token:token`` and
``token:user``; it then belongs to that user. Only the owner, with any of their
tokens, or one of ``config.admin_users`` may return it, change it, add disks or
snapshots, or delete the request; others get a 403 and nothing changes. Without
a recorded token the VM is open to anyone, as in vmpooler 1.3.0.
"""

from __future__ import annotations

from typing import Mapping

from vmpooler.api.auth import is_admin, request_token
from vmpooler.api.errors import ApiError


def require_owner(fields: Mapping[str, str], what: str) -> None:
    """401 without a valid token, 403 for another user's token, when ``fields`` record an owner."""
    owner_token = fields.get("token:token")
    if not owner_token:
        return
    token, user = request_token()
    owner = fields.get("token:user")
    # A hash without a user (written by hand) belongs to the token itself.
    mine = user == owner if owner else token == owner_token
    if not mine and not is_admin(user):
        raise not_owner(what)


def not_owner(what: str) -> ApiError:
    return ApiError(403, f"{what} belongs to another user; only its owner or an admin may change it")


def require_token_owner(token_fields: Mapping[str, str], user: str) -> None:
    """403 unless ``user`` (authenticated with Basic) owns the token or is an admin."""
    if token_fields.get("user") != user and not is_admin(user):
        raise ApiError(403, "that token belongs to another user; only its owner or an admin may delete it")
