"""The figures of ``GET /status``, computed from Redis in a few round trips."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from vmpooler.domain.states import State
from vmpooler.domain.timefmt import today
from vmpooler.settings import PoolConfig
from vmpooler.store.redis_store import RedisStore

VIEWS = ("boot", "capacity", "clone", "pools", "queue")


def ruby_round(value: float, digits: int = 1) -> float:
    """Round half up on the shortest decimal form, as Ruby's ``Float#round``."""
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def task_summary(values: dict[str, str]) -> dict:
    durations = [float(v) for v in values.values() if _is_number(v)]
    if not durations:
        return {"duration": {"average": 0, "min": 0, "max": 0, "total": 0}, "count": {"total": 0}}
    total = sum(durations)
    return {
        "duration": {"average": ruby_round(total / len(durations)), "min": min(durations),
                     "max": max(durations), "total": total},
        "count": {"total": len(durations)},
    }


def _is_number(value: str) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def status(store: RedisStore, pools: list[PoolConfig], uptime: float, views: set[str] | None = None,
           with_requested: bool = False) -> dict:
    """1.3.0's status; ``with_requested`` adds v3's count of waiting on-demand requests to ``queue``."""
    views = set(VIEWS) if views is None else views
    names = [pool.name for pool in pools]
    counts = store.counts(names, (State.READY, State.RUNNING, State.PENDING, State.COMPLETED))
    result: dict = {}
    if "boot" in views:
        result["boot"] = task_summary(store.day_stats("boot", today()))
    if "capacity" in views:
        total = sum(pool.size for pool in pools)
        current = sum(counts[name][State.READY] for name in names)
        result["capacity"] = {"current": current, "total": total,
                              "percent": ruby_round(current / total * 100) if total else 0}
    if "clone" in views:
        result["clone"] = task_summary(store.day_stats("clone", today()))
    empty: list[str] = []
    if "pools" in views:
        lastboot = store.lastboot()
        result["pools"] = {}
        for pool in pools:
            entry = {"ready": counts[pool.name][State.READY], "running": counts[pool.name][State.RUNNING],
                     "pending": counts[pool.name][State.PENDING], "max": pool.size,
                     "lastBoot": lastboot.get(pool.name, "")}
            if pool.alias_raw:
                entry["alias"] = pool.alias_raw
            result["pools"][pool.name] = entry
            if entry["ready"] == 0 and pool.size != 0:
                empty.append(pool.name)
    if "queue" in views:
        result["queue"] = _queue(store, names, counts)
        if with_requested:
            requested = store.ondemand_requests_waiting()
            result["queue"] = {"requested": requested, **result["queue"]}
            result["queue"]["total"] += requested
    ok = not empty
    result["status"] = {"ok": ok, "message": "Battle station fully armed and operational." if ok
                        else f"Found {len(empty)} empty pools."}
    if empty:
        result["status"]["empty"] = empty
    result["status"]["uptime"] = ruby_round(uptime)
    return result


def _queue(store: RedisStore, names: list[str], counts: dict) -> dict:
    def total(state: State) -> int:
        return sum(counts[name][state] for name in names)

    clone, ondemand = store.clone_and_ondemand_counters()
    pending = total(State.PENDING)
    queue = {"pending": pending, "cloning": clone + ondemand, "booting": max(0, pending - clone - ondemand),
             "ready": total(State.READY), "running": total(State.RUNNING), "completed": total(State.COMPLETED)}
    queue["total"] = pending + queue["ready"] + queue["running"] + queue["completed"]
    return queue


def poolstat(store: RedisStore, pools: list[PoolConfig], wanted: set[str]) -> dict:
    """``/poolstat``: size, alias and ready count of the pools named (or aliased) in ``wanted``."""
    chosen = [pool for pool in pools if pool.name in wanted or wanted & set(pool.alias)]
    counts = store.counts([pool.name for pool in chosen], (State.READY,))
    result: dict = {}
    for pool in chosen:
        entry: dict = {"max": pool.size}
        if pool.alias_raw:
            entry["alias"] = pool.alias_raw
        entry["ready"] = counts[pool.name][State.READY]
        result[pool.name] = entry
    return {"pools": result}


def total_running(store: RedisStore, pools: Sequence[PoolConfig]) -> int:
    counts = store.counts([pool.name for pool in pools], (State.RUNNING,))
    return sum(entry[State.RUNNING] for entry in counts.values())
