"""``GET /api/v1/status``."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from vmpooler.api.state import context, uptime
from vmpooler.lifecycle.status import VIEWS, status

blueprint = Blueprint("status", __name__)


def current_pools():
    ctx = context()
    return [ctx.pool(pool.name) for pool in ctx.settings.pools]


@blueprint.get("/api/v1/status", strict_slashes=False)
def get_status():
    views = None
    if "view" in request.args:
        views = {name for name in request.args["view"].split(",") if name in VIEWS}
    return jsonify(status(context().store, current_pools(), uptime(), views))
