"""The provider registry and the re-entrant connection pool."""

from __future__ import annotations

import threading
import time

import pytest

from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.domain.capacity import worker_threads
from tests.helpers import RecordingMetrics
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
    west.create_vm("west", "w1")
    assert east.vms_in_pool("west") == []  # each instance is its own hypervisor
    with pytest.raises(Exception, match="Pool west does not exist for the provider dummy-east"):
        east.create_vm("west", "x")


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
