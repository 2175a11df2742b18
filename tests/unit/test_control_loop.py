"""The control loop under load, at the lifecycle level: prompt destroys, coalesced
wake-ups, fair clone slots and the beat tick (deterministic: a recording dispatcher
stands in for Celery, and the test runs each recorded task itself)."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.domain.outcomes import Return
from vmpooler.domain.states import State
from vmpooler.lifecycle.vms.check import PassResult, check_pool, record_pass
from vmpooler.lifecycle.vms.checkout import NotEnoughVms, checkout
from vmpooler.lifecycle.vms.clone import clone_vm
from vmpooler.lifecycle.vms.completed import destroy_vm, forward_destroy_requests, give_back
from vmpooler.lifecycle.vms.pending import check_pending_vm
from vmpooler.lifecycle.vms.ready import check_ready_vm
from vmpooler.lifecycle.vms.repopulate import remove_excess, repopulate
from vmpooler.lifecycle.vms.running import check_running_vm
from vmpooler.lifecycle.wake import CHECK, REPOPULATE, send_due_checks, started

POOL = {"name": "p", "size": 3, "provider": "dummy", "template": "t/p", "timeout": 10}


@pytest.fixture
def make_ctx(redis_url, redis_client, dispatcher):
    services = []

    def make(pools=None, config=None, providers=None):
        service = Services(make_settings(redis_url, pools=pools or [POOL], config=config, providers=providers))
        services.append(service)
        return service.context(dispatcher)

    yield make
    for service in services:
        service.close()


def fill(ctx, dispatcher, pool="p"):
    check_pool(ctx, pool)
    for name, vm in dispatcher.of("clone"):
        clone_vm(ctx, name, vm)
    dispatcher.sent.clear()


def destroys(dispatcher) -> list[str]:
    return [vm for _, vm in dispatcher.of("destroy")]


# ---- prompt destroys


def test_a_returned_vm_has_its_destroy_queued_once_and_the_check_adds_none(make_ctx, dispatcher, redis_client):
    ctx = make_ctx()
    fill(ctx, dispatcher)
    vm = ctx.store.checkout("p")
    assert give_back(ctx, vm, None, []).outcome is Return.RETURNED
    assert give_back(ctx, vm, None, []).outcome is Return.NOT_RUNNING  # a second DELETE changes nothing
    # The return left a destroy request; a worker's forwarder sends the task.
    assert destroys(dispatcher) == []
    assert forward_destroy_requests(ctx, wait=0) == 1
    assert forward_destroy_requests(ctx, wait=0) == 0
    assert destroys(dispatcher) == [vm]
    check_pool(ctx, "p")  # the safety net sees the destroy already queued
    assert destroys(dispatcher) == [vm]
    assert destroy_vm(ctx, "p", vm)
    assert vm not in ctx.providers["dummy"].vms_in_pool(ctx.pool("p"))
    assert not redis_client.smembers("vmpooler__completed__p")


def test_an_expired_lifetime_queues_the_destroy_at_once(make_ctx, dispatcher):
    ctx = make_ctx(config={"vm_lifetime": 1})
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        vm = ctx.store.checkout("p")
    with freeze_time("2021-11-15 11:00:30"):
        checked_out = ctx.store.active_times("p")[vm]
        assert check_running_vm(ctx, ctx.pool("p"), vm, checked_out, None)
    assert destroys(dispatcher) == [vm]
    assert destroy_vm(ctx, "p", vm)


def test_an_unreachable_ready_vm_hands_its_lease_to_its_destroy(make_ctx, dispatcher, redis_client):
    ctx = make_ctx(config={"vm_checktime": 0})
    fill(ctx, dispatcher)
    vm = sorted(redis_client.smembers("vmpooler__ready__p"))[0]
    ctx.providers["dummy"].state.update("p", vm, lambda record: record.update(ready=False, dummy_state="CLONING"))
    ctx.providers["dummy"].options["is_ready_timeout"] = 0
    assert check_ready_vm(ctx, ctx.pool("p"), vm, {"ready": None, "check": None}) == "removed"
    assert destroys(dispatcher) == [vm]
    assert redis_client.get(f"vmpooler__lock__vm__{vm}") == "queued"
    assert destroy_vm(ctx, "p", vm)


def test_a_pending_vm_that_times_out_is_destroyed_at_once(make_ctx, dispatcher):
    ctx = make_ctx(providers={"dummy": {"seed": 1, "vmready_fail_percent": 100}})
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
    vm = sorted(ctx.store.snapshot("p")[State.PENDING])[0]
    with freeze_time("2021-11-15 10:10:30"):
        assert check_pending_vm(ctx, ctx.pool("p"), vm) == "failed"
    assert destroys(dispatcher) == [vm]
    assert destroy_vm(ctx, "p", vm)


def test_excess_vms_are_destroyed_at_once(make_ctx, dispatcher, redis_client):
    ctx = make_ctx()
    fill(ctx, dispatcher)
    redis_client.hset("vmpooler__config__poolsize", "p", "1")
    assert remove_excess(ctx, ctx.pool("p")) == 2
    assert sorted(destroys(dispatcher)) == sorted(redis_client.smembers("vmpooler__completed__p"))


# ---- coalesced wake-ups


def test_many_checkouts_queue_one_repopulate_and_no_migration(make_ctx, dispatcher):
    ctx = make_ctx(pools=[{**POOL, "size": 30}], config={"task_limit": 30})
    fill(ctx, dispatcher)
    taken = [checkout(ctx, [("p", 1)])[0].vm for _ in range(25)]
    assert dispatcher.of("repopulate") == [("p",)]
    assert dispatcher.of("migrate") == []  # no migration_limit: nothing to evaluate
    started(ctx, REPOPULATE, "p")  # the queued task runs: the next wake-up queues a new one
    for vm in taken[:5]:
        give_back(ctx, vm, None, [])
        checkout(ctx, [("p", 1)])
    assert dispatcher.of("repopulate") == [("p",), ("p",)]


def test_a_refused_multi_checkout_still_queues_the_wake_up_its_checkout_raised(make_ctx, dispatcher):
    pools = [{**POOL, "name": "full"}, {**POOL, "name": "empty"}]
    ctx = make_ctx(pools=pools)
    fill(ctx, dispatcher, "full")
    started(ctx, REPOPULATE, "full")
    with pytest.raises(NotEnoughVms):
        checkout(ctx, [("full", 1), ("empty", 1)])
    # "full" handed a VM out (then took it back): its raised flag is a queued repopulate.
    assert sorted(dispatcher.of("repopulate")) == [("empty",), ("full",)]
    with pytest.raises(NotEnoughVms):
        checkout(ctx, [("full", 1), ("empty", 1)])
    assert len(dispatcher.of("repopulate")) == 2  # both still queued: coalesced


def test_migration_is_queued_once_per_pool_when_configured(make_ctx, dispatcher):
    ctx = make_ctx(config={"migration_limit": 2})
    fill(ctx, dispatcher)
    for _ in range(3):
        checkout(ctx, [("p", 1)])
    assert dispatcher.of("migrate") == [("p",)]


def test_a_503_wakes_the_pools_behind_the_name(make_ctx, dispatcher):
    pools = [{**POOL, "name": "a", "alias": ["both"]}, {**POOL, "name": "b", "alias": ["both"]}]
    ctx = make_ctx(pools=pools)
    with pytest.raises(NotEnoughVms):
        checkout(ctx, [("both", 1)])
    assert sorted(dispatcher.of("repopulate")) == [("a",), ("b",)]
    with pytest.raises(NotEnoughVms):
        checkout(ctx, [("both", 1)])
    assert len(dispatcher.of("repopulate")) == 2  # still queued: coalesced


# ---- fair clone slots


def test_clone_slots_alternate_between_a_hot_pool_and_a_starving_one(make_ctx, dispatcher, redis_client):
    pools = [{**POOL, "name": "hot", "size": 6}, {**POOL, "name": "cold", "size": 3}]
    ctx = make_ctx(pools=pools, config={"task_limit": 2})
    assert repopulate(ctx, ctx.pool("hot")) == 2  # the hot pool takes every slot first
    assert repopulate(ctx, ctx.pool("cold")) == 0
    winners = []
    while dispatcher.of("clone"):
        name, vm = dispatcher.of("clone")[0]
        dispatcher.sent.remove(("clone", (name, vm)))
        clone_vm(ctx, name, vm)  # frees a slot and wakes the pools owed one
        woken = {args[0] for args in dispatcher.of("repopulate")}
        dispatcher.sent[:] = [sent for sent in dispatcher.sent if sent[0] != "repopulate"]
        for pool in woken:
            started(ctx, REPOPULATE, pool)
        # The hot pool always asks first, as a stream of checkouts would make it.
        for pool in ("hot", "cold"):
            if repopulate(ctx, ctx.pool(pool)):
                winners.append(pool)
        assert redis_client.zcard("vmpooler__tasks__clone__slots") <= 2
    # Both wait for slots (the hot one first in line): they take turns, so the cold
    # pool is full after six slots although the hot one always asked before it.
    assert winners[:6] == ["hot", "cold", "hot", "cold", "hot", "cold"]
    assert redis_client.scard("vmpooler__ready__cold") == 3
    assert redis_client.scard("vmpooler__ready__hot") == 6


def test_a_pool_that_needs_nothing_leaves_the_line(make_ctx, dispatcher, redis_client):
    ctx = make_ctx(pools=[{**POOL, "name": "a"}, {**POOL, "name": "b"}], config={"task_limit": 3})
    repopulate(ctx, ctx.pool("a"))
    assert repopulate(ctx, ctx.pool("b")) == 0
    assert redis_client.zrange("vmpooler__tasks__clone__waiting", 0, -1) == ["b"]
    redis_client.hset("vmpooler__config__poolsize", "b", "0")
    repopulate(ctx, ctx.pool("b"))
    assert redis_client.zrange("vmpooler__tasks__clone__waiting", 0, -1) == []


# ---- the beat tick


def test_the_tick_sends_only_due_checks_that_are_not_queued(make_ctx, dispatcher):
    pools = [{**POOL, "name": f"p{n}"} for n in range(3)]
    ctx = make_ctx(pools=pools, config={"check_loop_delay_min": 5, "check_loop_delay_max": 60})
    assert sorted(send_due_checks(ctx, 1000.0)) == ["p0", "p1", "p2"]  # never checked: all due
    assert send_due_checks(ctx, 1001.0) == []  # still queued
    for name in ("p0", "p1", "p2"):
        started(ctx, CHECK, name)
    record_pass(ctx, ctx.pool("p0"), PassResult(cloned=1), now=1001.0)  # busy: due again in 5 s
    record_pass(ctx, ctx.pool("p1"), PassResult(cloned=1), now=1001.0)
    assert send_due_checks(ctx, 1002.0) == ["p2"]
    assert sorted(send_due_checks(ctx, 1006.0)) == ["p0", "p1"]
    assert [args for args in dispatcher.of("check")] == [("p0",), ("p1",), ("p2",), ("p2",), ("p0",), ("p1",)]


def test_on_demand_wake_ups_coalesce(make_ctx, dispatcher):
    from vmpooler.lifecycle.ondemand.requests import create_request
    from vmpooler.lifecycle.wake import ONDEMAND, ONDEMAND_QUEUES
    ctx = make_ctx()
    for n in range(5):
        assert create_request(ctx, [("p", 1)], f"r{n}")
    assert dispatcher.of("ondemand") == [()]
    started(ctx, ONDEMAND, ONDEMAND_QUEUES)
    assert create_request(ctx, [("p", 1)], "r5")
    assert dispatcher.of("ondemand") == [(), ()]


def test_a_dns_lookup_that_gets_no_answer_gives_up_quickly(monkeypatch):
    # A resolver that drops the query (its retry takes 5 s) must not hold the pool's lease that long.
    import socket
    import threading
    import time

    from vmpooler.lifecycle import context

    released = threading.Event()
    monkeypatch.setattr(socket, "gethostbyname", lambda name: released.wait(30) and "10.0.0.1")
    began = time.monotonic()
    with pytest.raises(OSError):
        context._resolve("silent.example")
    assert time.monotonic() - began < 5 * context.DNS_TIMEOUT_SECONDS
    released.set()
