"""``/vm``: listing pools, checking VMs out, and one VM's details, changes and return."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, jsonify, request
from marshmallow import ValidationError

from vmpooler.api import schemas
from vmpooler.api.auth import (
    INVALID_TOKEN,
    MISSING_TOKEN,
    TOKEN_HEADER,
    auth_enabled,
    current_token,
    current_user,
    require_token,
)
from vmpooler.api.errors import ApiError, unauthorized
from vmpooler.api.naming import Naming, naming
from vmpooler.api.ownership import not_owner, require_owner
from vmpooler.api.state import api_version, context, meta
from vmpooler.api.validation import check_name, is_token
from vmpooler.api.vm_view import vm_details
from vmpooler.domain.outcomes import Return
from vmpooler.domain.timefmt import now, today
from vmpooler.lifecycle.vms.checkout import NotEnoughVms, checkout
from vmpooler.lifecycle.vms.completed import give_back
from vmpooler.settings import Settings
from vmpooler.store.vm_meta import TagLimits, TooManyTags

log = logging.getLogger("vmpooler.api")

blueprint = Blueprint("vm", __name__)


def parse_spec(spec: str) -> list[tuple[str, int]]:
    """``pool1+pool1+pool2`` -> [("pool1", 2), ("pool2", 1)] (first-occurrence order).

    Trailing ``+`` are dropped (as Ruby's split does); an empty name in the
    middle or at the start stays and is then unknown.
    """
    counts: dict[str, int] = {}
    for name in spec.rstrip("+").split("+"):
        counts[name] = counts.get(name, 0) + 1
    if any(count > schemas.MAX_VMS_PER_POOL for count in counts.values()):
        raise ApiError(400, f"at most {schemas.MAX_VMS_PER_POOL} VMs of one pool per request")
    return list(counts.items())


def short_hostname(name: str, settings: Settings) -> str:
    """The VM name of a client's hostname (see ``vmpooler.api.naming``)."""
    schemas.check_hostname(name)
    return Naming(settings, api_version() >= 3).vm_name(name)


def usage(operation: str, pool: str, user: str | None) -> None:
    ctx = context()
    if ctx.settings.config.usage_stats:
        ctx.metrics.increment(f"user.{user or 'unauthenticated'}.{operation}.{pool}")


def checkout_response(wanted: list[tuple[str, int]]):
    ctx = context()
    settings = ctx.settings
    for name, _ in wanted:
        if name not in settings.pool_names:
            check_name(name)
    unknown = [name for name, _ in wanted if name not in settings.pool_names]
    if unknown:
        for name in unknown:
            ctx.metrics.increment(f"checkout.invalid.{name or 'unknown'}")
        raise ApiError(404, "unknown pool or alias: " + ", ".join(repr(name) for name in unknown))
    fields: dict[str, str] = {}
    token = current_token()
    if token is not None:
        fields = {"token:token": token, "token:user": current_user() or ""}
        if settings.config.vm_lifetime_auth:
            fields["lifetime"] = str(settings.config.vm_lifetime_auth)
    try:
        allocations = checkout(ctx, [(name, count) for name, count in wanted if count > 0], fields)
    except NotEnoughVms as exc:
        raise ApiError(503, "not enough ready VMs in: " + ", ".join(exc.names)
                       + "; nothing was checked out, try again shortly") from None
    names = naming()
    body: dict = {"ok": True}
    for name, _ in wanted:
        hosts = []
        for allocation in allocations:
            if allocation.requested == name:
                usage("checkout", allocation.pool, fields.get("token:user"))
                hosts.append(names.hostname(allocation.vm, allocation.pool))
        if hosts:
            body[name] = {"hostname": hosts[0] if len(hosts) == 1 else hosts}
    return jsonify(names.with_domain(body))


@blueprint.get("/api/v1/vm")
def list_pools():
    """The configured pools, in configuration order (aliases are not listed).
    ---
    responses: {200: PoolNames}
    """
    return jsonify([pool.name for pool in context().settings.pools])


@blueprint.post("/api/v1/vm")
def post_vm():
    """Check out VMs: a JSON object of pool (or alias) names and counts, all or nothing.
    ---
    body: CheckoutRequest
    responses: {200: Checkout, 400: Error, 401: Error, 404: Error, 503: Error}
    """
    return checkout_response(schemas.load_counts(schemas.json_object(request.get_data())))


@blueprint.post("/api/v1/vm/<spec>")
def post_vm_spec(spec: str):
    """Check out VMs named in the path, e.g. ``pool1+pool1+pool2`` (the body is ignored).

    In the document the path parameter is called ``hostname``, as for the other methods of this path.
    ---
    responses: {200: Checkout, 400: Error, 401: Error, 404: Error, 503: Error}
    """
    return checkout_response(parse_spec(spec))


@blueprint.get("/api/v1/vm/<hostname>")
def get_vm(hostname: str):
    """One VM: template, lifetime, state and times, tags, snapshots, disks.
    ---
    responses: {200: VmInfo, 400: Error, 404: Error}
    """
    ctx = context()
    name = short_hostname(hostname, ctx.settings)
    fields = ctx.store.vm(name)
    if not fields:
        raise ApiError(404, f"no VM named '{name}'")
    details = vm_details(name, fields, now=now(), default_lifetime=ctx.settings.config.vm_lifetime,
                         naming=naming(), resolve=ctx.resolve)
    return jsonify({"ok": True, name: details})


@blueprint.put("/api/v1/vm/<hostname>")
def put_vm(hostname: str):
    """Set a VM's lifetime (hours since checkout; needs a token when auth is on) and tags (bounded by
    ``max_tags_per_vm`` and ``max_tags_bytes``). A VM checked out with a token: its owner's or an admin's token.
    ---
    body: ModifyVmRequest
    responses: {200: Ok, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    ctx = context()
    name = short_hostname(hostname, ctx.settings)
    fields = ctx.store.vm(name)
    if not fields:
        raise ApiError(404, f"no VM named '{name}'")
    require_owner(fields, f"VM '{name}'")
    body = schemas.json_object(request.get_data())
    if "lifetime" in body and auth_enabled():
        require_token()
    failures = [f"Unknown argument {key}." for key in body if key not in ("lifetime", "tags")]
    try:
        values = schemas.ModifyVmRequest().load(body)
    except ValidationError as exc:
        values = {}
        failures += _messages(exc.messages)
    limit = ctx.settings.config.max_lifetime_upper_limit
    if limit and values.get("lifetime", 0) > limit:
        failures.append(f"You provided a lifetime ({body['lifetime']}) that exceeds the configured "
                        f"maximum of {limit}.")
    tags = _filtered_tags(values.get("tags") or {}, failures)
    if failures:
        raise ApiError(400, " ".join(failures), failure=failures)
    config = ctx.settings.config
    try:
        updated = meta().update(name, values.get("lifetime"), tags, today(),
                                TagLimits(config.max_tags_per_vm, config.max_tags_bytes))
    except TooManyTags as exc:
        raise ApiError(400, str(exc), failure=[str(exc)]) from None
    if not updated:
        raise ApiError(404, f"no VM named '{name}'")
    return jsonify({"ok": True})


def _messages(errors) -> list[str]:
    """The messages of marshmallow's nested errors (each names what it is about)."""
    if isinstance(errors, dict):
        return [line for value in errors.values() for line in _messages(value)]
    if isinstance(errors, list):
        return [line for item in errors for line in _messages(item)]
    return [str(errors)]


def _filtered_tags(tags: dict[str, str | None], failures: list[str]) -> dict[str, str]:
    settings = context().settings
    allowed = settings.config.allowed_tags
    if allowed is not None:
        refused = sorted(set(tags) - set(allowed))
        if refused:
            failures.append(f"You provided unsupported tags ({', '.join(refused)}); "
                            f"allowed tags are: {', '.join(allowed) or 'none'}.")
    kept: dict[str, str] = {}
    for name, value in tags.items():
        if value is not None and name in settings.tagfilter:
            value = _apply_filter(settings.tagfilter[name], value)
        if value:
            kept[name] = value
    return kept


def _apply_filter(pattern: str, value: str) -> str:
    """1.3.0's tagfilter: a matching value becomes the concatenation of its capture groups."""
    try:
        match = re.search(pattern, value)
    except re.error as exc:
        log.error("tagfilter %r is not a valid regular expression: %s", pattern, exc)
        return value
    if match is None:
        return value
    return "".join(group or "" for group in match.groups())


@blueprint.delete("/api/v1/vm/<hostname>")
def delete_vm(hostname: str):
    """Give a running VM back; it is destroyed. A VM checked out with a token needs a token of its
    owner (or of an admin).
    ---
    responses: {200: Ok, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    ctx = context()
    name = short_hostname(hostname, ctx.settings)
    token = (request.headers.get(TOKEN_HEADER) or "").strip() or None
    if token is not None and not is_token(token):
        raise unauthorized(INVALID_TOKEN)
    # One script call: the owner check and the move; the destroy is queued at once.
    result = give_back(ctx, name, token, ctx.settings.config.admin_users or [])
    if result.outcome is Return.UNKNOWN:
        raise ApiError(404, f"no VM named '{name}'")
    if result.outcome is Return.NEEDS_TOKEN:
        raise unauthorized(MISSING_TOKEN)
    if result.outcome is Return.BAD_TOKEN:
        raise unauthorized(INVALID_TOKEN)
    if result.outcome is Return.NOT_OWNER:
        raise not_owner(f"VM '{name}'")
    if result.outcome is not Return.RETURNED:
        raise ApiError(404, f"'{name}' is not checked out (not in the running VMs of its pool)")
    usage("destroy", result.pool, result.owner or None)
    return jsonify({"ok": True})
