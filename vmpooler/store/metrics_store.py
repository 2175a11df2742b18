"""Prometheus series kept in Redis, so every process of a deployment adds to one total.

A series is a metric name plus its label pairs; it is stored as one hash field
(JSON) so that the endpoint can list every series in one round trip. Some label
values come from requests (``checkout.invalid.<requested name>``) and Redis keeps
every series until it is flushed, so a hash takes new series only while it has
fewer than MAX_FIELDS fields (a histogram series uses one per bucket, plus two).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from vmpooler.store import keys

# The client type, for modules outside the store that hand a client over.
Client = redis.Redis

Labels = tuple[tuple[str, str], ...]

MAX_FIELDS = 100_000

# KEYS[1]=hash; ARGV: limit, then (field, amount) pairs applied only if the
# first field exists already or the hash has room for new series.
_ADD_BOUNDED = """
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
for i = 2, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS[1]=hash; ARGV: limit, field, value.
_SET_BOUNDED = """
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class StoredSeries:
    name: str
    labels: Labels
    value: float
    bucket: str = ""
    """For histograms: the bucket's upper bound (``"+Inf"``), ``"sum"`` or ``"count"``."""


def _field(name: str, labels: Labels, bucket: str = "") -> str:
    return json.dumps([name, [list(pair) for pair in labels], bucket], separators=(",", ":"))


def _parse(field: str, value: str) -> StoredSeries | None:
    """The series of a field, or None for a field this version did not write."""
    try:
        name, labels, bucket = json.loads(field)
        return StoredSeries(name, tuple((k, v) for k, v in labels), float(value), bucket)
    except (ValueError, TypeError):
        return None


class MetricsStore:
    """Writes return False when a new series was refused (the hash is full)."""

    def __init__(self, client: redis.Redis, max_fields: int = MAX_FIELDS):
        self.r = client
        self.max_fields = max_fields
        self._add = client.register_script(_ADD_BOUNDED)
        self._set = client.register_script(_SET_BOUNDED)

    def add(self, name: str, labels: Labels, amount: float = 1) -> bool:
        return bool(self._add(keys=[keys.PROMETHEUS_COUNTERS],
                              args=[self.max_fields, _field(name, labels), repr(float(amount))]))

    def set_gauge(self, name: str, labels: Labels, value: float) -> bool:
        return bool(self._set(keys=[keys.PROMETHEUS_GAUGES],
                              args=[self.max_fields, _field(name, labels), repr(float(value))]))

    def observe(self, name: str, labels: Labels, bucket: str, value: float) -> bool:
        # The count field comes first: it exists exactly when the series does.
        return bool(self._add(keys=[keys.PROMETHEUS_HISTOGRAMS], args=[
            self.max_fields, _field(name, labels, "count"), 1, _field(name, labels, bucket), 1,
            _field(name, labels, "sum"), repr(float(value))]))

    def read(self) -> tuple[list[StoredSeries], list[StoredSeries], list[StoredSeries]]:
        """(counters, gauges, histogram parts), each sorted by field."""
        pipe = self.r.pipeline(transaction=False)
        for key in (keys.PROMETHEUS_COUNTERS, keys.PROMETHEUS_GAUGES, keys.PROMETHEUS_HISTOGRAMS):
            pipe.hgetall(key)
        counters, gauges, histograms = (
            [item for item in (_parse(f, v) for f, v in sorted(found.items())) if item is not None]
            for found in pipe.execute())
        return counters, gauges, histograms
