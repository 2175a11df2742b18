"""Checkout from the ready order, its reconciliation with 1.3.0's layout, and give-back."""

from __future__ import annotations

import random

import pytest

from tests.harness.pools import take_all_concurrently
from vmpooler.store import handout, keys


def legacy_ready(redis_client, pool: str, vms_and_times: dict[str, str | None]) -> None:
    """Ready VMs as vmpooler 1.3.0 writes them: the set and a ``ready`` time, no order."""
    for vm, ready in vms_and_times.items():
        redis_client.hset(keys.vm(vm), mapping={"template": pool, "pool": pool, **({"ready": ready} if ready else {})})
    redis_client.sadd(keys.state_set("ready", pool), *vms_and_times)


def take_all(store, pool: str) -> list[str]:
    taken = []
    while (vm := store.checkout(pool)) is not None:
        taken.append(vm)
    return taken


def test_a_redis_taken_over_from_1_3_0_hands_out_oldest_ready_first(services, redis_client):
    # Times in several zones and the ISO form another tool may write; one VM has no time at all.
    legacy_ready(redis_client, "p", {
        "vm-noon-utc": "2024-03-01 12:00:00 +0000",
        "vm-1030-utc": "2024-03-01 09:30:00 -0100",
        "vm-0900-utc": "2024-03-01 10:00:00 +0100",
        "vm-1100-utc": "2024-03-01T11:00:00Z",
        "vm-no-time": None,
    })
    assert take_all(services.store, "p") == ["vm-no-time", "vm-0900-utc", "vm-1030-utc", "vm-1100-utc",
                                             "vm-noon-utc"]
    assert redis_client.scard(keys.state_set("running", "p")) == 5
    assert not redis_client.exists(keys.ready_order("p"))


def test_reconcile_merges_legacy_vms_into_the_order_and_drops_stale_entries(services, redis_client):
    store = services.store
    redis_client.sadd(keys.state_set("pending", "p"), "ours-new")
    store.mark_ready("p", "ours-new", None, "2024-03-01")
    legacy_ready(redis_client, "p", {"legacy-old": "2001-01-01 00:00:00 +0000"})
    # An entry whose VM left ready without the order knowing (another tool SMOVEd it).
    redis_client.zadd(keys.ready_order("p"), {"gone": 1.0})
    assert store.reconcile_ready_order("p") == 1
    assert redis_client.zrange(keys.ready_order("p"), 0, -1) == ["legacy-old", "ours-new"]
    assert store.reconcile_ready_order("p") == 0
    assert store.ready_oldest_first("p") == ["legacy-old", "ours-new"]
    assert take_all(store, "p") == ["legacy-old", "ours-new"]


def test_checkout_skips_many_stale_order_entries(services, redis_client):
    stale = {f"stale{n:03}": n for n in range(handout.STALE_PER_CALL * 3)}
    redis_client.zadd(keys.ready_order("p"), stale)
    redis_client.zadd(keys.ready_order("p"), {"real": 10_000})
    redis_client.sadd(keys.state_set("ready", "p"), "real")
    assert services.store.checkout("p") == "real"
    assert services.store.checkout("p") is None
    assert not redis_client.exists(keys.ready_order("p"))


def test_checkout_records_fields_and_empties_nothing_else(services, redis_client):
    redis_client.sadd(keys.state_set("ready", "p"), "vm")
    redis_client.zadd(keys.ready_order("p"), {"vm": 1})
    assert services.store.checkout("p", {"token:token": "t", "token:user": "u"}) == "vm"
    fields = redis_client.hgetall(keys.vm("vm"))
    assert fields["token:token"] == "t" and fields["token:user"] == "u" and fields["checkout"]
    assert redis_client.hget(keys.active("p"), "vm") == fields["checkout"]
    assert redis_client.smembers(keys.state_set("migrating", "p")) == {"vm"}
    assert services.store.checkout("p") is None


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "legacy"])
def test_concurrent_checkouts_hand_each_vm_out_once(services, redis_client, ordered):
    vms = [f"vm{i:03}" for i in range(300)]
    if ordered:
        redis_client.sadd(keys.state_set("ready", "p"), *vms)
        redis_client.zadd(keys.ready_order("p"), {vm: random.random() for vm in vms})
    else:
        legacy_ready(redis_client, "p", {vm: "2024-03-01 10:00:00 +0000" for vm in vms})
    assert sorted(take_all_concurrently(services.store, "p")) == vms
    assert redis_client.scard(keys.state_set("running", "p")) == 300
    assert not redis_client.exists(keys.state_set("ready", "p"))


def running_vm(redis_client, vm: str, pool: str = "p", **fields) -> None:
    redis_client.hset(keys.vm(vm), mapping={"template": pool, **fields})
    redis_client.sadd(keys.state_set("running", pool), vm)
    redis_client.sadd(keys.state_set("migrating", pool), vm)


def test_give_back_moves_a_running_vm_to_completed(services, redis_client):
    running_vm(redis_client, "vm")
    result = services.store.give_back("vm")
    assert (result.outcome == "returned", result.pool) == (True, "p")
    assert redis_client.smembers(keys.state_set("completed", "p")) == {"vm"}
    assert not redis_client.exists(keys.state_set("running", "p"), keys.state_set("migrating", "p"))
    assert services.store.give_back("vm").outcome == "not_running"
    assert services.store.give_back("nosuchvm").outcome == "unknown"


def test_give_back_claims_the_returned_vm_for_its_destroy_in_the_same_call(services, redis_client):
    running_vm(redis_client, "vm")
    running_vm(redis_client, "busy")
    redis_client.set(keys.vm_lock("busy"), "held-by-a-task")
    result = services.store.give_back("vm", queue_ttl=30)
    assert (result.outcome, result.queued) == ("returned", True)
    assert redis_client.get(keys.vm_lock("vm")) == "queued"
    assert 0 < redis_client.pttl(keys.vm_lock("vm")) <= 30_000
    # A VM a task already works on is returned, but not queued a second time.
    busy = services.store.give_back("busy", queue_ttl=30)
    assert (busy.outcome, busy.queued) == ("returned", False)
    assert redis_client.get(keys.vm_lock("busy")) == "held-by-a-task"
    # Refused returns claim nothing.
    assert services.store.give_back("vm", queue_ttl=30).queued is False
    # Only the claimed return asked a worker for its destroy, in the same call.
    assert redis_client.lrange(keys.DESTROY_REQUESTS, 0, -1) == ["p vm"]


def test_destroy_requests_are_taken_oldest_first_and_once(services, redis_client):
    for vm in ("first", "second"):
        running_vm(redis_client, vm)
        services.store.give_back(vm, queue_ttl=30)
    assert services.store.handout.destroy_requests() == 2
    assert services.store.handout.take_destroy_request(0) == ("p", "first")
    assert services.store.handout.take_destroy_request(0.05) == ("p", "second")
    assert services.store.handout.take_destroy_request(0) is None
    assert services.store.handout.take_destroy_request(0.05) is None  # waited, nothing came
    assert services.store.handout.destroy_requests() == 0
    # Entries another writer left that name no pool and VM are dropped, not forwarded.
    redis_client.rpush(keys.DESTROY_REQUESTS, "nospace", "p vm*", "p third")
    assert services.store.handout.take_destroy_request(0) == ("p", "third")
    assert services.store.handout.destroy_requests() == 0


def test_give_back_of_a_token_bound_vm_needs_a_valid_token(services, redis_client):
    running_vm(redis_client, "vm", **{"token:token": "alicetoken", "token:user": "alice"})
    redis_client.hset(keys.token("bobtoken"), mapping={"user": "bob"})
    store = services.store
    assert store.give_back("vm").outcome == "needs_token"
    assert store.give_back("vm", "forged").outcome == "bad_token"
    assert not redis_client.exists(keys.token("forged"))
    assert store.give_back("vm", "bobtoken", admins=[]).outcome == "not_owner"
    assert redis_client.smembers(keys.state_set("running", "p")) == {"vm"}
    # Without ownership rules any valid token returns it, as in 1.3.0; the use is recorded.
    result = store.give_back("vm", "bobtoken")
    assert (result.outcome, result.owner) == ("returned", "alice")
    assert redis_client.hget(keys.token("bobtoken"), "last")


def test_give_back_lets_the_owner_and_admins_return(services, redis_client):
    for vm in ("vm1", "vm2"):
        running_vm(redis_client, vm, **{"token:token": "t1", "token:user": "alice"})
    redis_client.hset(keys.token("alice2"), mapping={"user": "alice"})
    redis_client.hset(keys.token("root"), mapping={"user": "root"})
    assert services.store.give_back("vm1", "alice2", admins=["root"]).outcome == "returned"
    assert services.store.give_back("vm2", "root", admins=["root"]).outcome == "returned"
