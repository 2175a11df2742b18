"""The on-demand worker side with frozen time and a recording dispatcher:
expansion, the clone limit, promotion to running, the TTL, retries, deletion."""

from __future__ import annotations

import random
import time

from freezegun import freeze_time

from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.lifecycle.ondemand.requests import choose_backends, create_request, delete_request, process
from vmpooler.lifecycle.pool_config.apply import drain
from vmpooler.lifecycle.vms.clone import clone_vm, reap_dead_clones
from vmpooler.lifecycle.vms.repopulate import remove_excess, repopulate
from vmpooler.lifecycle.wake import ONDEMAND, ONDEMAND_QUEUES, started
from vmpooler.store.ondemand import Entry
from vmpooler.tasks.schedule import TASK_QUEUES, build_beat_schedule

POOLS = [
    {"name": "deb", "size": 0, "provider": "dummy", "template": "t/deb", "alias": "linux", "clone_target": "c1"},
    {"name": "cent", "size": 0, "provider": "dummy", "template": "t/cent", "alias": ["linux"],
     "clone_target": "c2"},
]


def make_ctx(redis_url, dispatcher, config=None, providers=None):
    settings = make_settings(redis_url, pools=POOLS, config=config, providers=providers)
    return Services(settings).context(dispatcher)


def run_clones(ctx, dispatcher):
    clones = dispatcher.of("clone")
    dispatcher.sent.clear()
    for pool, vm in clones:
        clone_vm(ctx, pool, vm)
    return clones


def test_backends_follow_weights_and_string_aliases(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"backend_weight": {"c1": 1, "c2": 0}})
    assert choose_backends(ctx, "linux", 5) == {"deb": 5}
    assert choose_backends(ctx, "cent", 2) == {"cent": 2}
    ctx = make_ctx(redis_url, dispatcher)
    ctx.rng = random.Random(3)
    split = choose_backends(ctx, "linux", 40)
    assert set(split) == {"deb", "cent"} and sum(split.values()) == 40


def test_request_is_expanded_and_cloned_within_the_limit(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"ondemand_clone_limit": 2})
    with freeze_time("2021-11-15 10:00:00"):
        assert create_request(ctx, [("deb", 3)], "r1")
        assert not create_request(ctx, [("deb", 1)], "r1")
        assert dispatcher.of("ondemand") == [()]
        assert redis_client.hget("vmpooler__odrequest__r1", "requested") == "deb:deb:3"
        process(ctx)
    assert redis_client.zscore("vmpooler__provisioning__processing", "r1") == 1636970400
    assert redis_client.zcard("vmpooler__provisioning__request") == 0
    pending = redis_client.smembers("vmpooler__pending__deb")
    assert len(pending) == 2
    for vm in pending:
        assert redis_client.hmget(f"vmpooler__vm__{vm}", "request_id", "pool_alias") == ["r1", "deb"]
    # The third waits for a slot.
    assert redis_client.zrange("vmpooler__odcreate__task", 0, -1) == ["deb:deb:1:r1"]
    assert redis_client.get("vmpooler__tasks__ondemandclone") == "2"


def test_ready_vms_go_to_running_for_the_request_with_the_token_lifetime(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"vm_lifetime_auth": 3})
    create_request(ctx, [("linux", 1), ("cent", 1)], "r2", token="tok", user="alice")
    started(ctx, ONDEMAND, ONDEMAND_QUEUES)  # the queued on-demand task runs
    process(ctx)
    clones = run_clones(ctx, dispatcher)
    assert len(clones) == 2
    vms = {vm for _, vm in clones}
    assert not redis_client.smembers("vmpooler__ready__deb") | redis_client.smembers("vmpooler__ready__cent")
    running = redis_client.smembers("vmpooler__running__deb") | redis_client.smembers("vmpooler__running__cent")
    assert running == vms
    for pool, vm in clones:
        values = redis_client.hgetall(f"vmpooler__vm__{vm}")
        assert values["token:token"] == "tok" and values["token:user"] == "alice"
        assert values["lifetime"] == "3" and values["checkout"]
        assert redis_client.hexists(f"vmpooler__active__{pool}", vm)
    assert redis_client.hget("vmpooler__odrequest__r2", "status") == "ready"
    assert redis_client.ttl("vmpooler__odrequest__r2") > 29 * 24 * 3600
    assert redis_client.zcard("vmpooler__provisioning__processing") == 0
    # A slot freed by a finished clone wakes the queue.
    assert dispatcher.of("ondemand")


def test_request_older_than_its_ttl_fails_and_returns_its_vms(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"ondemand_request_ttl": 5, "ondemand_clone_limit": 1})
    with freeze_time("2021-11-15 10:00:00"):
        create_request(ctx, [("deb", 2)], "r3")
        process(ctx)
        run_clones(ctx, dispatcher)
        first = redis_client.smembers("vmpooler__r3__deb__deb")
        assert len(first) == 1
    with freeze_time("2021-11-15 10:04:59"):
        process(ctx)
        assert redis_client.hget("vmpooler__odrequest__r3", "status") is None
        dispatcher.sent.clear()
    with freeze_time("2021-11-15 10:05:01"):
        process(ctx)
    assert redis_client.hget("vmpooler__odrequest__r3", "status") == "failed"
    assert redis_client.smembers("vmpooler__completed__deb") >= first
    assert not redis_client.smembers("vmpooler__running__deb") & first
    assert redis_client.ttl("vmpooler__r3__deb__deb") > 0
    assert redis_client.ttl("vmpooler__odrequest__r3") > 0
    assert redis_client.zcard("vmpooler__odcreate__task") == 0
    # The VM still being cloned is not wanted any more: it is completed when ready.
    for _pool, vm in run_clones(ctx, dispatcher):
        assert redis_client.sismember("vmpooler__completed__deb", vm)


def test_failing_clones_are_retried_with_backoff_then_the_request_fails(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"max_vm_retries": 2},
                   providers={"dummy": {"seed": 1, "createvm_fail_percent": 100}})
    with freeze_time("2021-11-15 10:00:00") as clock:
        create_request(ctx, [("deb", 1)], "r4")
        process(ctx)
        assert len(run_clones(ctx, dispatcher)) == 1
        assert redis_client.hget("vmpooler__odrequest__r4", "retry_count") == "1"
        # Not due before its back-off of one second.
        process(ctx)
        assert dispatcher.of("clone") == []
        clock.tick(1.5)
        process(ctx)
        assert len(run_clones(ctx, dispatcher)) == 1
        assert redis_client.hget("vmpooler__odrequest__r4", "retry_count") == "2"
        clock.tick(1.5)
        process(ctx)
        assert dispatcher.of("clone") == []  # the second back-off is two seconds
        clock.tick(1)
        process(ctx)
        assert len(run_clones(ctx, dispatcher)) == 1
    request = redis_client.hgetall("vmpooler__odrequest__r4")
    assert request["status"] == "failed" and request["retry_count"] == "3"
    assert "failed 3 times" in request["failure_reason"] and "Dummy Failure" in request["failure_reason"]
    assert redis_client.zcard("vmpooler__odcreate__task") == 0
    assert redis_client.zcard("vmpooler__provisioning__processing") == 0
    assert redis_client.scard("vmpooler__pending__deb") == 0


def test_deleting_a_request_returns_its_vms(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    create_request(ctx, [("deb", 2)], "r5")
    process(ctx)
    run_clones(ctx, dispatcher)
    vms = redis_client.smembers("vmpooler__r5__deb__deb")
    assert len(vms) == 2
    assert delete_request(ctx, "r5") == "ok"
    assert redis_client.smembers("vmpooler__completed__deb") == vms
    assert not redis_client.exists("vmpooler__r5__deb__deb")
    assert redis_client.hget("vmpooler__odrequest__r5", "status") == "deleted"
    assert 14 * 24 * 3600 < redis_client.ttl("vmpooler__odrequest__r5") <= 15 * 24 * 3600
    assert delete_request(ctx, "r5") == "deleted"
    assert delete_request(ctx, "nope") == "missing"


def test_two_failures_at_once_queue_two_replacements(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"max_vm_retries": 5})
    with freeze_time("2021-11-15 10:00:00"):
        create_request(ctx, [("deb", 2)], "r6")
        process(ctx)
        entry = Entry("deb", "deb", 1)
        # 1.3.0 kept retries as one string member, so simultaneous failures collapsed into one.
        assert ctx.store.ondemand.requeue(entry, "r6", 5, time.time(), (1.0, 60.0)) == "retry"
        assert ctx.store.ondemand.requeue(entry, "r6", 5, time.time(), (1.0, 60.0)) == "retry"
    assert redis_client.zrange("vmpooler__odcreate__task", 0, -1, withscores=True) == [
        ("deb:deb:2:r6", 1636970402.0)]


def test_pool_size_drains_and_repopulation_leave_the_requests_vms_alone(redis_url, redis_client, dispatcher):
    settings = make_settings(redis_url, pools=[{**POOLS[0], "size": 1}])
    ctx = Services(settings).context(dispatcher)
    create_request(ctx, [("deb", 2)], "r7")
    process(ctx)
    ondemand = redis_client.smembers("vmpooler__pending__deb")
    assert len(ondemand) == 2
    for vm in ondemand:  # not being cloned right now: only the request id protects them
        redis_client.delete(f"vmpooler__lock__vm__{vm}")
    pool = ctx.pool("deb")
    assert repopulate(ctx, pool) == 1  # the pool's own VM is still missing
    own = redis_client.smembers("vmpooler__pending__deb") - ondemand
    redis_client.delete(*[f"vmpooler__lock__vm__{vm}" for vm in own])
    ctx = Services(make_settings(redis_url, pools=[{**POOLS[0], "size": 0}])).context(dispatcher)
    assert remove_excess(ctx, ctx.pool("deb")) == 1
    drain(ctx, ctx.pool("deb"))
    assert redis_client.smembers("vmpooler__pending__deb") == ondemand
    assert redis_client.smembers("vmpooler__completed__deb") == own


def test_beat_processes_the_ondemand_queues_every_minimum_delay(redis_url):
    schedule = build_beat_schedule(make_settings(redis_url, pools=POOLS, config={"check_loop_delay_min": 4}))
    entry = schedule["ondemand-process"]
    assert entry["task"] == "vmpooler.ondemand.process" and entry["schedule"] == 4.0
    assert entry["options"]["queue"] == TASK_QUEUES["vmpooler.ondemand.process"] == "pools"


def test_a_clone_lost_with_its_worker_is_replaced_for_the_request(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    create_request(ctx, [("deb", 1)], "r8")
    process(ctx)
    (vm,) = redis_client.smembers("vmpooler__pending__deb")
    redis_client.delete(f"vmpooler__lock__vm__{vm}")  # its worker died: the lease lapsed
    assert reap_dead_clones(ctx) == 1
    assert redis_client.smembers("vmpooler__completed__deb") == {vm}
    assert redis_client.hget("vmpooler__odrequest__r8", "retry_count") == "1"
    assert [member for member, _ in redis_client.zrange("vmpooler__odcreate__task", 0, -1, withscores=True)] == [
        "deb:deb:1:r8"]


def test_a_request_whose_hash_is_gone_leaves_the_queues_at_its_ttl(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    with freeze_time("2021-11-15 10:00:00"):
        create_request(ctx, [("deb", 1)], "r9")
        process(ctx)
        redis_client.delete("vmpooler__odrequest__r9")
    with freeze_time("2021-11-15 10:06:00"):
        process(ctx)
    assert redis_client.zcard("vmpooler__provisioning__processing") == 0
    assert not redis_client.exists("vmpooler__odrequest__r9")
