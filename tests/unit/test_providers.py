"""The provider registry and the re-entrant connection pool."""

from __future__ import annotations

import threading
import time

import pytest

from tests.harness.pools import pool_config
from tests.helpers import RecordingMetrics, make_settings, wait_for
from vmpooler.bootstrap import Services
from vmpooler.domain.capacity import worker_threads
from vmpooler.providers import registry
from vmpooler.providers.connection_pool import ConnectionPool, PoolTimeout
from vmpooler.providers.dummy import DummyProvider
from vmpooler.settings import ConfigError


def test_builtins_and_entry_points_are_registered():
    known = registry.available()
    assert known["dummy"] == "vmpooler.providers.dummy:DummyProvider"
    assert known["vsphere"] == "vmpooler.providers.vsphere:VSphereProvider"
    assert registry.load_class("Dummy") is DummyProvider  # matched case-insensitively
    with pytest.raises(ConfigError, match="unknown provider class 'openstack'"):
        registry.load_class("openstack")


def test_several_named_instances_of_one_class(redis_url, redis_client):
    settings = make_settings(redis_url, providers={
        "dummy-east": {"provider_class": "dummy", "createvm_fail_percent": 0},
        "dummy-west": {"provider_class": "dummy", "connection_pool_size": 3},
    }, pools=[{"name": "east", "size": 1, "provider": "dummy-east"},
              {"name": "west", "size": 1, "provider": "dummy-west"}])
    services = Services(settings)
    east, west = services.provider("dummy-east"), services.provider("dummy-west")
    assert (east.name, west.name) == ("dummy-east", "dummy-west")
    assert east.provided_pools == ["east"] and west.provided_pools == ["west"]
    # Unset, the pool holds a connection for each task one worker runs at once.
    assert (east.connections.size, west.connections.size) == (worker_threads(10, 10), 3)
    west.create_vm(pool_config(west, "west"), "w1")
    assert east.vms_in_pool(pool_config(east, "west")) == []  # each instance is its own hypervisor
    with pytest.raises(Exception, match="Pool west does not exist for the provider dummy-east"):
        east.create_vm(pool_config(east, "west"), "x")


def test_nested_checkout_in_one_thread_reuses_the_connection():
    made = []
    pool = ConnectionPool(lambda: made.append(object()) or made[-1], size=1, timeout=1)
    with pool.connection() as outer:
        with pool.connection() as inner:
            assert inner is outer
    assert len(made) == 1


def test_checkout_waits_then_times_out():
    metrics = RecordingMetrics()
    pool = ConnectionPool(object, size=1, timeout=0.2, metrics=metrics, label="provider_connection_pool.t")
    holding, release = threading.Event(), threading.Event()

    def hold():
        with pool.connection():
            holding.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait()
    started = time.monotonic()
    with pytest.raises(PoolTimeout):
        with pool.connection():
            pass
    assert time.monotonic() - started >= 0.2
    release.set()
    thread.join()
    with pool.connection():
        assert pool.available == 0
    assert pool.available == 1
    assert "connection_waited.provider_connection_pool.t" in metrics.labels("timing")
    assert "connection_available.provider_connection_pool.t" in metrics.labels("gauge")


def test_a_slow_login_does_not_block_checking_out_an_idle_connection():
    gate = threading.Event()
    made = []

    def factory():
        if made:  # every login after the first hangs until the gate opens
            gate.wait(10)
        made.append(object())
        return made[-1]

    pool = ConnectionPool(factory, size=2, timeout=5)
    with pool.connection() as first:
        pass
    holder_has_it, let_go = threading.Event(), threading.Event()

    def hold_the_idle_one():
        with pool.connection():
            holder_has_it.set()
            let_go.wait(10)

    holder = threading.Thread(target=hold_the_idle_one)
    holder.start()
    holder_has_it.wait(5)
    slow = threading.Thread(target=lambda: pool.connection().__enter__())
    slow.start()
    wait_for(lambda: len(made) == 1 and pool.available == 0, timeout=5, message="second login under way")
    let_go.set()
    holder.join()
    got = []
    quick = threading.Thread(target=lambda: got.append(pool.connection().__enter__()))
    quick.start()
    quick.join(timeout=5)
    try:
        assert got == [first]  # served while the other login still hangs
        assert len(made) == 1
    finally:
        gate.set()
        slow.join()
    assert len(made) == 2


def test_concurrent_logins_never_exceed_the_pool_size():
    created, in_factory, most = [], [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(6)

    def factory():
        with lock:
            in_factory[0] += 1
            most[0] = max(most[0], in_factory[0])
        time.sleep(0.05)  # a login takes a moment, so the threads' logins overlap
        with lock:
            in_factory[0] -= 1
            created.append(object())
            return created[-1]

    pool = ConnectionPool(factory, size=2, timeout=10)
    used = []

    def work():
        start.wait()
        with pool.connection() as conn:
            used.append(conn)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(used) == 6 and len(created) <= 2 and most[0] <= 2
    assert set(map(id, used)) <= set(map(id, created))


def test_a_failed_login_gives_its_slot_back():
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("vCenter said no")
        return object()

    pool = ConnectionPool(factory, size=1, timeout=1)
    with pytest.raises(ConnectionError):
        with pool.connection():
            pass
    with pool.connection() as conn:
        assert conn is not None and pool.available == 0
    assert len(attempts) == 2 and pool.available == 1
