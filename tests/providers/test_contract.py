"""The provider contract: one set of behaviours every built-in provider shows.

Each test runs against the dummy provider and against the vSphere provider on the
vCenter simulator. A new provider joins by adding a ``Subject`` factory below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from tests.harness.pools import foreign_pool, pool_config
from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.providers.base import MigrationResult, Provider, ProviderError
from vmpooler.settings import PoolConfig


@dataclass
class Subject:
    """A provider under test and a pool it serves."""

    provider: Provider
    pool: PoolConfig
    other_pool: Callable[[str], PoolConfig]
    """Another pool of this provider that its settings do not list (named as given)."""

    def fails(self, call: Callable[[], Any]) -> bool:
        """True when ``call`` reports failure: False/None, or one of the provider's errors."""
        try:
            return not call()
        except self.provider.errors:
            return True


def dummy_subject(request) -> Subject:
    redis_url = request.getfixturevalue("redis_url")
    request.getfixturevalue("redis_client")  # a flushed database
    settings = make_settings(redis_url, pools=[{"name": "contract", "size": 1, "provider": "dummy",
                                                "template": "t/contract"}])
    services = Services(settings, provider_extras={"dummy": {"sleep": lambda seconds: None}})
    request.addfinalizer(services.close)
    provider = services.provider("dummy")
    return Subject(provider, pool_config(provider, "contract"),
                   lambda name: dataclasses.replace(pool_config(provider, "contract"), name=name))


def vsphere_subject(request) -> Subject:
    make_provider = request.getfixturevalue("make_provider")
    unique = request.getfixturevalue("unique")
    listener = request.getfixturevalue("tcp_listener")
    pool = {"name": f"contract-{unique}", "template": "Templates/centos-7", "folder": f"vmpooler/contract-{unique}",
            "datastore": "LocalDS_0", "datacenter": "DC0"}
    # vcsim guests have no network: every name resolves to a local port that answers.
    provider = make_provider(pools=[pool], config={"create_folders": True}, resolver=lambda name: "127.0.0.1",
                             ready_check_port=listener.port)
    base = pool_config(provider, pool)
    return Subject(provider, base,
                   lambda name: dataclasses.replace(base, name=name, folder=f"vmpooler/{name}-{unique}"))


SUBJECTS = {"dummy": dummy_subject, "vsphere": vsphere_subject}


@pytest.fixture(params=[pytest.param("dummy"), pytest.param("vsphere", marks=pytest.mark.vsphere)])
def subject(request) -> Subject:
    return SUBJECTS[request.param](request)


def test_an_empty_pool_has_no_vms(subject):
    assert subject.provider.vms_in_pool(subject.pool) == []


def test_a_created_vm_is_listed_described_and_ready(subject):
    provider, pool = subject.provider, subject.pool
    created = provider.create_vm(pool, "contract-vm")
    assert created["name"] == "contract-vm"
    assert provider.vms_in_pool(pool) == ["contract-vm"]
    described = provider.get_vm(pool, "contract-vm")
    assert described["name"] == "contract-vm" and described["poolname"] == pool.name
    assert described["powerstate"].lower() in ("poweredon", "poweredoff")
    assert provider.vm_exists(pool, "contract-vm")
    assert provider.vm_ready(pool, "contract-vm") is True


def test_a_missing_vm_is_none_and_not_ready(subject):
    provider, pool = subject.provider, subject.pool
    assert provider.get_vm(pool, "never-made") is None
    assert provider.vm_exists(pool, "never-made") is False
    assert provider.vm_ready(pool, "never-made") is False


def test_destroy_removes_the_vm_and_is_safe_to_repeat(subject):
    provider, pool = subject.provider, subject.pool
    provider.create_vm(pool, "doomed")
    assert provider.destroy_vm(pool, "doomed") is True
    assert provider.vms_in_pool(pool) == []
    assert provider.get_vm(pool, "doomed") is None
    assert provider.destroy_vm(pool, "doomed") is True


def test_disks_and_snapshots(subject):
    provider, pool = subject.provider, subject.pool
    provider.create_vm(pool, "worked-on")
    assert provider.create_disk(pool, "worked-on", 4) is True
    assert provider.create_snapshot(pool, "worked-on", "clean") is True
    assert provider.revert_snapshot(pool, "worked-on", "clean") is True
    assert subject.fails(lambda: provider.revert_snapshot(pool, "worked-on", "never-taken"))
    assert subject.fails(lambda: provider.create_disk(pool, "no-such-vm", 4))
    assert subject.fails(lambda: provider.create_snapshot(pool, "no-such-vm", "s"))


def test_migration_reports_where_the_vm_runs(subject):
    provider, pool = subject.provider, subject.pool
    provider.create_vm(pool, "checked-out")
    result = provider.migrate_vm(pool, "checked-out")
    assert isinstance(result, MigrationResult)
    assert result.host == provider.get_vm_host(pool, "checked-out")


def test_the_provider_works_from_the_pool_it_is_handed(subject):
    """Nothing is looked up by name: a pool its settings do not list is served as given."""
    provider = subject.provider
    unlisted = subject.other_pool("unlisted")
    assert provider.settings.pool(unlisted.name) is None
    provider.create_vm(unlisted, "handed")
    assert provider.vms_in_pool(unlisted) == ["handed"]
    assert provider.vms_in_pool(subject.pool) == []
    assert provider.destroy_vm(unlisted, "handed") is True


def test_a_pool_of_another_provider_is_refused(subject):
    provider, stranger = subject.provider, foreign_pool(subject.pool)
    with pytest.raises(ProviderError, match=f"Pool {stranger.name} does not exist for the provider {provider.name}"):
        provider.create_vm(stranger, "anything")
    assert provider.vms_in_pool(stranger) == []
    assert ProviderError in provider.errors
