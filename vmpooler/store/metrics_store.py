"""Prometheus series kept in Redis, so every process of a deployment adds to one total.

A series is a metric name plus its label pairs; it is stored as one hash field
(JSON) so that the endpoint can list every series in one round trip. Some label
values come from requests (``checkout.invalid.<requested name>``) and Redis keeps
every series until it is flushed, so a hash takes new series only while it has
fewer than MAX_FIELDS fields (a histogram series uses one per bucket, plus two).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

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


# KEYS: counters, gauges, histograms hashes; ARGV: limit, JSON batch
# {"c": [[field, amount]], "h": [[[count field, 1], [bucket field, 1], [sum field, value]]],
#  "g": [[field, value]]}. A group is written only if its first field exists already or its
# hash has room; returns the first field of every refused group.
_WRITE_BATCH = """
local limit = tonumber(ARGV[1])
local batch = cjson.decode(ARGV[2])
local refused = {}
local function room(key, field)
  return redis.call('HEXISTS', key, field) == 1 or redis.call('HLEN', key) < limit
end
for _, pair in ipairs(batch.c) do
  if room(KEYS[1], pair[1]) then redis.call('HINCRBYFLOAT', KEYS[1], pair[1], pair[2])
  else table.insert(refused, pair[1]) end
end
for _, group in ipairs(batch.h) do
  if room(KEYS[3], group[1][1]) then
    for _, pair in ipairs(group) do redis.call('HINCRBYFLOAT', KEYS[3], pair[1], pair[2]) end
  else table.insert(refused, group[1][1]) end
end
for _, pair in ipairs(batch.g) do
  if room(KEYS[2], pair[1]) then redis.call('HSET', KEYS[2], pair[1], pair[2])
  else table.insert(refused, pair[1]) end
end
return refused
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


def series_name(field: str) -> str:
    """The metric name of a stored field."""
    parsed = _parse(field, "0")
    return parsed.name if parsed else field


def _parse(field: str, value: str) -> StoredSeries | None:
    """The series of a field, or None for a field this version did not write."""
    try:
        name, labels, bucket = json.loads(field)
        return StoredSeries(name, tuple((k, v) for k, v in labels), float(value), bucket)
    except (ValueError, TypeError):
        return None


@dataclass
class Batch:
    """Datapoints not yet written: counter increments, histogram groups (count field first)
    and the last value of each gauge."""

    counters: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, dict[str, float]] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.counters or self.histograms or self.gauges)

    def add(self, name: str, labels: Labels, amount: float = 1) -> None:
        key = _field(name, labels)
        self.counters[key] = self.counters.get(key, 0.0) + float(amount)

    def set_gauge(self, name: str, labels: Labels, value: float) -> None:
        self.gauges[_field(name, labels)] = float(value)

    def observe(self, name: str, labels: Labels, bucket: str, value: float) -> None:
        count = _field(name, labels, "count")
        group = self.histograms.setdefault(count, {count: 0.0})
        group[count] += 1
        bucket_key, sum_key = _field(name, labels, bucket), _field(name, labels, "sum")
        group[bucket_key] = group.get(bucket_key, 0.0) + 1
        group[sum_key] = group.get(sum_key, 0.0) + float(value)


class MetricsStore:
    """Writes return False when a new series was refused (the hash is full)."""

    def __init__(self, client: redis.Redis, max_fields: int = MAX_FIELDS):
        self.r = client
        self.max_fields = max_fields
        self._add = client.register_script(_ADD_BOUNDED)
        self._set = client.register_script(_SET_BOUNDED)
        self._write_batch = client.register_script(_WRITE_BATCH)

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

    def write_batch(self, batch: Batch) -> list[str]:
        """Apply a process's accumulated datapoints in one call; returns the refused fields."""
        encoded = {"c": [[f, repr(v)] for f, v in batch.counters.items()],
                   "h": [[[f, repr(v)] for f, v in group.items()] for group in batch.histograms.values()],
                   "g": [[f, repr(v)] for f, v in batch.gauges.items()]}
        return self._write_batch(keys=[keys.PROMETHEUS_COUNTERS, keys.PROMETHEUS_GAUGES, keys.PROMETHEUS_HISTOGRAMS],
                                 args=[self.max_fields, json.dumps(encoded)]) or []

    def read(self) -> tuple[list[StoredSeries], list[StoredSeries], list[StoredSeries]]:
        """(counters, gauges, histogram parts), each sorted by field."""
        pipe = self.r.pipeline(transaction=False)
        for key in (keys.PROMETHEUS_COUNTERS, keys.PROMETHEUS_GAUGES, keys.PROMETHEUS_HISTOGRAMS):
            pipe.hgetall(key)
        counters, gauges, histograms = (
            [item for item in (_parse(f, v) for f, v in sorted(found.items())) if item is not None]
            for found in pipe.execute())
        return counters, gauges, histograms
