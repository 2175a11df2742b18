"""Benchmark: how fast do pools fill, and how fast is a checked-out VM replaced?

Starts ``vmpooler run`` with its own defaults (one worker, no concurrency flag of
ours) on a scratch Redis, P pools of size N, the dummy provider cloning in exactly
T seconds (``createvm_fixed_time``) and a fleet-wide ``task_limit`` L. Prints JSON:

* the fill time against the ideal ``ceil(P*N/L)*T`` and their ratio (target <= 1.15);
* the most clones in flight at once (inside the provider's clone call) and the
  worker process's peak resident memory;
* the time from a checkout over HTTP to the start of its replacement clone (target < 1 s).

    python bench/fill.py                                              # 4 x 10, 1 s clones, task_limit 10
    python bench/fill.py --pools 4 --size 50 --clone-time 30 --task-limit 200 --trials 0
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import threading
import time
from datetime import datetime

from service import Service, scratch_redis


def config(args) -> dict:
    return {
        "config": {"task_limit": args.task_limit, "ondemand_clone_limit": 10},
        "providers": {"dummy": {"seed": 1, "createvm_fixed_time": args.clone_time}},
        "pools": [{"name": f"bench{i}", "size": args.size, "provider": "dummy", "template": f"t/bench{i}"}
                  for i in range(args.pools)],
    }


class Watcher(threading.Thread):
    """Samples clones in flight and the worker's memory while the fill runs."""

    def __init__(self, service: Service, pools: list[str]):
        super().__init__(daemon=True)
        self.service, self.pools = service, pools
        self.peak_in_flight = 0
        self.peak_rss_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            inventory = self.service.inventory(self.pools)
            cloning = sum(record.get("dummy_state") == "CLONING"
                          for records in inventory.values() for record in records.values())
            self.peak_in_flight = max(self.peak_in_flight, cloning)
            self.peak_rss_mb = max(self.peak_rss_mb, self.service.worker_rss_mb() or 0.0)


def poll_until(condition, timeout: float, interval: float = 0.01) -> float:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(interval)
    return time.monotonic()


def run(args, redis_url: str) -> dict:
    names = [f"bench{i}" for i in range(args.pools)]
    with Service(config(args), redis_url) as service:
        def total(state: str) -> int:
            return sum(counts[state] for counts in service.counts(names, (state,)).values())

        watcher = Watcher(service, names)
        watcher.start()
        poll_until(lambda: total("ready") == args.pools * args.size, timeout=max(600, 20 * args.clone_time))
        filled = time.time()
        watcher.stop.set()
        watcher.join()
        # The worker may start cloning before the API answers: the fill is timed from the
        # first clone's start as the provider recorded it.
        starts = sorted(datetime.fromisoformat(record["boottime"]).timestamp()
                        for records in service.inventory(names).values() for record in records.values())
        started = starts[0]
        fill_seconds = filled - started
        ideal = math.ceil(args.pools * args.size / args.task_limit) * args.clone_time
        replacement = []
        for trial in range(args.trials):
            pool = names[trial % len(names)]
            poll_until(lambda pool=pool: service.counts([pool], ("ready",))[pool]["ready"] == args.size, timeout=60)
            before = service.counts([pool], ("pending",))[pool]["pending"]
            taken = time.monotonic()
            status, _ = service.request("POST", f"/api/v1/vm/{pool}")
            assert status == 200, status
            replaced = poll_until(lambda pool=pool, before=before: service.counts([pool], ("pending",))[pool]["pending"] > before,
                                  timeout=30, interval=0.005)
            replacement.append(replaced - taken)
        result = {
            "pools": args.pools, "size": args.size, "clone_time_s": args.clone_time, "task_limit": args.task_limit,
            "fill_time_s": round(fill_seconds, 3), "ideal_fill_time_s": ideal,
            "ratio": round(fill_seconds / ideal, 3), "ratio_target": 1.15,
            "peak_clones_in_flight": watcher.peak_in_flight,
            # First to last clone start: how long handing out the slots took.
            "clone_start_spread_s": round(starts[-1] - starts[0], 3),
            "worker_peak_rss_mb": watcher.peak_rss_mb,
        }
        if replacement:
            result["replacement_start_s"] = {"median": round(statistics.median(replacement), 3),
                                             "max": round(max(replacement), 3), "trials": len(replacement)}
            result["replacement_target_s"] = 1.0
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", type=int, default=4)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--clone-time", type=float, default=1.0, help="seconds each clone takes, exactly")
    parser.add_argument("--task-limit", type=int, default=10)
    parser.add_argument("--trials", type=int, default=5, help="checkouts timed for their replacement")
    args = parser.parse_args()
    with scratch_redis() as url:
        print(json.dumps(run(args, url), indent=2))


if __name__ == "__main__":
    main()
