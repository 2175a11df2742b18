"""Checking VMs out and giving them back."""

from __future__ import annotations

from flask import Blueprint, jsonify

from vmpooler.api.errors import ApiError
from vmpooler.api.state import context
from vmpooler.lifecycle.checkout import checkout

blueprint = Blueprint("vm", __name__)


def parse_spec(spec: str) -> list[tuple[str, int]]:
    """``pool1+pool1+pool2`` -> [("pool1", 2), ("pool2", 1)] (first-occurrence order)."""
    counts: dict[str, int] = {}
    for name in spec.rstrip("+").split("+"):
        counts[name] = counts.get(name, 0) + 1
    return list(counts.items())


def short_hostname(name: str, domain: str | None) -> str:
    if domain and name.endswith("." + domain) and "." not in name[: -len(domain) - 1]:
        return name.split(".", 1)[0]
    return name


def checkout_response(request: list[tuple[str, int]]):
    ctx = context()
    unknown = [name for name, _ in request if name not in ctx.settings.pool_names]
    if unknown:
        for name in unknown:
            ctx.metrics.increment(f"checkout.invalid.{name or 'unknown'}")
        raise ApiError(404)
    allocations = checkout(ctx, [(name, count) for name, count in request if count > 0])
    if allocations is None:
        raise ApiError(503)
    body: dict = {"ok": True}
    for name, _ in request:
        hosts = [a.vm for a in allocations if a.requested == name]
        if hosts:
            body[name] = {"hostname": hosts[0] if len(hosts) == 1 else hosts}
    if ctx.settings.config.domain:
        body["domain"] = ctx.settings.config.domain
    return jsonify(body)


@blueprint.post("/api/v1/vm/<path:spec>", strict_slashes=False)
def post_vm_spec(spec: str):
    return checkout_response(parse_spec(spec))


@blueprint.delete("/api/v1/vm/<hostname>", strict_slashes=False)
def delete_vm(hostname: str):
    ctx = context()
    name = short_hostname(hostname, ctx.settings.config.domain)
    pool = ctx.store.vm(name).get("template")
    if not pool:
        raise ApiError(404)
    if not ctx.store.complete_running(pool, name):
        ctx.metrics.increment("delete.failed")
        raise ApiError(404)
    ctx.metrics.increment("delete.success")
    return jsonify({"ok": True})
