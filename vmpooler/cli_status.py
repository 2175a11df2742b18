"""``vmpooler status``: the pools as a terminal table, read straight from Redis."""

from __future__ import annotations

from vmpooler.bootstrap import Services, with_pools_from_redis
from vmpooler.settings import Settings
from vmpooler.store.monitoring import MonitoringStore
from vmpooler.views.overview import pool_rows, with_size_overrides

COLUMNS = (("pool", "name"), ("size", "size"), ("ready", "ready"), ("pending", "pending"),
           ("running", "running"), ("completed", "completed"), ("clone (s)", "clone_average"))


class RedisUnreachable(Exception):
    """Redis does not answer; the message says why."""


def status_table(settings: Settings) -> str:
    services = Services(settings)
    try:
        problem = MonitoringStore(services.redis).unreachable()
        if problem:
            raise RedisUnreachable(f"cannot read Redis: {problem}")
        store = services.store
        if settings.pools_from_redis:
            settings = with_pools_from_redis(settings, store)
        table = render(pool_rows(store, with_size_overrides(store, settings.pools)))
        return table + "\n\n" + redis_line(MonitoringStore(services.redis).redis_link())
    finally:
        services.close()


def redis_line(link: dict) -> str:
    """Which Redis master serves the deployment, and the failovers and reconnects seen."""
    line = f"redis master: {link['master']}"
    if link["failovers"]:
        line += f" ({link['failovers']} failover(s); previous master {link['previous_master']})"
    return line + f"; {link['reconnects']} reconnect(s)"


def render(rows: list[dict]) -> str:
    table = [[title for title, _ in COLUMNS]] + [[str(row[key]) for _, key in COLUMNS] for row in rows]
    widths = [max(len(line[index]) for line in table) for index in range(len(COLUMNS))]
    lines = ["  ".join(value.ljust(width) if index == 0 else value.rjust(width)
                       for index, (value, width) in enumerate(zip(line, widths))).rstrip()
             for line in table]
    if not rows:
        lines.append("(no pools configured)")
    return "\n".join(lines)
