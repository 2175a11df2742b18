"""Metrics behind one interface (``increment``, ``timing``, ``gauge``).

Labels are the original's dotted names (``clone.<pool>``, ``errors.markedasfailed.<pool>``);
each backend turns them into its own wire format. A backend never raises into the
caller: a metrics outage must not stop a clone or a checkout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from vmpooler.settings import Settings

if TYPE_CHECKING:
    from vmpooler.store.metrics_store import Client


class Metrics:
    def increment(self, label: str, value: int = 1) -> None:
        raise NotImplementedError

    def timing(self, label: str, value: float) -> None:
        raise NotImplementedError

    def gauge(self, label: str, value: float) -> None:
        raise NotImplementedError


class NullMetrics(Metrics):
    """The default backend: metrics are dropped."""

    def increment(self, label: str, value: int = 1) -> None:
        pass

    def timing(self, label: str, value: float) -> None:
        pass

    def gauge(self, label: str, value: float) -> None:
        pass


def make_metrics(settings: Settings, redis_client: Callable[[], Client] | None = None) -> Metrics:
    """The configured backend, in the original's priority: statsd > graphite > prometheus > none.

    ``redis_client`` returns the process's Redis client; Prometheus series are kept in
    Redis so that every API and worker process adds to the same counters.
    """
    if settings.statsd:
        from vmpooler.metrics.statsd import StatsdMetrics
        return StatsdMetrics(settings.statsd.server, settings.statsd.port or 8125, settings.statsd.prefix)
    if settings.graphite:
        from vmpooler.metrics.graphite import GraphiteMetrics
        return GraphiteMetrics(settings.graphite.server, settings.graphite.port or 2003, settings.graphite.prefix)
    if settings.prometheus:
        from vmpooler.metrics.prometheus import PrometheusMetrics
        from vmpooler.store.connection import make_client
        return PrometheusMetrics(settings.prometheus.prometheus_prefix,
                                 redis_client or (lambda: make_client(settings.redis)))
    return NullMetrics()
