"""The dummy provider: inventory shared through Redis, knobs, seeded randomness."""

from __future__ import annotations

import random

import pytest

from tests.harness.pools import foreign_pool, pool_config
from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.providers.dummy import DummyFailure

POOLS = [{"name": "p", "size": 1, "provider": "dummy", "template": "t/p"}]


def provider(redis_url, sleeps=None, **options):
    settings = make_settings(redis_url, pools=POOLS, providers={"dummy": {"seed": 3, **options}})
    extras = {"dummy": {"sleep": (sleeps.append if sleeps is not None else (lambda s: None))}}
    return Services(settings, provider_extras=extras).provider("dummy")


def test_inventory_is_shared_between_instances(redis_url, redis_client):
    first, second = provider(redis_url), provider(redis_url)
    first.create_vm(pool_config(first, "p"), "vm1")
    assert second.vms_in_pool(pool_config(second, "p")) == ["vm1"]
    details = second.get_vm(pool_config(second, "p"), "vm1")
    assert details["hostname"] == "vm1" and details["template"] == "p" and details["powerstate"] == "PoweredOn"
    assert second.vm_ready(pool_config(second, "p"), "vm1")
    assert second.destroy_vm(pool_config(second, "p"), "vm1")
    assert first.vms_in_pool(pool_config(first, "p")) == []
    # Destroying a VM that is already gone succeeds (the original returned False).
    assert first.destroy_vm(pool_config(first, "p"), "vm1")


def test_unknown_pool_is_refused(redis_url, redis_client):
    with pytest.raises(Exception, match="Pool nope does not exist for the provider dummy"):
        dummy = provider(redis_url)
        dummy.create_vm(foreign_pool(pool_config(dummy, "p"), "nope"), "vm")


def test_clone_delay_is_one_to_n_whole_seconds(redis_url, redis_client):
    sleeps: list[float] = []
    dummy = provider(redis_url, sleeps, createvm_max_time=3)
    for index in range(30):
        dummy.create_vm(pool_config(dummy, "p"), f"vm{index}")
    assert set(sleeps) <= {1, 2, 3} and len(set(sleeps)) == 3


def test_fixed_times_replace_the_random_delays(redis_url, redis_client):
    sleeps: list[float] = []
    dummy = provider(redis_url, sleeps, createvm_max_time=3, createvm_fixed_time=1.5, destroyvm_fixed_time=0.25)
    for index in range(5):
        dummy.create_vm(pool_config(dummy, "p"), f"vm{index}")
    dummy.destroy_vm(pool_config(dummy, "p"), "vm0")
    assert sleeps == [1.5] * 5 + [0.25]


def test_failure_percentages_follow_the_seeded_source(redis_url, redis_client):
    def failures(seed):
        dummy = provider(redis_url, createvm_fail_percent=30)
        dummy.rng = random.Random(seed)
        outcome = []
        for index in range(200):
            try:
                dummy.create_vm(pool_config(dummy, "p"), f"s{seed}-{index}")
                outcome.append(False)
            except DummyFailure as exc:
                assert str(exc) == "Dummy Failure for createvm_fail_percent"
                outcome.append(True)
        return outcome

    first = failures(11)
    assert first == failures(11)
    assert 40 <= sum(first) <= 80
    # A failed clone leaves nothing behind.
    dummy = provider(redis_url)
    assert all(dummy.get_vm(pool_config(dummy, "p"), f"s11-{i}") is None for i, failed in enumerate(first) if failed)


def test_zero_never_fails_and_hundred_always_fails(redis_url, redis_client):
    reliable = provider(redis_url, vmready_fail_percent=0)
    assert reliable.create_vm(pool_config(reliable, "p"), "ok")
    dummy = provider(redis_url, vmready_fail_percent=100, destroyvm_fail_percent=100)
    with pytest.raises(DummyFailure, match="vmready_fail_percent"):
        dummy.vm_ready(pool_config(dummy, "p"), "ok")
    with pytest.raises(DummyFailure, match="destroyvm_fail_percent"):
        dummy.destroy_vm(pool_config(dummy, "p"), "ok")


def test_get_vm_can_rename_and_power_off(redis_url, redis_client):
    dummy = provider(redis_url, getvm_rename_percent=100, getvm_poweroff_percent=100)
    dummy.create_vm(pool_config(dummy, "p"), "vm")
    details = dummy.get_vm(pool_config(dummy, "p"), "vm")
    assert details["hostname"] == "DUMMYvm" and details["powerstate"] == "PoweredOff"


def test_disks_snapshots_and_migration(redis_url, redis_client):
    dummy = provider(redis_url, migratevm_couldmove_percent=100)
    dummy.create_vm(pool_config(dummy, "p"), "vm")
    assert dummy.create_disk(pool_config(dummy, "p"), "vm", 8)
    assert dummy.create_snapshot(pool_config(dummy, "p"), "vm", "snap")
    assert dummy.revert_snapshot(pool_config(dummy, "p"), "vm", "snap")
    assert not dummy.revert_snapshot(pool_config(dummy, "p"), "vm", "other")
    assert dummy.get_vm(pool_config(dummy, "p"), "vm")["snapshots"] == ["snap"]
    result = dummy.migrate_vm(pool_config(dummy, "p"), "vm")
    assert result.migrated and result.source_host == "HOST1" and result.host != "HOST1"
    assert dummy.get_vm_host(pool_config(dummy, "p"), "vm") == result.host
    with pytest.raises(Exception, match="does not exist"):
        dummy.create_disk(pool_config(dummy, "p"), "missing", 8)


def test_purge_removes_only_unconfigured_pools_off_the_allowlist(redis_url, redis_client):
    dummy = provider(redis_url)
    dummy.create_vm(pool_config(dummy, "p"), "keep-me")
    for folder, vm in (("old", "o1"), ("old", "o2"), ("kept", "k1")):
        dummy.state.put(folder, vm, {"name": vm, "poolname": folder})
    result = dummy.purge_unconfigured_resources(("kept",))
    assert sorted(result.vms) == [("old", "o1"), ("old", "o2")]
    assert result.folders == ("old",)
    assert dummy.vms_in_pool(pool_config(dummy, "p")) == ["keep-me"]
    assert dummy.state.names("kept") == ["k1"]
