"""``GET /summary``: boot and clone times and tag counts per day and over a range.

The shapes are 1.3.0's, including that the range aggregate of boot and clone
has only ``total`` and ``pool`` at the top, and that a pool's aggregate
min/max/average are taken over the daily minimums and maximums.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from vmpooler.views.status import _is_number, ruby_round, task_summary

TASKS = ("boot", "clone")


def days_between(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def day_task(values: dict[str, str]) -> dict:
    """One day of one task: totals and per-pool figures (pool = text before ':')."""
    summary = task_summary(values)
    if not summary["count"]["total"]:
        return summary
    per_pool: dict[str, list[float]] = {}
    for field_name, value in values.items():
        if _is_number(value):
            pool = field_name.split(":", 1)[0] if ":" in field_name else "unknown"
            per_pool.setdefault(pool, []).append(float(value))
    summary["duration"]["pool"] = {
        pool: {"total": sum(times), "average": ruby_round(sum(times) / len(times)),
               "min": min(times), "max": max(times)}
        for pool, times in per_pool.items()}
    summary["count"]["pool"] = {pool: {"total": len(times)} for pool, times in per_pool.items()}
    return summary


def day_tags(values: dict[str, str]) -> dict:
    tags: dict[str, dict[str, int]] = {}
    for field_name, value in values.items():
        if ":" not in field_name:
            continue
        name = field_name.split(":", 1)[1]
        counts = tags.setdefault(name, {})
        counts[value] = counts.get(value, 0) + 1
        counts["total"] = counts.get("total", 0) + 1
    return tags


def aggregate_task(days: list[dict]) -> dict:
    duration: dict = {"total": 0, "pool": {}}
    count: dict = {"total": 0, "pool": {}}
    extremes: dict[str, list[float]] = {}
    for day in days:
        count["total"] += day["count"]["total"]
        duration["total"] += day["duration"]["total"]
        for pool, figures in day["duration"].get("pool", {}).items():
            entry = duration["pool"].setdefault(pool, {"total": 0})
            entry["total"] += figures["total"]
            extremes.setdefault(pool, []).extend([figures["min"], figures["max"]])
        for pool, figures in day["count"].get("pool", {}).items():
            entry = count["pool"].setdefault(pool, {"total": 0})
            entry["total"] += figures["total"]
    for pool, values in extremes.items():
        duration["pool"][pool].update(min=min(values), max=max(values), average=sum(values) / len(values))
    return {"duration": duration, "count": count}


def aggregate_tags(days: list[dict]) -> dict:
    tags: dict[str, dict[str, int]] = {}
    for day in days:
        for name, counts in day.items():
            target = tags.setdefault(name, {})
            for value, number in counts.items():
                target[value] = target.get(value, 0) + number
    return tags


def summary(raw_days: dict[str, dict[str, dict[str, str]]], route: str | None = None,
            key: str | None = None) -> dict:
    """``raw_days``: day -> {"boot"|"clone"|"tag": that day's hash}, in date order.

    ``route`` (boot, clone or tag) and ``key`` (duration/count, or a tag name)
    restrict the answer as ``/summary/<route>/<key>`` does.
    """
    daily = []
    for day, hashes in raw_days.items():
        entry: dict = {"date": day}
        for task in TASKS:
            entry[task] = day_task(hashes.get(task, {}))
        entry["tag"] = day_tags(hashes.get("tag", {}))
        daily.append(entry)
    if route is None:
        result: dict[str, Any] = {"daily": daily}
        for task in TASKS:
            result[task] = aggregate_task([day[task] for day in daily])
        result["tag"] = aggregate_tags([day["tag"] for day in daily])
        return result
    if route == "tag":
        per_day = [{name: counts for name, counts in day["tag"].items() if key is None or name == key}
                   for day in daily]
        return {"tag": aggregate_tags(per_day),
                "daily": [{"date": day["date"], "tag": tags} for day, tags in zip(daily, per_day)]}
    total = aggregate_task([day[route] for day in daily])
    if key is not None:
        total = {key: total[key]}
    return {route: total,
            "daily": [{"date": day["date"], route: day[route] if key is None else {key: day[route][key]}}
                      for day in daily]}
