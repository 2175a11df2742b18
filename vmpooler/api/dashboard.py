"""The dashboard: one self-refreshing page, and the JSON routes it (and 1.3.0's page) reads."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from marshmallow import Schema, fields

from vmpooler.api.state import services
from vmpooler.domain.states import State
from vmpooler.store.monitoring import MonitoringStore
from vmpooler.views.overview import overview, with_size_overrides

log = logging.getLogger("vmpooler.api")

blueprint = Blueprint("dashboard", __name__, static_folder="static", static_url_path="/dashboard/static",
                      template_folder="templates")

REFRESH_SECONDS = 5
MIN_REFRESH_SECONDS, MAX_REFRESH_SECONDS = 0.2, 3600
GRAPH_TIMEOUT_SECONDS = 3
# 1.3.0 stretched each Graphite datapoint over eight of its chart's columns.
GRAPH_REPEAT = 8
_MAJOR = re.compile(r"^(\w+)-")


class PoolStats(Schema):
    class Meta:
        additional_properties = fields.Dict(metadata={"description": "size, ready and (with ?history) history"})


class RunningStats(Schema):
    class Meta:
        additional_properties = fields.Dict(metadata={"description": "running (and history) per pool-name prefix"})


class Overview(Schema):
    pools = fields.List(fields.Dict(), metadata={"description": "name, size, ready, pending, running, completed, "
                                                                "clone_average, clone_count, boot_average, boot_count"})
    capacity = fields.Dict(metadata={"description": "current, total, percent"})
    clone = fields.Dict(metadata={"description": "today's average clone time and count"})
    boot = fields.Dict(metadata={"description": "today's average time to ready and count"})
    queue = fields.Dict(metadata={"description": "VMs per state over all pools"})
    ondemand = fields.Dict(metadata={"description": "on-demand requests: requested, processing, creating"})


@blueprint.get("/dashboard/", strict_slashes=False)
def page():
    """The dashboard page (HTML): every pool's size, ready, pending and running VMs.
    ---
    query: {refresh: "seconds between refreshes (default 5)"}
    responses: {200: Html}
    """
    refresh = request.args.get("refresh", type=float)
    if refresh is None or not MIN_REFRESH_SECONDS <= refresh <= MAX_REFRESH_SECONDS:  # also NaN
        refresh = REFRESH_SECONDS
    return render_template("dashboard.html", site_name=services().settings.config.site_name or "vmpooler",
                           refresh_ms=int(refresh * 1000))


@blueprint.get("/dashboard/stats/vmpooler/overview", strict_slashes=False)
def overview_stats():
    """Everything the dashboard page shows, in one answer.
    ---
    responses: {200: Overview}
    """
    store = services().store
    pools = with_size_overrides(store, services().settings.pools)
    return jsonify(overview(store, MonitoringStore(services().redis), pools))


@blueprint.get("/dashboard/stats/vmpooler/pool", strict_slashes=False)
def pool_stats():
    """Size and ready count of every pool; ``history`` adds the last hour of ready counts.
    ---
    query: {history: "any value: add history (from the graph server when one is configured)"}
    responses: {200: PoolStats}
    """
    settings = services().settings
    ready = services().store.counts([pool.name for pool in settings.pools], [State.READY])
    result: dict[str, dict[str, Any]] = {pool.name: {"size": pool.size, "ready": ready[pool.name][State.READY]}
                                         for pool in settings.pools}
    if "history" in request.args:
        series = _graph("ready")
        if series is None:
            for values in result.values():
                values["history"] = [values["ready"]]
        else:
            _pool_history(result, series)
    return jsonify(result)


@blueprint.get("/dashboard/stats/vmpooler/running", strict_slashes=False)
def running_stats():
    """Running VMs summed by pool-name prefix (``centos-7-x86_64`` counts under ``centos``).
    ---
    query: {history: "any value: add the last hour from the graph server, when one is configured"}
    responses: {200: RunningStats}
    """
    settings = services().settings
    running = services().store.counts([pool.name for pool in settings.pools], [State.RUNNING])
    result: dict[str, dict[str, Any]] = {}
    for pool in settings.pools:
        entry = result.setdefault(major(pool.name), {"running": 0})
        entry["running"] += running[pool.name][State.RUNNING]
    if "history" in request.args:
        series = _graph("running")
        if series is not None:
            _running_history(result, series)
    return jsonify(result)


def major(pool_name: str) -> str:
    """The pool-name prefix before the first ``-`` (``""`` without one, as 1.3.0's ``null`` key)."""
    found = _MAJOR.match(pool_name)
    return found.group(1) if found else ""


def _graph(metric: str) -> list[dict] | None:
    """The last hour of ``<prefix>.<metric>.*`` from the Graphite render API, or None
    without a graph server; like 1.3.0, an unreachable server just means no history."""
    settings = services().settings
    section = settings.graphs if settings.graphs and settings.graphs.server else settings.graphite
    if not section or not section.server:
        return None
    url = f"http://{section.server}/render?target={section.prefix}.{metric}.*&from=-1hour&format=json"
    try:
        with urllib.request.urlopen(url, timeout=GRAPH_TIMEOUT_SECONDS) as reply:
            return json.loads(reply.read())
    except (OSError, ValueError) as exc:
        log.info("[!] graph server %s: %s", section.server, exc)
        return []


def _pool_history(result: dict, series: list[dict]) -> None:
    """Each pool's datapoints, repeated GRAPH_REPEAT times; gaps keep the last value."""
    for target in series:
        name = str(target.get("target", "")).rpartition(".")[2]
        if name not in result:
            continue
        last = result[name]["size"]
        history = result[name].setdefault("history", [])
        for value, _ in target.get("datapoints", []):
            if value is not None:
                last = int(value)
            history.extend([last] * GRAPH_REPEAT)


def _running_history(result: dict, series: list[dict]) -> None:
    """Datapoints summed per pool-name prefix; gaps keep the pool's last value."""
    for target in series:
        group = result.get(major(str(target.get("target", "")).rpartition(".")[2]))
        if group is None:
            continue
        history = group.setdefault("history", [])
        last = 0
        for index, (value, _) in enumerate(target.get("datapoints", [])):
            if value is not None:
                last = int(value)
            if index == len(history):
                history.append(0)
            history[index] += last
