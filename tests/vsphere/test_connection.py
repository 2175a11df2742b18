"""Connecting to vCenter: retries, TLS verification, dead sessions."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness.pools import pool_config
from tests.harness.vcsim import PASSWORD, USERNAME
from tests.harness.waiting import wait_for
from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere


def test_connects_and_counts_the_connection(make_provider, pool):
    provider = make_provider(pools=[pool])
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == []
    assert provider.metrics.labels("increment") == ["connect.open"]


def test_wrong_password_tries_max_tries_times_with_growing_sleeps(make_provider, pool):
    provider = make_provider(pools=[pool], config={"max_tries": 3, "retry_factor": 7}, password="wrong")
    with pytest.raises(ProviderError, match=r"cannot connect to vSphere server 127\.0\.0\.1:\d+ after 3 attempts"):
        provider.vms_in_pool(pool_config(provider, pool["name"]))
    assert provider.metrics.labels("increment") == ["connect.fail"] * 3
    assert provider.test_sleep.calls == [7, 14]


def test_single_try_does_not_sleep(make_provider, pool):
    provider = make_provider(pools=[pool], config={"max_tries": 1}, password="wrong")
    with pytest.raises(ProviderError):
        provider.get_vm(pool_config(provider, pool["name"]), "anything")
    assert provider.metrics.labels("increment") == ["connect.fail"]
    assert provider.test_sleep.calls == []


def test_certificate_is_verified_unless_insecure(make_provider, pool):
    provider = make_provider(pools=[pool], config={"max_tries": 1}, insecure=False)
    with pytest.raises(ProviderError, match="CERTIFICATE_VERIFY_FAILED"):
        provider.vms_in_pool(pool_config(provider, pool["name"]))


def test_unreachable_server_fails_and_frees_the_pool_slot(make_provider, pool):
    provider = make_provider(pools=[pool], config={"max_tries": 2, "retry_factor": 1}, port=1)
    with pytest.raises(ProviderError):
        provider.vms_in_pool(pool_config(provider, pool["name"]))
    assert provider.test_sleep.calls == [1]
    assert provider.connections.available == provider.connections.size


def test_logged_out_session_is_replaced(make_provider, pool, admin):
    admin.clone(f"DC0/vm/{pool['folder']}", "keeper")
    provider = make_provider(pools=[pool], connection_pool_size=1)
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["keeper"]
    with provider.connections.connection() as session:
        session.content.sessionManager.Logout()
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["keeper"]
    assert provider.metrics.labels("increment") == ["connect.open", "connect.open"]


def test_session_terminated_by_vcenter_is_replaced(make_provider, pool, admin):
    provider = make_provider(pools=[pool], connection_pool_size=1)
    assert provider.get_vm(pool_config(provider, pool["name"]), "nothing-here") is None
    with provider.connections.connection() as session:
        key = session.content.sessionManager.currentSession.key
    admin.content.sessionManager.TerminateSession([key])
    assert provider.get_vm(pool_config(provider, pool["name"]), "nothing-here") is None
    assert provider.metrics.labels("increment") == ["connect.open", "connect.open"]


def test_live_session_is_reused(make_provider, pool):
    provider = make_provider(pools=[pool], connection_pool_size=1)
    for _ in range(3):
        provider.vms_in_pool(pool_config(provider, pool["name"]))
    assert provider.metrics.labels("increment") == ["connect.open"]


def test_close_logs_sessions_out(make_provider, pool, admin):
    provider = make_provider(pools=[pool], connection_pool_size=1)
    provider.vms_in_pool(pool_config(provider, pool["name"]))
    with provider.connections.connection() as session:
        key = session.content.sessionManager.currentSession.key
    provider.close()
    listed = {s.key for s in admin.read(admin.content.sessionManager, "sessionList")["sessionList"]}
    assert key not in listed


def test_parallel_clones_share_the_pooled_sessions(make_provider, pool, monkeypatch, vim):
    original = vim.VirtualMachine.__dict__["CloneVM_Task"]

    def slow_clone(self, **kwargs):
        time.sleep(0.1)
        return original.__get__(self, type(self))(**kwargs)

    monkeypatch.setattr(vim.VirtualMachine, "CloneVM_Task", slow_clone)
    provider = make_provider(pools=[pool], config={"create_folders": True}, connection_pool_size=2)
    names = [f"parallel-{index}" for index in range(4)]
    with ThreadPoolExecutor(max_workers=4) as executor:
        created = list(executor.map(lambda name: provider.create_vm(pool_config(provider, pool["name"]), name)["name"], names))
    assert created == names
    assert sorted(provider.vms_in_pool(pool_config(provider, pool["name"]))) == names
    assert provider.metrics.labels("increment") == ["connect.open", "connect.open"]


def test_session_expired_while_idle_is_replaced(make_provider, extra_vcsim):
    forgetful = extra_vcsim("-session-idle", "200ms")
    pool = {"name": "idle-pool", "folder": "vmpooler/idle-pool", "datacenter": "DC0"}
    provider = make_provider(pools=[pool], port=forgetful.port, connection_pool_size=1)
    assert provider.vms_in_pool(pool_config(provider, "idle-pool")) == []
    from pyVim.connect import Disconnect, SmartConnect

    with provider.connections.connection() as session:
        key = session.content.sessionManager.currentSession.key
    observer = SmartConnect(host=forgetful.host, port=forgetful.port, user=USERNAME, pwd=PASSWORD,
                            disableSslCertValidation=True)
    try:
        # Polling keeps the observer's own session alive while the provider's one idles out.
        wait_for(lambda: key not in {s.key for s in observer.content.sessionManager.sessionList},
                 timeout=10, message="the simulator expired the idle session")
    finally:
        Disconnect(observer)
    assert provider.vms_in_pool(pool_config(provider, "idle-pool")) == []
    assert provider.metrics.labels("increment") == ["connect.open", "connect.open"]
