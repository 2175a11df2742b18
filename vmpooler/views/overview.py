"""The figures an operator watches: what the dashboard and ``vmpooler status`` show."""

from __future__ import annotations

import dataclasses
from typing import Iterable

from vmpooler.domain.numbers import ascii_int
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import today
from vmpooler.settings import PoolConfig
from vmpooler.store.monitoring import MonitoringStore
from vmpooler.store.redis_store import RedisStore
from vmpooler.views.status import ruby_round, task_summary

STATES = (State.READY, State.PENDING, State.RUNNING, State.COMPLETED)


def with_size_overrides(store: RedisStore, pools: Iterable[PoolConfig]) -> list[PoolConfig]:
    """The pools with the sizes set through ``/config/poolsize`` (the sizes workers fill to)."""
    sizes = store.size_overrides()
    return [pool if (size := ascii_int(sizes.get(pool.name))) is None else dataclasses.replace(pool, size=size)
            for pool in pools]


def pool_rows(store: RedisStore, pools: list[PoolConfig]) -> list[dict]:
    """Per pool, in configuration order: size, the count of each state, and today's
    average clone and boot times (seconds; 0 when none)."""
    day = today()
    return _rows(store, pools, store.day_stats("clone", day), store.day_stats("boot", day))


def overview(store: RedisStore, monitoring: MonitoringStore, pools: list[PoolConfig]) -> dict:
    """Pool rows plus the totals: capacity, clone and boot times, queues, on-demand requests."""
    day = today()
    clone_stats, boot_stats = store.day_stats("clone", day), store.day_stats("boot", day)
    rows = _rows(store, pools, clone_stats, boot_stats)
    total = sum(row["size"] for row in rows)
    ready = sum(row["ready"] for row in rows)
    return {
        "pools": rows,
        "capacity": {"current": ready, "total": total, "percent": ruby_round(ready / total * 100) if total else 0},
        "clone": _times(clone_stats),
        "boot": _times(boot_stats),
        "queue": {state.value: sum(row[state.value] for row in rows) for state in STATES},
        "ondemand": monitoring.ondemand_sizes(),
    }


def _rows(store: RedisStore, pools: list[PoolConfig], clone_stats: dict, boot_stats: dict) -> list[dict]:
    counts = store.counts([pool.name for pool in pools], STATES)
    clones, boots = _by_pool(clone_stats), _by_pool(boot_stats)
    rows = []
    for pool in pools:
        clone, boot = _times(clones.get(pool.name, {})), _times(boots.get(pool.name, {}))
        rows.append({
            "name": pool.name, "size": pool.size,
            **{state.value: counts[pool.name][state] for state in STATES},
            "clone_average": clone["average"], "clone_count": clone["count"],
            "boot_average": boot["average"], "boot_count": boot["count"],
        })
    return rows


def _times(stats: dict[str, str]) -> dict:
    summary = task_summary(stats)
    return {"average": summary["duration"]["average"], "count": summary["count"]["total"]}


def _by_pool(stats: dict[str, str]) -> dict[str, dict[str, str]]:
    """``<pool>:<vm>`` fields grouped by pool."""
    grouped: dict[str, dict[str, str]] = {}
    for field, value in stats.items():
        pool, _, vm = field.rpartition(":")
        grouped.setdefault(pool, {})[vm] = value
    return grouped
