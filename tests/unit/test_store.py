"""The Redis layout of vmpooler 1.3.0 and atomic transitions."""

from __future__ import annotations

from freezegun import freeze_time

from tests.harness.pools import take_all_concurrently
from tests.harness.waiting import wait_for
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import parse_time


def test_register_clone_writes_the_original_layout(services, redis_client):
    store = services.store
    assert store.register_clone("pool1", "vm1", {"clone": "2021-11-15 10:00:00 -0800", "template": "pool1",
                                                  "pool": "pool1"}, limit=2, lock_ttl=60) == "ok"
    assert redis_client.smembers("vmpooler__pending__pool1") == {"vm1"}
    assert redis_client.hgetall("vmpooler__vm__vm1") == {"clone": "2021-11-15 10:00:00 -0800",
                                                         "template": "pool1", "pool": "pool1"}
    assert redis_client.get("vmpooler__tasks__clone") == "1"
    # A name whose hash exists is taken; a full slot set refuses.
    assert store.register_clone("pool1", "vm1", {"clone": "x"}, limit=2, lock_ttl=60) == "taken"
    assert store.register_clone("pool1", "vm2", {"clone": "x"}, limit=2, lock_ttl=60) == "ok"
    assert store.register_clone("pool1", "vm3", {"clone": "x"}, limit=2, lock_ttl=60) == "full"
    assert not redis_client.exists("vmpooler__vm__vm3")
    store.release_slot("vm1")
    assert redis_client.get("vmpooler__tasks__clone") == "1"


def test_move_is_conditional_and_keeps_one_state(services, redis_client):
    store = services.store
    redis_client.sadd("vmpooler__pending__p", "vm")
    assert store.move("p", "vm", State.PENDING, State.READY, fields={"ready": "now"})
    assert not store.move("p", "vm", State.PENDING, State.COMPLETED)
    assert redis_client.smembers("vmpooler__ready__p") == {"vm"}
    assert not redis_client.exists("vmpooler__completed__p")
    assert redis_client.hget("vmpooler__vm__vm", "ready") == "now"


def test_mark_ready_records_boot_time_and_lastboot(services, redis_client):
    redis_client.sadd("vmpooler__pending__p", "vm")
    with freeze_time("2021-11-15 18:00:00"):
        assert services.store.mark_ready("p", "vm", 12.3456, "2021-11-15")
    assert redis_client.hget("vmpooler__boot__2021-11-15", "p:vm") == "12.35"
    assert parse_time(redis_client.hget("vmpooler__lastboot", "p")).year == 2021
    assert parse_time(redis_client.hget("vmpooler__vm__vm", "ready")) is not None


def test_checkout_hands_out_the_oldest_ready_vm(services, redis_client):
    store = services.store
    for vm in ["c-newest", "a-oldest", "b-middle"]:
        redis_client.sadd("vmpooler__pending__p", vm)
    for vm in ["a-oldest", "b-middle", "c-newest"]:
        store.mark_ready("p", vm, None, "2021-11-15")
    # A VM another vmpooler put in ready (no order recorded yet) comes once the order is used up.
    redis_client.sadd("vmpooler__ready__p", "z-legacy")
    assert [store.checkout("p") for _ in range(5)] == ["a-oldest", "b-middle", "c-newest", "z-legacy", None]
    assert redis_client.smembers("vmpooler__migrating__p") == {"z-legacy", "a-oldest", "b-middle", "c-newest"}
    assert redis_client.hexists("vmpooler__active__p", "a-oldest")
    assert redis_client.hget("vmpooler__vm__a-oldest", "checkout")


def test_concurrent_checkouts_never_share_a_vm(services, redis_client):
    store = services.store
    vms = [f"vm{i:03}" for i in range(200)]
    redis_client.sadd("vmpooler__ready__p", *vms)
    assert sorted(take_all_concurrently(store, "p")) == vms
    assert redis_client.scard("vmpooler__running__p") == 200


def test_return_to_ready_leaves_nothing_behind(services, redis_client):
    store = services.store
    redis_client.sadd("vmpooler__ready__p", "vm")
    store.checkout("p", {"token:token": "t", "token:user": "u", "lifetime": "4"})
    assert store.return_to_ready("p", "vm")
    assert redis_client.smembers("vmpooler__ready__p") == {"vm"}
    assert not redis_client.exists("vmpooler__migrating__p")
    assert not redis_client.hexists("vmpooler__active__p", "vm")
    assert redis_client.hgetall("vmpooler__vm__vm") == {}


def test_destroy_expires_the_vm_hash(services, redis_client):
    store = services.store
    redis_client.sadd("vmpooler__completed__p", "vm")
    redis_client.hset("vmpooler__active__p", "vm", "x")
    redis_client.hset("vmpooler__vm__vm", "template", "p")
    store.start_destroy("p", "vm")
    assert 0 < redis_client.ttl("vmpooler__vm__vm") <= 168 * 3600
    assert redis_client.hget("vmpooler__vm__vm", "destroy")
    assert not redis_client.hexists("vmpooler__active__p", "vm")
    assert store.finish_destroy("p", "vm")
    assert not redis_client.exists("vmpooler__completed__p")


def test_leases_are_exclusive_and_can_take_over_queued_work(services, redis_client):
    store = services.store
    assert store.queue_vm_work("vm", 60)
    assert not store.queue_vm_work("vm", 60)
    first = store.vm_lease("vm", 10)
    second = store.vm_lease("vm", 10)
    assert first.take_over()
    assert not second.take_over()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    assert not redis_client.exists("vmpooler__lock__vm__vm")


def test_heartbeat_keeps_a_lease_alive(services, redis_client):
    lease = services.store.vm_lease("vm", 0.3, heartbeat=True)
    assert lease.acquire()
    ttls = [redis_client.pttl("vmpooler__lock__vm__vm")]

    def renewed_past_the_first_expiry() -> bool:
        ttls.append(redis_client.pttl("vmpooler__lock__vm__vm"))
        renewals = sum(1 for before, after in zip(ttls, ttls[1:]) if after > before)
        return renewals >= 4  # renewed every third of the TTL: four renewals outlive the first TTL

    try:
        wait_for(renewed_past_the_first_expiry, timeout=10, interval=0.02, message="heartbeat renewals")
        assert min(ttls) > 0  # the lease never lapsed (-2 would mean the key was gone)
    finally:
        lease.release()
