"""Returned VMs are destroyed by the return itself, not by the pool check."""

from __future__ import annotations

import threading

from celery.signals import task_prerun

from tests.harness.service import running_pooler
from tests.helpers import make_settings, wait_for
from vmpooler.store import keys

POOLS = [{"name": "busy", "size": 50, "provider": "dummy", "template": "t/busy"}]


def test_fifty_returned_vms_are_destroyed_without_a_pool_check(pooler_factory, http):
    checks = []

    def count_checks(sender=None, **_):
        if sender.name == "vmpooler.pool.check":
            checks.append(sender.name)

    task_prerun.connect(count_checks, weak=False)
    try:
        # No ticker: only the worker's start-up check runs; slot releases wake the rest of the fill.
        pooler = pooler_factory(pools=POOLS, ticker=False, config={"task_limit": 20},
                                providers={"dummy": {"seed": 3}})
        wait_for(lambda: pooler.count("ready", "busy") == 50, timeout=120, message="pool filled")
        checks_after_fill = len(checks)
        taken = [http.post(pooler.url("/api/v1/vm/busy")).json()["busy"]["hostname"] for _ in range(50)]
        assert len(set(taken)) == 50
        for vm in taken:
            assert http.delete(pooler.url(f"/api/v1/vm/{vm}")).json() == {"ok": True}
        wait_for(lambda: not set(taken) & pooler.dummy_vms("busy"), timeout=120,
                 message="every returned VM destroyed")
        assert not pooler.members("completed", "busy")
        # ... and the checkouts refilled the pool, still without a check.
        wait_for(lambda: pooler.count("ready", "busy") == 50, timeout=120, message="pool refilled")
        assert len(checks) == checks_after_fill
    finally:
        task_prerun.disconnect(count_checks)


def forwarders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vmpooler-destroy-requests" and t.is_alive()]


def test_the_destroy_request_forwarder_lives_and_stops_with_its_worker(redis_url, redis_client):
    settings = make_settings(redis_url, pools=POOLS)
    with running_pooler(settings, http=False, ticker=False) as pooler:
        assert len(forwarders()) == 1
        # A request pushed while the worker runs is sent at once (no return, no check needed).
        pooler.redis.rpush(keys.DESTROY_REQUESTS, "busy nosuchvm")
        wait_for(lambda: pooler.redis.llen(keys.DESTROY_REQUESTS) == 0, timeout=10,
                 message="request taken")
    assert forwarders() == []
