"""Benchmark: what beat costs per second with many idle pools.

Beat sends one tick a second; the tick reads every pool's due time in one script
call and sends only the checks that are due. This runs the tick's own code
(``send_due_checks``) against a scratch Redis for a simulated stretch of time,
with every pool idle (each check backs off to ``check_loop_delay_max``), and
counts the messages sent and the Redis commands the tick executed. Prints JSON
for each number of pools, beside what one beat entry per pool (the previous
design, one check message per pool every ``check_loop_delay_min``) would send.

    python bench/beat.py [--pools 10 1000] [--seconds 600]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from service import ROOT, scratch_redis

sys.path.insert(0, ROOT)

from vmpooler.bootstrap import Services  # noqa: E402
from vmpooler.lifecycle.vms.check import PassResult, record_pass  # noqa: E402
from vmpooler.lifecycle.wake import CHECK, send_due_checks, started  # noqa: E402
from vmpooler.settings import build_settings  # noqa: E402
from vmpooler.tasks.schedule import HEARTBEAT_SECONDS, TICK_SECONDS, build_beat_schedule  # noqa: E402

DELAY_MIN, DELAY_MAX = 5, 60


class CountingDispatcher:
    def __init__(self):
        self.checks: list[str] = []

    def check(self, pool: str) -> None:
        self.checks.append(pool)


def commands_processed(client) -> int:
    return int(client.info("stats")["total_commands_processed"])


def measure(redis_url: str, pools: int, seconds: int) -> dict:
    raw = {"config": {"check_loop_delay_min": DELAY_MIN, "check_loop_delay_max": DELAY_MAX},
           "redis": {"url": redis_url}, "providers": {"dummy": {}},
           "pools": [{"name": f"idle{n}", "size": 0, "provider": "dummy"} for n in range(pools)]}
    settings = build_settings(raw, env={})
    services = Services(settings)
    services.redis.flushdb()
    dispatcher = CountingDispatcher()
    ctx = services.context(dispatcher)
    idle = PassResult()

    def run_checks(now: float) -> None:
        # What each sent check does to its pacing (outside the tick's own cost).
        for pool in dispatcher.checks:
            started(ctx, CHECK, pool)
            record_pass(ctx, ctx.pool(pool), idle, now=now)
        dispatcher.checks.clear()

    start = time.time()
    # Warm up until every pool has backed off to its idle pace.
    for tick in range(4 * DELAY_MAX):
        send_due_checks(ctx, start + tick)
        run_checks(start + tick)
    sent = 0
    commands = 0
    tick_seconds = 0.0
    base = start + 4 * DELAY_MAX
    for tick in range(seconds):
        now = base + tick
        before = commands_processed(services.redis)
        began = time.perf_counter()
        send_due_checks(ctx, now)
        tick_seconds += time.perf_counter() - began
        commands += commands_processed(services.redis) - before - 1  # the INFO itself counts once
        sent += len(dispatcher.checks)
        run_checks(now)
    schedule = build_beat_schedule(settings)
    beat_messages = sum(1.0 / entry["schedule"] for entry in schedule.values())
    services.close()
    return {
        "pools": pools,
        "simulated_seconds": seconds,
        "beat_messages_per_s": round(beat_messages, 3),
        "check_messages_per_s": round(sent / seconds, 3),
        "messages_per_s": round(beat_messages + sent / seconds, 3),
        "tick_redis_commands_per_s": round(commands / seconds * TICK_SECONDS, 3),
        "tick_ms": round(tick_seconds / seconds * 1000, 3),
        "one_entry_per_pool_messages_per_s": round(pools / DELAY_MIN + 1 / HEARTBEAT_SECONDS + 1 / DELAY_MIN, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--seconds", type=int, default=600, help="simulated seconds measured")
    args = parser.parse_args()
    os.environ.pop("VMPOOLER_CONFIG", None)
    with scratch_redis() as url:
        print(json.dumps([measure(url, pools, args.seconds) for pools in args.pools], indent=2))


if __name__ == "__main__":
    main()
