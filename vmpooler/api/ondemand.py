"""``/ondemandvm``: VMs provisioned for one request (api.md §3.12)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, request

from vmpooler.api import schemas
from vmpooler.api.auth import auth_enabled, current_token, require_token
from vmpooler.api.errors import ApiError
from vmpooler.api.naming import naming

# The docstrings name these schemas (see vmpooler.api.openapi).
from vmpooler.api.ondemand_schemas import OndemandCreated, OndemandMessage, OndemandRequest, OndemandStatus  # noqa: F401
from vmpooler.api.ownership import require_owner
from vmpooler.api.state import context
from vmpooler.api.validation import REQUEST_ID_RULE, check_name, valid_request_id
from vmpooler.api.vm import parse_spec
from vmpooler.domain.outcomes import RequestEnd
from vmpooler.lifecycle.ondemand.requests import create_request, delete_request, view_request

blueprint = Blueprint("ondemand", __name__)


def error(status: int, **body) -> ApiError:
    """An error with exactly the original's body (``message``, ``bad_templates`` ...)."""
    failure = ApiError(status)
    failure.body = {"ok": False, **body}
    return failure


def json_payload() -> dict[str, Any]:
    """The JSON body; 400 as the original when it does not parse, 404 for null/false."""
    try:
        body = schemas.parse_json_body(request.get_data())
    except ApiError as exc:
        if exc.status != 400:
            raise
        raise error(400, message="JSON payload could not be parsed") from None
    if body is None or body is False:
        raise error(404)
    if not isinstance(body, dict):
        raise error(400, message="the JSON payload must be an object of pool names and counts")
    return body


def _token() -> tuple[str | None, str | None]:
    """(token, user) when auth is configured; a token is then required."""
    if not auth_enabled():
        return None, None
    user = require_token()
    return current_token(), user


def _create(wanted: list[tuple[str, object]], request_id: object, token: str | None, user: str | None):
    ctx = context()
    for name, _ in wanted:
        if name not in ctx.settings.pool_names:
            check_name(name)
    if request_id is not None and not valid_request_id(request_id):
        raise error(400, message=REQUEST_ID_RULE)
    assert request_id is None or isinstance(request_id, str)  # valid_request_id accepts only strings
    bad = [name for name, _ in wanted if name not in ctx.settings.pool_names]
    if bad:
        for name in bad:
            ctx.metrics.increment(f"ondemandrequest_fail.invalid.{name or 'unknown'}")
        raise error(404, bad_templates=bad)
    counts: list[tuple[str, int]] = []
    invalid = []
    for name, value in wanted:
        count = schemas.whole_number(value)
        if count is None or count < 0:
            invalid.append(name)
        else:
            counts.append((name, count))
    if invalid:
        raise error(400, message=f"the count of {', '.join(invalid)} must be a whole number")
    limit = ctx.settings.config.max_ondemand_instances_per_request
    over = [name for name, count in counts if count > limit]
    if over:
        for name in over:
            ctx.metrics.increment(f"ondemandrequest_fail.toomanyrequests.{name}")
        raise error(403, message=f"requested amount of instances exceeds the maximum {limit}")
    counts = [(name, count) for name, count in counts if count > 0]
    if not counts:
        raise error(400, message="the request asks for no VMs")
    if request_id is None:
        request_id = str(uuid.uuid4())
    if not create_request(ctx, counts, request_id, token, user):
        ctx.metrics.increment("ondemandrequest_generate.duplicaterequests")
        raise error(409, request_id=request_id, message=f"request_id '{request_id}' has already been created")
    ctx.metrics.increment("ondemandrequest_generate.success")
    return jsonify(naming().with_domain({"ok": True, "request_id": request_id})), 201


@blueprint.post("/api/v1/ondemandvm")
def post_ondemand():
    """Request VMs to be provisioned: pool (or alias) names and counts, optionally a ``request_id``.
    Poll ``GET /ondemandvm/<request_id>`` until it answers 200.
    ---
    body: OndemandRequest
    responses: {201: OndemandCreated, 400: OndemandMessage, 401: Error, 403: OndemandMessage,
                404: OndemandMessage, 409: OndemandMessage}
    """
    token, user = _token()
    payload = dict(json_payload())
    request_id = payload.pop("request_id", None)
    return _create(list(payload.items()), request_id, token, user)


@blueprint.post("/api/v1/ondemandvm/<spec>")
def post_ondemand_spec(spec: str):
    """Request VMs named in the path: ``pool1+pool1+pool2`` (the body is ignored).
    ---
    responses: {201: OndemandCreated, 400: OndemandMessage, 401: Error, 403: OndemandMessage,
                404: OndemandMessage}
    """
    token, user = _token()
    return _create(list(parse_spec(spec)), None, token, user)


@blueprint.get("/api/v1/ondemandvm/<request_id>")
def get_ondemand(request_id: str):
    """A request's progress: 202 while provisioning, 200 once ready (with hostnames), failed or deleted.
    ---
    responses: {200: OndemandStatus, 202: OndemandStatus, 400: OndemandMessage, 404: OndemandMessage}
    """
    ctx = context()
    _check_request_id(request_id)
    view = view_request(ctx, request_id)
    if view is None:
        raise error(404, message=f"no request found for request_id '{request_id}'")
    body: dict = {"ok": True, "request_id": request_id, "ready": False}
    if view.status == "ready":
        body["ready"] = True
        names = naming()
        for entry, vms in zip(view.entries, view.allocated):
            hosts = [names.hostname(vm, entry.pool) for vm in sorted(vms)]
            body.setdefault(entry.alias, {"hostname": []})["hostname"].extend(hosts)
        return jsonify(names.with_domain(body))
    if view.status == "failed":
        if view.failure_reason:
            body["message"] = f"The request failed to provision instances: {view.failure_reason}"
            body["failure_reason"] = view.failure_reason
        else:
            ttl = ctx.settings.config.ondemand_request_ttl
            body["message"] = (f"The request failed to provision instances within the configured "
                               f"ondemand_request_ttl '{ttl}'")
        return jsonify(body)
    if view.status == "deleted":
        body["message"] = "The request has been deleted"
        return jsonify(body)
    progress: dict[str, list[int]] = {}
    for entry, vms in zip(view.entries, view.allocated):
        ready, wanted = progress.setdefault(entry.alias, [0, 0])
        progress[entry.alias] = [ready + len(vms), wanted + entry.count]
    for alias, (ready, wanted) in progress.items():
        body[alias] = {"ready": str(ready), "pending": str(max(wanted - ready, 0))}
    return jsonify(body), 202


def _check_request_id(request_id: str) -> None:
    if not valid_request_id(request_id):
        raise error(400, message=REQUEST_ID_RULE)


@blueprint.delete("/api/v1/ondemandvm/<request_id>")
def delete_ondemand(request_id: str):
    """Cancel a request: its VMs are returned and no more are provisioned.
    ---
    responses: {200: OndemandMessage, 400: OndemandMessage, 401: Error, 403: Error, 404: OndemandMessage}
    """
    _token()
    _check_request_id(request_id)
    ctx = context()
    require_owner(ctx.store.ondemand.request(request_id), f"request '{request_id}'")
    outcome = delete_request(ctx, request_id)
    if outcome is RequestEnd.MISSING:
        raise error(404, message=f"no request found for request_id '{request_id}'")
    if outcome is RequestEnd.DELETED:
        return jsonify({"ok": True, "message": "the request has already been deleted"})
    return jsonify({"ok": True})
