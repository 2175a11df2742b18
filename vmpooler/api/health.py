"""Monitoring endpoints: ``GET /healthcheck`` and the Prometheus scrape endpoint."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Flask, Response, g, jsonify, request
from marshmallow import Schema, fields

from vmpooler.api.auth import TOKEN_HEADER, is_admin, require_token
from vmpooler.api.errors import ApiError
from vmpooler.api.state import services, uptime
from vmpooler.bootstrap import Services
from vmpooler.domain.timefmt import format_time
from vmpooler.metrics.prometheus import PrometheusMetrics, exposition
from vmpooler.store.monitoring import MonitoringStore
from vmpooler.tasks.schedule import HEARTBEAT_SECONDS

BEAT_STALE_SECONDS = 3 * HEARTBEAT_SECONDS
"""Beat sends its heartbeat every HEARTBEAT_SECONDS; three missed beats mean it is gone."""

WORKER_STALE_SECONDS = 60.0
"""A live worker reports every few seconds (Celery's heartbeat, each task, beat's heartbeat)."""

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Health(Schema):
    ok = fields.Boolean(required=True)
    reasons = fields.List(fields.String(), metadata={"description": "what is unhealthy (empty when ok)"})
    api = fields.Dict(metadata={"description": "ok, uptime (seconds)"})
    redis = fields.Dict(metadata={"description": "ok, master (address in use), since, previous_master, "
                                                 "failovers, reconnects"})
    beat = fields.Dict(metadata={"description": "ok, last_tick"})
    workers = fields.Dict(metadata={"description": "ok, alive (hostnames; a count unless details are shown), "
                                                   "last_seen per hostname (only with details)"})


def register(app: Flask, app_services: Services) -> None:
    # Unlike 1.3.0's, the health check is always served; the scrape endpoint and the request
    # series exist, as in 1.3.0, only when Prometheus is the metrics backend.
    app.add_url_rule("/healthcheck", "healthcheck", healthcheck, strict_slashes=False)
    metrics = app_services.metrics
    prometheus = app_services.settings.prometheus
    if isinstance(metrics, PrometheusMetrics) and prometheus is not None:
        instance = prometheus.prefix

        def scrape():
            """Every metric in Prometheus' text format, summed over all API and worker processes.
            ---
            responses: {200: Text}
            """
            metrics.flush()
            return Response(exposition(metrics.store, metrics.prometheus_prefix, instance),
                            content_type=PROMETHEUS_CONTENT_TYPE)

        app.add_url_rule(prometheus.prometheus_endpoint, "prometheus", scrape)
        app.before_request(_start_clock)
        app.after_request(lambda response: _count_request(metrics, response))


def _start_clock() -> None:
    g.request_started = time.monotonic()


def _count_request(metrics: PrometheusMetrics, response: Response) -> Response:
    # Labelled by route, not by path: hostnames and unknown paths would make a series each.
    path = request.url_rule.rule if request.url_rule else "unmatched"
    metrics.http_request(request.method.lower(), path, response.status_code,
                         time.monotonic() - g.get("request_started", time.monotonic()))
    return response


def healthcheck():
    """Whether the API, Redis, beat and the workers are alive; 503 lists what is not. Addresses,
    hostnames and error texts only with ``healthcheck_details`` or an admin's token.
    ---
    responses: {200: Health, 503: Health}
    """
    body = assess(MonitoringStore(services().redis), time.time())
    body["api"] = {"ok": True, "uptime": round(uptime(), 1)}
    return jsonify(body if _detailed() else public(body)), 200 if body["ok"] else 503


def _detailed() -> bool:
    """Full details for operators: ``config.healthcheck_details``, or a token of an admin user."""
    if services().settings.config.healthcheck_details:
        return True
    if TOKEN_HEADER not in request.headers:
        return False
    try:
        return is_admin(require_token())
    except ApiError:
        return False


def public(body: dict) -> dict:
    """What anyone may see: health flags and ages, but no address, hostname or error text."""
    shown: dict = {"ok": body["ok"], "reasons": [reason.split(":")[0] for reason in body["reasons"]]}
    for part in ("api", "redis", "beat"):
        if part in body:
            shown[part] = {key: body[part][key] for key in ("ok", "uptime", "last_tick", "failovers", "reconnects")
                           if key in body[part]}
    if "workers" in body:
        shown["workers"] = {"ok": body["workers"]["ok"], "alive": len(body["workers"]["alive"])}
    return shown


def assess(monitoring: MonitoringStore, now: float) -> dict:
    """Redis reachable, beat ticking, a worker alive; ``reasons`` says what is not."""
    problem = monitoring.unreachable()
    if problem:
        return {"ok": False, "reasons": [f"redis is unreachable: {problem}"], "redis": {"ok": False}}
    beat, workers = monitoring.liveness(now)
    reasons = []
    beat_age = None if beat is None else now - beat
    if beat_age is None:
        reasons.append("beat has never ticked")
    elif beat_age > BEAT_STALE_SECONDS:
        reasons.append(f"beat has not ticked for {beat_age:.0f} seconds")
    alive = sorted(name for name, seen in workers.items() if now - seen <= WORKER_STALE_SECONDS)
    if not alive:
        last = max(workers.values(), default=None)
        reasons.append("no worker has ever reported" if last is None
                       else f"no worker has reported for {now - last:.0f} seconds")
    return {
        "ok": not reasons,
        "reasons": reasons,
        "redis": {"ok": True, **_link(monitoring)},
        "beat": {"ok": beat_age is not None and beat_age <= BEAT_STALE_SECONDS, "last_tick": _when(beat)},
        "workers": {"ok": bool(alive), "alive": alive,
                    "last_seen": {name: _when(seen) for name, seen in sorted(workers.items())}},
    }


def _link(monitoring: MonitoringStore) -> dict:
    link = monitoring.redis_link()
    link["since"] = _when(link["since"])
    return link


def _when(epoch: float | None) -> str | None:
    return None if epoch is None else format_time(datetime.fromtimestamp(epoch, timezone.utc).astimezone())
