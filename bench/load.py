"""Benchmark: the control loop under a CI fleet's load.

Starts ``vmpooler run`` with its own defaults on a scratch Redis: 3 pools of 20,
the dummy provider cloning and destroying in exactly 1 s, ``task_limit: 20``.
C clients (default 20) each check a VM out over HTTP, hold it 0.1-0.3 s and
return it, for S seconds (default 60); a 503 (pool empty) is retried after 50 ms.
A sampler reads Redis every 100 ms. Prints JSON:

* destroy lag p50/p95: from the DELETE's answer to the VM gone from the provider
  (goal p95 <= 3 s);
* peak ``completed`` VMs over all pools (goal <= 30), also after the first 10 s,
  when the pools' initial stock has been returned;
* peak length of each Celery queue (goal: ``pools`` <= 20);
* longest starvation: a pool with nothing ready and nothing being cloned (goal <= 2 s);
* seconds after the load until every pool is full again with nothing left to
  destroy (goal <= 10 s);
* HTTP answers by status; 5xx other than the empty pool's 503 (goal 0).

    python bench/load.py [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter

from service import Service, percentile, scratch_redis

POOLS = ["load0", "load1", "load2"]
SIZE = 20
WARM_UP_SECONDS = 10.0
"""The first seconds return the full pools' stock at once; the steady peak is counted after them."""


def config(args) -> dict:
    return {
        "config": {"task_limit": args.task_limit},
        "providers": {"dummy": {"seed": 1, "createvm_fixed_time": args.clone_time,
                                "destroyvm_fixed_time": args.clone_time}},
        "pools": [{"name": name, "size": SIZE, "provider": "dummy", "template": f"t/{name}"} for name in POOLS],
    }


class Load:
    def __init__(self, service: Service, clients: int, seconds: float):
        self.service = service
        self.clients = clients
        self.seconds = seconds
        self.statuses: Counter = Counter()
        self.returned: dict[str, tuple[str, float]] = {}  # vm -> (pool, DELETE answered at)
        self.gone: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            pool = rng.choice(POOLS)
            status, body = self.service.request("POST", f"/api/v1/vm/{pool}")
            with self.lock:
                self.statuses[status] += 1
            if status != 200:
                time.sleep(0.05)
                continue
            vm = body[pool]["hostname"]
            time.sleep(rng.uniform(0.1, 0.3))
            status, _ = self.service.request("DELETE", f"/api/v1/vm/{vm}")
            with self.lock:
                self.statuses[status] += 1
                if status == 200:
                    self.returned[vm] = (pool, time.monotonic())

    def run(self) -> dict:
        sampler = Sampler(self)
        sampler.start()
        threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        time.sleep(self.seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        load_ended = time.monotonic()
        converged = sampler.wait_converged(timeout=120)
        sampler.halt.set()
        sampler.join()
        lags = [self.gone[vm] - at for vm, (_, at) in self.returned.items() if vm in self.gone]
        other_5xx = sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)
        return {
            "clients": self.clients, "seconds": self.seconds, "pools": len(POOLS), "size": SIZE,
            "returned": len(self.returned), "destroyed": len(lags),
            "destroy_lag_s": {"p50": percentile(lags, 0.5), "p95": percentile(lags, 0.95),
                              "max": percentile(lags, 1.0), "goal_p95": 3.0},
            "peak_completed": sampler.peak_completed, "goal_peak_completed": 30,
            "peak_completed_after_warm_up": sampler.peak_completed_steady,
            "peak_queue_lengths": sampler.peak_queues, "goal_peak_pools_queue": 20,
            "longest_starvation_s": round(sampler.longest_starvation, 3), "goal_starvation_s": 2.0,
            "starvation_by_pool_s": {pool: round(s, 3) for pool, s in sampler.starvation.items()},
            "convergence_s": round(converged - load_ended, 3) if converged else None, "goal_convergence_s": 10.0,
            "http_statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "http_5xx_other_than_503": other_5xx, "goal_5xx": 0,
        }


class Sampler(threading.Thread):
    INTERVAL = 0.1

    def __init__(self, load: Load):
        super().__init__(daemon=True)
        self.load = load
        self.service = load.service
        self.halt = threading.Event()
        self.peak_completed = 0
        self.peak_completed_steady = 0
        self.started = time.monotonic()
        self.peak_queues: dict[str, int] = {}
        self.starvation = {pool: 0.0 for pool in POOLS}
        self.longest_starvation = 0.0
        self._starving_since: dict[str, float] = {}
        self.converged_at: float | None = None

    def run(self) -> None:
        while not self.halt.wait(self.INTERVAL):
            self.sample(time.monotonic())

    def sample(self, now: float) -> None:
        counts = self.service.counts(POOLS, ("ready", "pending", "completed"))
        inventory = self.service.inventory(POOLS)
        with self.load.lock:
            waiting = [vm for vm, (pool, _) in self.load.returned.items()
                       if vm not in self.load.gone and vm not in inventory[pool]]
            for vm in waiting:
                self.load.gone[vm] = now
        completed = sum(c["completed"] for c in counts.values())
        self.peak_completed = max(self.peak_completed, completed)
        if now - self.started > WARM_UP_SECONDS:
            self.peak_completed_steady = max(self.peak_completed_steady, completed)
        for queue, length in self.service.queue_lengths().items():
            self.peak_queues[queue] = max(self.peak_queues.get(queue, 0), length)
        for pool, c in counts.items():
            if c["ready"] == 0 and c["pending"] == 0:
                since = self._starving_since.setdefault(pool, now)
                self.starvation[pool] = max(self.starvation[pool], now - since)
                self.longest_starvation = max(self.longest_starvation, now - since)
            else:
                self._starving_since.pop(pool, None)
        if self.load.stop.is_set():
            full = all(c["ready"] == SIZE and c["pending"] == 0 and c["completed"] == 0 for c in counts.values())
            if full and self.converged_at is None:
                self.converged_at = now
            elif not full:
                self.converged_at = None

    def wait_converged(self, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.converged_at is not None:
                return self.converged_at
            time.sleep(self.INTERVAL)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clone-time", type=float, default=1.0, help="seconds per clone and per destroy")
    parser.add_argument("--task-limit", type=int, default=20)
    args = parser.parse_args()
    with scratch_redis() as url, Service(config(args), url) as service:
        # Start from full pools, as a fleet's day does.
        deadline = time.monotonic() + 120
        while any(c["ready"] < SIZE for c in service.counts(POOLS, ("ready",)).values()):
            if time.monotonic() > deadline:
                raise SystemExit("the pools did not fill")
            time.sleep(0.1)
        print(json.dumps(Load(service, args.clients, args.seconds).run(), indent=2))


if __name__ == "__main__":
    main()
