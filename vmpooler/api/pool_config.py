"""``/config`` and ``/poolreset``: pool configuration changed at run time (api.md §3.13).

Writes need ``experimental_features`` (else 405), a valid token when auth is
configured, and, when ``admin_users`` is set, a token of one of those users.
A refused body changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from vmpooler.api.auth import auth_enabled, require_token
from vmpooler.api.errors import ApiError
from vmpooler.api.ondemand import error, json_payload
from vmpooler.api.pool_config_schemas import (  # noqa: F401 (named by the docstrings)
    CloneTargetRequest,
    ConfigMessage,
    PoolConfiguration,
    PoolResetRequest,
    PoolSizeRequest,
    PoolSizeUndo,
    PoolTemplateRequest,
    PoolTemplateUndo,
)
from vmpooler.api.state import context
from vmpooler.api.validation import check_name
from vmpooler.domain.numbers import ascii_int
from vmpooler.lifecycle.pool_config import changes

blueprint = Blueprint("pool_config", __name__)

# A guard against typos: no pool is meant to hold this many ready VMs.
MAX_POOL_SIZE = 10_000


def _allowed() -> None:
    ctx = context()
    if not ctx.settings.config.experimental_features:
        raise error(405)
    admins = ctx.settings.config.admin_users
    if auth_enabled() or admins:
        user = require_token()
        if admins and user not in admins:
            raise ApiError(403, f"user '{user}' may not change the pool configuration")


def _size(value: object) -> int | None:
    """A size as Ruby's ``Integer()`` reads it, restricted to decimal digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return ascii_int(value, signed=True)
    return None


def _valid_template(value: object) -> bool:
    return (isinstance(value, str) and "/" in value and not value.startswith("/") and not value.endswith("/")
            and value == value.strip())


def _serialised(change, *args):
    try:
        return change(context(), *args)
    except changes.PoolBusy as exc:
        raise ApiError(503, f"another change of pool '{exc}' is in progress; try again") from None


def _undo(undo_change, pool: str, label: str):
    """Undo an override: ``<label>_before_reset`` / ``_before_overrides``, 201 if it changed."""
    _allowed()
    if context().settings.pool(pool) is None:
        check_name(pool)
        raise error(404)
    undo = _serialised(undo_change, pool)
    body = {"ok": True, f"{label}_before_reset": undo.current, f"{label}_before_overrides": undo.configured}
    return jsonify(body), 201 if undo.changed else 200


def _apply(change, values: dict):
    changed = _serialised(change, values)
    return jsonify({"ok": True}), 201 if changed else 200


@blueprint.get("/api/v1/config")
def get_config():
    """Every pool as configured, with the run-time overrides and ``template_ready``.
    ---
    responses: {200: PoolConfiguration, 404: Error}
    """
    ctx = context()
    if not ctx.settings.pools:
        raise error(404)
    return jsonify({"pool_configuration": changes.configuration(ctx), "status": {"ok": True}})


@blueprint.post("/api/v1/config/poolsize")
def post_poolsize():
    """Change pool sizes; applied within a second (clones start, or surplus ready VMs go).
    ---
    body: PoolSizeRequest
    responses: {200: Ok, 201: Ok, 400: ConfigMessage, 401: Error, 403: Error, 404: Error, 405: Error,
                503: Error}
    """
    _allowed()
    ctx = context()
    sizes, bad = {}, []
    for name, value in json_payload().items():
        size = _size(value)
        if ctx.settings.pool(name) is None or size is None or not 0 <= size <= MAX_POOL_SIZE:
            bad.append(name)
        else:
            sizes[name] = size
    if bad:
        raise error(400, not_configured=bad)
    return _apply(changes.set_sizes, sizes)


@blueprint.post("/api/v1/config/pooltemplate")
def post_pooltemplate():
    """Change pool templates; each pool is drained, its template prepared and refilled.
    ---
    body: PoolTemplateRequest
    responses: {200: Ok, 201: Ok, 400: ConfigMessage, 401: Error, 403: Error, 404: Error, 405: Error,
                503: Error}
    """
    _allowed()
    ctx = context()
    payload = json_payload()
    bad = [name for name, value in payload.items() if ctx.settings.pool(name) is None or not _valid_template(value)]
    if bad:
        raise error(400, bad_templates=bad)
    return _apply(changes.set_templates, payload)


@blueprint.post("/api/v1/config/clonetarget")
def post_clonetarget():
    """Change pool clone targets; each pool is reset so its VMs are cloned to the new target.
    ---
    body: CloneTargetRequest
    responses: {200: Ok, 201: Ok, 400: ConfigMessage, 401: Error, 403: Error, 404: Error, 405: Error,
                503: Error}
    """
    _allowed()
    ctx = context()
    payload = json_payload()
    bad = [name for name, value in payload.items()
           if ctx.settings.pool(name) is None or not isinstance(value, str) or not value.strip()]
    if bad:
        raise error(400, bad_templates=bad)
    return _apply(changes.set_clone_targets, payload)


@blueprint.delete("/api/v1/config/poolsize/<pool>")
def delete_poolsize(pool: str):
    """Undo a size override: back to the configured size (201 if it changed).
    ---
    responses: {200: PoolSizeUndo, 201: PoolSizeUndo, 400: Error, 401: Error, 403: Error, 404: Error, 405: Error,
                503: Error}
    """
    return _undo(changes.undo_size, pool, "pool_size")


@blueprint.delete("/api/v1/config/pooltemplate/<pool>")
def delete_pooltemplate(pool: str):
    """Undo a template override: back to the configured template (201 if it changed).
    ---
    responses: {200: PoolTemplateUndo, 201: PoolTemplateUndo, 400: Error, 401: Error, 403: Error, 404: Error,
                405: Error, 503: Error}
    """
    return _undo(changes.undo_template, pool, "template")


@blueprint.post("/api/v1/poolreset")
def post_poolreset():
    """Reset pools: every ready and pending VM is replaced.
    ---
    body: PoolResetRequest
    responses: {201: Ok, 400: ConfigMessage, 401: Error, 403: Error, 404: Error, 405: Error, 503: Error}
    """
    _allowed()
    ctx = context()
    payload = json_payload()
    bad = [name for name in payload if ctx.settings.pool(name) is None]
    if bad:
        raise error(400, bad_pools=bad)
    _serialised(changes.reset_pools, payload)
    return jsonify({"ok": True}), 201
