"""``/status``, ``/poolstat`` and ``/totalrunning``: counts, read in a few round trips."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from vmpooler.api.state import api_version, context, uptime
from vmpooler.settings import PoolConfig
from vmpooler.views.overview import with_size_overrides
from vmpooler.views.status import VIEWS, poolstat, status, total_running

blueprint = Blueprint("status", __name__)


def current_pools() -> list[PoolConfig]:
    """The configured pools with the sizes set through ``/config/poolsize``."""
    ctx = context()
    return with_size_overrides(ctx.store, ctx.settings.pools)


@blueprint.get("/api/v1/status")
def get_status():
    """Capacity, queue, boot and clone times and per-pool counts; ``view`` picks sections.
    ---
    query: {view: "comma-separated sections among boot, capacity, clone, pools, queue"}
    responses: {200: Status}
    """
    views = None
    # "?view" alone means every section, "?view=" only the status (as 1.3.0).
    parts = request.query_string.decode("latin-1").split("&")
    if any(part.startswith("view=") for part in parts):
        views = {name for name in request.args.get("view", "").split(",") if name in VIEWS}
    return jsonify(status(context().store, current_pools(), uptime(), views, with_requested=api_version() >= 3))


@blueprint.get("/api/v1/poolstat")
def get_poolstat():
    """Size, alias and ready count of the pools named (or aliased) in ``pool``.
    ---
    query: {pool: "comma-separated pool or alias names"}
    responses: {200: Poolstat}
    """
    wanted = {name for name in (request.args.get("pool") or "").split(",") if name}
    return jsonify(poolstat(context().store, current_pools(), wanted))


@blueprint.get("/api/v1/totalrunning")
def get_totalrunning():
    """How many VMs are checked out, over all pools.
    ---
    responses: {200: TotalRunning}
    """
    return jsonify({"running": total_running(context().store, context().settings.pools)})
