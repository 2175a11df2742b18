"""Prometheus series kept in Redis, so every process of a deployment adds to one total.

A series is a metric name plus its label pairs; it is stored as one hash field
(JSON) so that the endpoint can list every series in one round trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from vmpooler.store import keys

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StoredSeries:
    name: str
    labels: Labels
    value: float
    bucket: str = ""
    """For histograms: the bucket's upper bound (``"+Inf"``), ``"sum"`` or ``"count"``."""


def _field(name: str, labels: Labels, bucket: str = "") -> str:
    return json.dumps([name, [list(pair) for pair in labels], bucket], separators=(",", ":"))


def _parse(field: str, value: str) -> StoredSeries:
    name, labels, bucket = json.loads(field)
    return StoredSeries(name, tuple((k, v) for k, v in labels), float(value), bucket)


class MetricsStore:
    def __init__(self, client: redis.Redis):
        self.r = client

    def add(self, name: str, labels: Labels, amount: float = 1) -> None:
        self.r.hincrbyfloat(keys.PROMETHEUS_COUNTERS, _field(name, labels), amount)

    def set_gauge(self, name: str, labels: Labels, value: float) -> None:
        self.r.hset(keys.PROMETHEUS_GAUGES, _field(name, labels), repr(float(value)))

    def observe(self, name: str, labels: Labels, bucket: str, value: float) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hincrby(keys.PROMETHEUS_HISTOGRAMS, _field(name, labels, bucket), 1)
        pipe.hincrby(keys.PROMETHEUS_HISTOGRAMS, _field(name, labels, "count"), 1)
        pipe.hincrbyfloat(keys.PROMETHEUS_HISTOGRAMS, _field(name, labels, "sum"), value)
        pipe.execute()

    def read(self) -> tuple[list[StoredSeries], list[StoredSeries], list[StoredSeries]]:
        """(counters, gauges, histogram parts), each sorted by field."""
        pipe = self.r.pipeline(transaction=False)
        for key in (keys.PROMETHEUS_COUNTERS, keys.PROMETHEUS_GAUGES, keys.PROMETHEUS_HISTOGRAMS):
            pipe.hgetall(key)
        return tuple([_parse(f, v) for f, v in sorted(found.items())] for found in pipe.execute())
