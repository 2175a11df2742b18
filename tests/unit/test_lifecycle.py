"""Lifecycle transitions with frozen time: pending timeout, ready TTL, lifetime."""

from __future__ import annotations

from freezegun import freeze_time

from tests.harness.pools import pool_config
from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.lifecycle.vms.check import check_pool
from vmpooler.lifecycle.vms.clone import clone_vm, reap_dead_clones, start_clone

POOL = {"name": "p", "size": 2, "provider": "dummy", "template": "t/p", "timeout": 10, "ready_ttl": 30}


def make_ctx(redis_url, dispatcher, pools=None, config=None, providers=None):
    settings = make_settings(redis_url, pools=pools or [POOL], config=config, providers=providers)
    return Services(settings).context(dispatcher)


def fill(ctx, dispatcher):
    """Run a check, then every clone it enqueued (as a worker would)."""
    check_pool(ctx, "p")
    for pool, vm in dispatcher.of("clone"):
        clone_vm(ctx, pool, vm)
    dispatcher.sent.clear()


def test_check_fills_the_pool_and_clones_become_ready(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    check_pool(ctx, "p")
    pending = redis_client.smembers("vmpooler__pending__p")
    assert len(pending) == 2
    assert {vm for _, vm in dispatcher.of("clone")} == pending
    for pool, vm in dispatcher.of("clone"):
        assert clone_vm(ctx, pool, vm)
        assert not clone_vm(ctx, pool, vm)  # a second delivery does nothing
    assert redis_client.smembers("vmpooler__ready__p") == pending
    assert redis_client.get("vmpooler__tasks__clone") == "0"
    for vm in pending:
        assert redis_client.hget(f"vmpooler__vm__{vm}", "clone_time")
    assert len(redis_client.keys("vmpooler__clone__*")) == 1


def test_pending_vm_fails_after_timeout(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, providers={"dummy": {"seed": 1, "vmready_fail_percent": 100}})
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        assert redis_client.scard("vmpooler__pending__p") == 2
    with freeze_time("2021-11-15 10:09:00"):
        check_pool(ctx, "p")
        assert redis_client.scard("vmpooler__pending__p") == 2
    with freeze_time("2021-11-15 10:10:30"):
        check_pool(ctx, "p")
        assert redis_client.scard("vmpooler__completed__p") == 2
        # ... and the pool is refilled at once.
        assert redis_client.scard("vmpooler__pending__p") == 2


def test_ready_vm_expires_after_ready_ttl(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        ready = redis_client.smembers("vmpooler__ready__p")
        assert len(ready) == 2
    with freeze_time("2021-11-15 10:29:00"):
        check_pool(ctx, "p")
        assert redis_client.smembers("vmpooler__ready__p") == ready
        assert all(redis_client.hget(f"vmpooler__vm__{vm}", "check") for vm in ready)
    with freeze_time("2021-11-15 10:31:00"):
        check_pool(ctx, "p")
        assert redis_client.smembers("vmpooler__completed__p") == ready
        assert not redis_client.smembers("vmpooler__ready__p") & ready


def test_ready_check_respects_vm_checktime(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"vm_checktime": 5})
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        check_pool(ctx, "p")
        vm = sorted(redis_client.smembers("vmpooler__ready__p"))[0]
        checked = redis_client.hget(f"vmpooler__vm__{vm}", "check")
    with freeze_time("2021-11-15 10:04:00"):
        check_pool(ctx, "p")
        assert redis_client.hget(f"vmpooler__vm__{vm}", "check") == checked
    with freeze_time("2021-11-15 10:05:30"):
        check_pool(ctx, "p")
        assert redis_client.hget(f"vmpooler__vm__{vm}", "check") != checked


def test_mismatched_hostname_and_unreachable_ready_vms_leave(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, providers={"dummy": {"seed": 1, "getvm_rename_percent": 100}})
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        ready = redis_client.smembers("vmpooler__ready__p")
    with freeze_time("2021-11-15 10:00:30"):
        check_pool(ctx, "p")  # within the 60 s grace the hostname is not checked
        assert redis_client.smembers("vmpooler__ready__p") == ready
    with freeze_time("2021-11-15 10:02:00"):
        check_pool(ctx, "p")
        assert redis_client.smembers("vmpooler__completed__p") == ready


def test_running_vm_expires_after_its_lifetime(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, config={"vm_lifetime": 2})
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        short = ctx.store.checkout("p", {"lifetime": "1"})
        default = ctx.store.checkout("p")
    with freeze_time("2021-11-15 10:59:00"):
        check_pool(ctx, "p")
        assert redis_client.smembers("vmpooler__running__p") == {short, default}
    with freeze_time("2021-11-15 11:00:30"):
        check_pool(ctx, "p")
        assert redis_client.smembers("vmpooler__running__p") == {default}
    with freeze_time("2021-11-15 12:00:30"):
        check_pool(ctx, "p")
        assert not redis_client.smembers("vmpooler__running__p")
        assert {short, default} <= redis_client.smembers("vmpooler__completed__p") | {
            vm for _, vm in dispatcher.of("destroy")}


def test_zero_lifetime_never_expires(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    with freeze_time("2021-11-15 10:00:00"):
        fill(ctx, dispatcher)
        vm = ctx.store.checkout("p", {"lifetime": "0"})
    with freeze_time("2021-12-15 10:00:00"):
        check_pool(ctx, "p")
        assert vm in redis_client.smembers("vmpooler__running__p")


def test_completed_vms_are_destroyed_and_unknown_vms_discovered(redis_url, redis_client, dispatcher):
    from vmpooler.lifecycle.vms.completed import destroy_vm
    ctx = make_ctx(redis_url, dispatcher)
    fill(ctx, dispatcher)
    provider = ctx.providers["dummy"]
    provider.state.put("p", "stranger", {"name": "stranger", "poolname": "p", "powerstate": "PoweredOff"})
    vm = ctx.store.checkout("p")
    ctx.store.complete_running("p", vm)
    check_pool(ctx, "p")
    destroys = {v for _, v in dispatcher.of("destroy")}
    assert destroys == {vm, "stranger"}
    for pool, name in dispatcher.of("destroy"):
        assert destroy_vm(ctx, pool, name)
    held = provider.vms_in_pool(pool_config(provider, "p"))
    assert "stranger" not in held and vm not in held
    assert not redis_client.smembers("vmpooler__completed__p")
    assert not redis_client.smembers("vmpooler__discovered__p")


def test_shrinking_pool_moves_excess_to_completed_without_losing_vms(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher, pools=[{**POOL, "size": 4}])
    fill(ctx, dispatcher)
    assert redis_client.scard("vmpooler__ready__p") == 4
    redis_client.hset("vmpooler__config__poolsize", "p", "1")
    check_pool(ctx, "p")
    assert redis_client.scard("vmpooler__ready__p") == 1
    # Every VM the provider holds is in exactly one state set.
    held = set(ctx.providers["dummy"].vms_in_pool(ctx.pool("p")))
    states = [redis_client.smembers(f"vmpooler__{s}__p") for s in ("pending", "ready", "running", "completed")]
    assert sum(len(s) for s in states) == len(held) == 4
    assert set().union(*states) == held


def test_interrupted_clone_is_reaped(redis_url, redis_client, dispatcher):
    ctx = make_ctx(redis_url, dispatcher)
    pool = ctx.pool("p")
    vm = start_clone(ctx, pool)
    # The worker died before it ran (or while it ran): its lease lapses.
    redis_client.delete(f"vmpooler__lock__vm__{vm}")
    assert reap_dead_clones(ctx) == 1
    assert redis_client.get("vmpooler__tasks__clone") == "0"
    assert redis_client.smembers("vmpooler__completed__p") == {vm}
    assert not clone_vm(ctx, "p", vm)  # the late delivery changes nothing
