"""Prometheus: series aggregated in Redis and served by the API.

Every gunicorn worker and Celery worker process writes its datapoints to Redis
(:mod:`vmpooler.store.metrics_store`), and the scrape endpoint renders the totals.
So counters add up across processes and hosts, and survive the exit of the
process that counted them, with no shared directory to manage.

Datapoints are batched per process and written in one script call at most every
FLUSH_SECONDS (a one-shot timer armed by the first datapoint of a batch, and at
exit), so a request or a task never waits on a metrics round trip; the scrape
endpoint writes its own process's batch first.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Callable, Iterable

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from vmpooler.metrics import Metrics
from vmpooler.metrics.catalogue import COUNTER, GAUGE, HISTOGRAM, HTTP_BUCKETS, Series, UnknownMetric, documentation, series
from vmpooler.store.connection import link_record
from vmpooler.store.metrics_store import Batch, Client, MetricsStore, StoredSeries, series_name

log = logging.getLogger("vmpooler.metrics")

INSTANCE_LABEL = "vmpooler_instance"

FLUSH_SECONDS = 1.0


def _flush_if_alive(ref: weakref.ref[PrometheusMetrics]) -> None:
    metrics = ref()
    if metrics is not None:
        metrics.flush()


class PrometheusMetrics(Metrics):
    def __init__(self, prometheus_prefix: str, redis_client: Callable[[], Client],
                 flush_seconds: float = FLUSH_SECONDS):
        self.prometheus_prefix = prometheus_prefix
        self.flush_seconds = flush_seconds
        self._redis_client = redis_client
        self._store: MetricsStore | None = None
        self._lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._batch = Batch()
        self._timer: threading.Timer | None = None
        self._timer_pid = 0
        atexit.register(_flush_if_alive, weakref.ref(self))

    @property
    def store(self) -> MetricsStore:
        # Created on first use, after a worker process has forked.
        with self._lock:
            if self._store is None:
                self._store = MetricsStore(self._redis_client())
            return self._store

    def _refused(self, name: str) -> None:
        log.warning("[!] prometheus: too many series stored in Redis; %s and other new series are dropped", name)

    def increment(self, label: str, value: int = 1) -> None:
        self._record(label, COUNTER, "increment", value, lambda b, s: b.add(s.name, s.labels, value))

    def gauge(self, label: str, value: float) -> None:
        if value is not None:
            self._record(label, GAUGE, "gauge", value, lambda b, s: b.set_gauge(s.name, s.labels, value))

    def timing(self, label: str, value: float) -> None:
        if value is not None:
            self._record(label, HISTOGRAM, "timing", value,
                         lambda b, s: b.observe(s.name, s.labels, bucket_of(s.spec.buckets, value), value))

    def http_request(self, method: str, path: str, code: int, seconds: float) -> None:
        """The request middleware's series; labels are given whole, as a path may hold dots."""
        prefix = self.prometheus_prefix
        labels = (("method", method), ("path", path))
        with self._batch_lock:
            self._batch.add(f"{prefix}_http_requests_total", (("code", str(code)),) + labels)
            self._batch.observe(f"{prefix}_http_request_duration_seconds", labels,
                                bucket_of(HTTP_BUCKETS, seconds), seconds)
            self._arm()

    def _record(self, label: str, kind: str, action: str, value: float,
                write: Callable[[Batch, Series], None]) -> None:
        try:
            found = series(label, self.prometheus_prefix)
            if found.spec.kind != kind:
                raise UnknownMetric(f"{found.name} is a {found.spec.kind}")
        except Exception as exc:  # a bad label must not fail the work being measured
            log.info("[!] prometheus error logging metric %s %s %s: %s", label, action, value, exc)
            return
        with self._batch_lock:
            write(self._batch, found)
            self._arm()

    def _arm(self) -> None:
        """Schedule a flush of the batch (the lock is held). A forked child arms its own."""
        if self._timer is None or self._timer_pid != os.getpid():
            self._timer = threading.Timer(self.flush_seconds, self.flush)
            self._timer.daemon = True
            self._timer_pid = os.getpid()
            self._timer.start()

    def flush(self) -> None:
        """Write the datapoints gathered so far in one call; an outage drops them, logged."""
        with self._batch_lock:
            batch, self._batch, self._timer = self._batch, Batch(), None
        if not batch:
            return
        try:
            refused = self.store.write_batch(batch)
        except Exception as exc:  # a metrics outage must not fail anything else
            log.info("[!] prometheus error writing %d series: %s", len(batch.counters) + len(batch.gauges)
                     + len(batch.histograms), exc)
            return
        if refused:
            self._refused(series_name(refused[0]))


def bucket_of(buckets: tuple[float, ...], value: float) -> str:
    """The smallest bucket bound the value fits under."""
    index = bisect.bisect_left(buckets, float(value))
    return repr(buckets[index]) if index < len(buckets) else "+Inf"


def exposition(store: MetricsStore, prometheus_prefix: str, instance: str) -> bytes:
    """The text format of every series in Redis, each labelled ``vmpooler_instance``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoredCollector(store, prometheus_prefix, instance))
    return generate_latest(registry)


class _StoredCollector(Collector):
    def __init__(self, store: MetricsStore, prefix: str, instance: str):
        self.store, self.prefix, self.instance = store, prefix, instance

    def collect(self) -> Iterable[Metric]:
        counters, gauges, histograms = self.store.read()
        counters = counters + self._redis_link()
        known: dict[str, Metric | None] = {}
        for item in counters + gauges:
            if item.name not in known:
                known[item.name] = self._family(item.name)
            family = known[item.name]
            if family is not None:
                labels = dict(item.labels, **{INSTANCE_LABEL: self.instance})
                family.add_sample(family.name + "_total" if family.type == COUNTER else family.name, labels, item.value)
        families = {name: family for name, family in known.items() if family is not None}
        families.update(self._histograms(histograms))
        return [families[name] for name in sorted(families)]

    def _redis_link(self) -> list[StoredSeries]:
        record = link_record(self.store.r)
        # Like every other counter here, a series appears with its first event.
        return [StoredSeries(f"{self.prefix}_redis_{name}", (), float(record[name]))
                for name in ("reconnects", "failovers") if name in record]

    def _family(self, name: str) -> Metric | None:
        described = documentation(name, self.prefix)
        if described is None:  # written by a deployment with another prefix or catalogue
            return None
        doc, spec = described
        # The text format names a counter's sample <family>_total; some of the original's names already end so.
        return Metric(name.removesuffix("_total") if spec.kind == COUNTER else name, doc, spec.kind)

    def _histograms(self, parts: list[StoredSeries]) -> Mapping[str, Metric]:
        grouped: dict[tuple, dict[str, float]] = {}
        for part in parts:
            grouped.setdefault((part.name, part.labels), {})[part.bucket] = part.value
        families: dict[str, HistogramMetricFamily] = {}
        for (name, labels), values in sorted(grouped.items()):
            described = documentation(name, self.prefix)
            if described is None:
                continue
            doc, spec = described
            label_names = [k for k, _ in labels] + [INSTANCE_LABEL]
            family = families.setdefault(name, HistogramMetricFamily(name, doc, labels=label_names))
            cumulative, buckets = 0.0, []
            for bound in [repr(b) for b in spec.buckets] + ["+Inf"]:
                cumulative += values.get(bound, 0.0)
                buckets.append((bound, cumulative))
            family.add_metric([v for _, v in labels] + [self.instance], buckets, values.get("sum", 0.0))
        return families
