"""Host selection: which hosts of a cluster are healthy and least used.

A host is a candidate when it is out of maintenance, green, has no config
issue, reports quick stats (missing or zero usage means the host did not
report, not that it is idle), and is under ``utilization_limit`` for CPU and
memory. Its load is the higher of its CPU and memory utilisation, so a host
short of either resource ranks low.

Candidates at or below the average load form the least-used set. New clones go
round-robin over that set (so one busy minute does not send every clone to the
same host); a VM needs no migration while its host is in the set for its CPU
generation. Sets are cached per compute resource for ``host_selection_max_age``.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from vmpooler.providers.base import ProviderError
from vmpooler.providers.vsphere import props

HOST_PATHS = ("name", "summary.quickStats", "summary.hardware", "overallStatus", "configIssue",
              "runtime.inMaintenanceMode", "hardware.cpuPkg")

_GENERATION = re.compile(r"^v\d+$", re.IGNORECASE)
_CLOCK_SPEED = re.compile(r"\s*@.*$")


def cpu_generation(description: str | None) -> str:
    """The CPU generation of a host, from its CPU package description.

    Intel Xeon models name the generation as a ``vN`` word ("E5-2697 v4"), so
    hosts of one generation group together; other models group by the model
    name without the clock speed.
    """
    text = (description or "").strip()
    for word in text.split():
        if _GENERATION.match(word):
            return word.lower()
    return _CLOCK_SPEED.sub("", text)


@dataclass(frozen=True)
class HostLoad:
    name: str
    moid: str
    generation: str
    cpu: float | None = None
    memory: float | None = None
    skipped: str | None = None
    """Why the host is not a candidate (None for candidates)."""

    @property
    def load(self) -> float:
        return max(self.cpu or 0.0, self.memory or 0.0)


def assess(moid: str, values: dict[str, Any], limit: float) -> HostLoad:
    """A host's utilisation, or why it cannot take VMs."""
    name = values.get("name", moid)
    packages = values.get("hardware.cpuPkg") or ()
    generation = cpu_generation(packages[0].description if packages else None)

    def skip(reason: str) -> HostLoad:
        return HostLoad(name, moid, generation, skipped=reason)

    if values.get("runtime.inMaintenanceMode"):
        return skip("in maintenance mode")
    if values.get("overallStatus") != "green":
        return skip(f"status is {values.get('overallStatus') or 'unknown'}")
    if values.get("configIssue"):
        return skip("has a configuration issue")
    stats, hardware = values.get("summary.quickStats"), values.get("summary.hardware")
    cpu_used = getattr(stats, "overallCpuUsage", None)
    mem_used = getattr(stats, "overallMemoryUsage", None)
    if not cpu_used or not mem_used:
        return skip("reports no quick stats")
    cpu_total = (getattr(hardware, "cpuMhz", 0) or 0) * (getattr(hardware, "numCpuCores", 0) or 0)
    mem_total = (getattr(hardware, "memorySize", 0) or 0) / 1024 / 1024
    if not cpu_total or not mem_total:
        return skip("reports no hardware summary")
    cpu, memory = cpu_used / cpu_total * 100, mem_used / mem_total * 100
    if cpu > limit or memory > limit:
        return HostLoad(name, moid, generation, cpu, memory, skipped=f"over the {limit:g}% utilization limit")
    return HostLoad(name, moid, generation, cpu, memory)


def least_used(hosts: Iterable[HostLoad]) -> list[HostLoad]:
    """Candidates at or below the average load, least used first."""
    ranked = sorted((h for h in hosts if h.skipped is None), key=lambda h: (h.load, h.name))
    if not ranked:
        return []
    average = sum(h.load for h in ranked) / len(ranked)
    return [h for h in ranked if h.load <= average + 1e-9]


@dataclass
class Selection:
    """The assessed hosts of one compute resource at one moment."""

    hosts: dict[str, HostLoad]
    best: list[HostLoad]
    best_by_generation: dict[str, list[HostLoad]]
    taken_at: float
    turn: dict[str | None, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, hosts: list[HostLoad], taken_at: float) -> Selection:
        generations = {h.generation for h in hosts}
        return cls(hosts={h.moid: h for h in hosts}, best=least_used(hosts),
                   best_by_generation={g: least_used(h for h in hosts if h.generation == g) for g in generations},
                   taken_at=taken_at)

    def candidates(self, generation: str | None = None) -> list[HostLoad]:
        return self.best if generation is None else self.best_by_generation.get(generation, [])

    def next_host(self, generation: str | None = None) -> HostLoad | None:
        """Round-robin over the least-used set (of one CPU generation when given)."""
        pool = self.candidates(generation)
        if not pool:
            return None
        with self.lock:
            turn = self.turn.get(generation, 0)
            self.turn[generation] = turn + 1
        return pool[turn % len(pool)]

    def describe_skipped(self) -> str:
        return "; ".join(f"{h.name} {h.skipped}" for h in self.hosts.values() if h.skipped) or "no hosts"


class HostSelector:
    """Per-compute-resource cache of host selections, refreshed after ``max_age`` seconds."""

    def __init__(self, max_age: float, limit: float):
        self.max_age = max_age
        self.limit = limit
        self._lock = threading.Lock()
        self._entries: dict[str, Selection] = {}
        self._key_locks: dict[str, threading.Lock] = {}

    def selection(self, content: Any, compute_resource: Any) -> Selection:
        key = compute_resource._moId
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            entry = self._entries.get(key)
            # A selection without candidates is not kept: hosts may recover any moment.
            if entry is None or not entry.best or time.monotonic() - entry.taken_at > self.max_age:
                entry = Selection.of(self._assess(content, compute_resource), time.monotonic())
                self._entries[key] = entry
            return entry

    def _assess(self, content: Any, compute_resource: Any) -> list[HostLoad]:
        host_refs = props.read(content, compute_resource, ["host"]).get("host") or []
        values = props.read_many(content, host_refs, HOST_PATHS)
        return [assess(ref._moId, values.get(ref._moId, {}), self.limit) for ref in host_refs]

    def pick(self, content: Any, compute_resource: Any, cluster_name: str) -> HostLoad:
        """The next least-used host to clone onto."""
        selection = self.selection(content, compute_resource)
        host = selection.next_host()
        if host is None:
            raise ProviderError(
                f"there is no candidate in vcenter that meets all the required conditions for {cluster_name}: "
                f"the cluster has no host in a 'green' status, out of maintenance mode and not overloaded "
                f"({selection.describe_skipped()})")
        return host
