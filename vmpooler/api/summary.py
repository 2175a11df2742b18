"""``/summary``: boot and clone times and tag counts per day over a date range."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify, request

from vmpooler.api.errors import ApiError
from vmpooler.api.schemas import DATE_RE
from vmpooler.api.state import meta
from vmpooler.domain.timefmt import today
from vmpooler.views.summary import days_between, summary

blueprint = Blueprint("summary", __name__)

MAX_DAYS = 3660
ROUTE_KEYS = {"boot": ("duration", "count"), "clone": ("duration", "count")}


def _date(name: str) -> date:
    value = request.args.get(name) or today()
    if not DATE_RE.match(value):
        raise ApiError(400, f"Invalid date format '{value}', must match YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"Invalid date '{value}': no such day.") from None


def _days() -> list[str]:
    start, end = _date("from"), _date("to")
    if end < start:
        raise ApiError(400, "Date range is invalid, 'to' cannot come before 'from'.")
    if start > date.fromisoformat(today()):
        raise ApiError(400, "Date range is invalid, 'from' must be in the past.")
    if (end - start).days >= MAX_DAYS:
        raise ApiError(400, f"Date range is invalid, it may span at most {MAX_DAYS} days.")
    return days_between(start, end)


@blueprint.get("/api/v1/summary")
def get_summary():
    """Daily and total boot and clone times and tag counts between ``from`` and ``to``.
    ---
    query: {from: "first day (YYYY-MM-DD, default today)", to: "last day (YYYY-MM-DD, default today)"}
    responses: {200: Summary, 400: Error}
    """
    return jsonify(summary(meta().daily_stats(_days())))


@blueprint.get("/api/v1/summary/<route>")
@blueprint.get("/api/v1/summary/<route>/<key>")
def get_summary_part(route: str, key: str | None = None):
    """One part of the summary: ``boot`` or ``clone`` (key ``duration`` or ``count``), or ``tag`` (key: a tag name).
    ---
    query: {from: "first day (YYYY-MM-DD, default today)", to: "last day (YYYY-MM-DD, default today)"}
    responses: {200: Summary, 400: Error, 404: Error}
    """
    days = _days()
    if route not in ("boot", "clone", "tag"):
        raise ApiError(404, f"no summary named '{route}'; use boot, clone or tag")
    if key is not None and route in ROUTE_KEYS and key not in ROUTE_KEYS[route]:
        raise ApiError(404, f"no '{key}' in the {route} summary; use duration or count")
    return jsonify(summary(meta().daily_stats(days), route, key))
