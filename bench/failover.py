"""Redis Sentinel failover under load, and what waiting for a replica costs a checkout.

Runs the failover scenario of the tests (real master, replica, three Sentinels, the
API, two workers, beat, three clients; the master is killed) once without and once
with ``redis: wait_replicas: 1``, and times the WAIT step itself on a quiet master.
Prints JSON.

    PYTHONPATH=. python3 bench/failover.py [--iterations 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from tests.redis_ha import scenario
from tests.redis_ha.servers import SentinelGroup
from vmpooler.bootstrap import Services
from vmpooler.settings import build_settings


def wait_step_cost(iterations: int) -> dict:
    """Milliseconds of one checkout-sized write, alone and followed by WAIT for one replica."""
    with SentinelGroup() as group:
        raw = scenario.config(group, 1, 1)
        services = Services(build_settings(raw, env={"VMPOOLER_DEBUG": "1"}))
        try:
            redis, store = services.redis, services.store
            results = {}
            for name, replicas in (("write_only", 0), ("write_and_wait_1_replica", 1)):
                samples = []
                for index in range(iterations):
                    started = time.perf_counter()
                    redis.hset("bench__vm", "checkout", index)
                    assert store.replicated(replicas, 500)
                    samples.append((time.perf_counter() - started) * 1000)
                samples.sort()
                results[name] = {"p50": round(statistics.median(samples), 3),
                                 "p95": round(samples[int(0.95 * (len(samples) - 1))], 3)}
            return results
        finally:
            services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    args = parser.parse_args()
    report = {"wait_step_ms": wait_step_cost(args.iterations)}
    for replicas in (0, 1):
        report[f"failover_wait_replicas_{replicas}"] = scenario.run(wait_replicas=replicas)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
