"""Provider failures are handled where they happen; every other error reaches Celery."""

from __future__ import annotations

import logging

import pytest

from tests.harness.pools import pool_config
from tests.harness.service import running_pooler
from tests.harness.waiting import wait_for
from tests.helpers import RecordingMetrics, make_settings
from vmpooler.domain.states import State
from vmpooler.lifecycle.vms import vm_ops
from vmpooler.lifecycle.vms.check import check_pool
from vmpooler.lifecycle.vms.completed import destroy_vm
from vmpooler.providers.base import ProviderError
from vmpooler.providers.dummy import DummyProvider
from vmpooler.tasks.dispatch import CeleryDispatcher


class Bug(Exception):
    """Not a provider error: a defect or an outage of our own."""


def fail_with(error: BaseException):
    def failing(self, *args, **kwargs):
        raise error
    return failing


def completed_vm(ctx, name="done-vm"):
    provider = ctx.providers["dummy"]
    provider.create_vm(pool_config(provider, "pool1"), name)
    ctx.store.add_discovered("pool1", [name])
    ctx.store.move("pool1", name, State.DISCOVERED, State.COMPLETED)
    return name


def test_destroy_keeps_the_vm_completed_on_a_provider_error(ctx, monkeypatch):
    vm = completed_vm(ctx)
    monkeypatch.setattr(DummyProvider, "destroy_vm", fail_with(ProviderError("vCenter refused")))
    assert destroy_vm(ctx, "pool1", vm) is False
    assert ctx.store.contains("pool1", State.COMPLETED, vm)


def test_destroy_raises_any_other_error_and_frees_the_vm(ctx, monkeypatch):
    vm = completed_vm(ctx)
    monkeypatch.setattr(DummyProvider, "destroy_vm", fail_with(Bug("a defect")))
    with pytest.raises(Bug):
        destroy_vm(ctx, "pool1", vm)
    assert ctx.store.contains("pool1", State.COMPLETED, vm)
    monkeypatch.undo()
    assert destroy_vm(ctx, "pool1", vm)  # its lease was released on the way out


def test_an_inventory_error_of_the_provider_ends_the_pass_quietly(ctx, monkeypatch, caplog):
    monkeypatch.setattr(DummyProvider, "vms_in_pool", fail_with(ProviderError("vCenter away")))
    caplog.set_level(logging.WARNING, logger="vmpooler")
    assert check_pool(ctx, "pool1").cloned == 0
    assert "create_inventory: vCenter away" in caplog.text


def test_a_defect_in_a_pass_is_not_swallowed(ctx, monkeypatch):
    monkeypatch.setattr(DummyProvider, "vms_in_pool", fail_with(Bug("a defect")))
    with pytest.raises(Bug):
        check_pool(ctx, "pool1")


def test_disk_and_snapshot_report_provider_errors_and_raise_the_rest(ctx, monkeypatch, caplog):
    provider = ctx.providers["dummy"]
    provider.create_vm(pool_config(provider, "pool1"), "vm1")
    ctx.store.set_vm_fields("vm1", {"template": "pool1"})
    caplog.set_level(logging.ERROR, logger="vmpooler")
    monkeypatch.setattr(DummyProvider, "create_snapshot", fail_with(ProviderError("no space")))
    assert vm_ops.create_snapshot(ctx, "vm1", "s1") is False
    assert "snapshot create appears to have failed: no space" in caplog.text
    monkeypatch.setattr(DummyProvider, "create_disk", fail_with(Bug("a defect")))
    with pytest.raises(Bug):
        vm_ops.create_disk(ctx, "vm1", "8")
    assert "disk" not in ctx.store.vm("vm1")


@pytest.mark.integration
def test_a_failing_pool_check_is_a_failed_task_and_releases_the_pool(redis_url, redis_client, monkeypatch):
    monkeypatch.setattr(DummyProvider, "vms_in_pool", fail_with(Bug("a defect")))
    metrics = RecordingMetrics()
    settings = make_settings(redis_url)
    with running_pooler(settings, http=False, ticker=False, metrics=metrics) as pooler:
        CeleryDispatcher(pooler.app).check("pool1")
        wait_for(lambda: "tasks.failed.vmpooler.pool.check" in metrics.labels("increment"),
                 message="the check's failure reached Celery")
        lease = pooler.store.pool_lease("pool1", 5)
        assert lease.acquire()  # the failed check let go of the pool
        lease.release()
