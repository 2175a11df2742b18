"""A pool check costs a constant number of Redis round trips, whatever its VM count."""

from __future__ import annotations

import redis

from tests.helpers import RecordingDispatcher, make_settings
from vmpooler.bootstrap import Services
from vmpooler.domain.states import EXCLUSIVE_STATES
from vmpooler.lifecycle.vms.check import check_pool
from vmpooler.lifecycle.vms.clone import clone_vm

POOLS = [
    {"name": "small", "size": 2, "provider": "dummy", "template": "t/small"},
    {"name": "large", "size": 24, "provider": "dummy", "template": "t/large"},
]
CHECKED_OUT = {"small": 1, "large": 9}


class RoundTrips:
    """Counts what a client sends: one command, or one whole pipeline, is one round trip."""

    def __init__(self, url: str):
        self.sent = 0
        self.client = redis.Redis.from_url(url, decode_responses=True)
        pool = self.client.connection_pool
        counter = self

        class Counting(pool.connection_class):
            def send_packed_command(self, command, check_health=True):
                counter.sent += 1
                return super().send_packed_command(command, check_health)

        pool.connection_class = Counting

    def during(self, work) -> int:
        before = self.sent
        work()
        return self.sent - before


def settle(ctx, dispatcher, pool: str) -> None:
    """Checks and the clones they start, as a worker would run them, until the pool is full."""
    for _ in range(4):
        check_pool(ctx, pool)
        for name, vm in dispatcher.of("clone"):
            clone_vm(ctx, name, vm)
        dispatcher.sent.clear()


def test_a_pool_check_costs_the_same_round_trips_for_3_or_33_vms(redis_url, redis_client):
    counter = RoundTrips(redis_url)
    services = Services(make_settings(redis_url, pools=POOLS, config={"task_limit": 40}))
    services.__dict__["redis"] = counter.client  # every Redis call of the store and providers is counted
    dispatcher = RecordingDispatcher()
    ctx = services.context(dispatcher)
    for pool, taken in CHECKED_OUT.items():
        settle(ctx, dispatcher, pool)
        for _ in range(taken):
            assert ctx.store.checkout(pool)
        settle(ctx, dispatcher, pool)
    sizes = {pool: sum(len(ctx.store.snapshot(pool)[state]) for state in EXCLUSIVE_STATES) for pool in CHECKED_OUT}
    assert sizes == {"small": 3, "large": 33}

    costs = {pool: counter.during(lambda pool=pool: check_pool(ctx, pool)) for pool in CHECKED_OUT}

    assert costs["small"] > 0
    assert costs["large"] == costs["small"], costs
    # The pool, with its size, template and clone-target overrides, is one pipelined read.
    assert counter.during(lambda: ctx.pool("large")) == 1
    services.close()
