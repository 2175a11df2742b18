"""Migrating a checked-out VM to a less used host of its CPU generation.

Whether to evaluate a migration at all (``migration_limit``) and what to record
is the lifecycle's business; the provider only decides whether and where to move.
"""

from __future__ import annotations

import pytest

from tests.harness.pools import pool_config
from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere

H0, H1, H2 = "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"
V3 = "Intel(R) Xeon(R) CPU E5-2697 v3 @ 2.60GHz"
V4 = "Intel(R) Xeon(R) CPU E5-2697 v4 @ 2.30GHz"


@pytest.fixture
def vm_on(admin, pool):
    """``vm_on(host)``: a VM of the pool running on that host of DC0_C0."""
    def place(host: str, name: str = "checked-out"):
        vm = admin.clone(f"DC0/vm/{pool['folder']}", name, power_on=True, source="DC0/vm/DC0_C0_RP0_VM0")
        spec = admin.vim.vm.RelocateSpec(host=admin.host("DC0", "DC0_C0", host))
        admin.wait(vm.RelocateVM_Task(spec=spec))
        assert admin.host_name_of(vm) == host
        return vm
    return place


def test_vm_on_a_busy_host_moves_to_a_least_used_one(make_provider, pool, vcsim, admin, vm_on):
    vm = vm_on(H0)
    vcsim.set_host(H0, mem=3000)
    vcsim.set_host(H1, mem=2500)
    provider = make_provider(pools=[pool])
    result = provider.migrate_vm(pool_config(provider, pool["name"]), "checked-out")
    assert (result.host, result.migrated, result.source_host) == (H2, True, H0)
    assert result.seconds >= 0
    assert admin.host_name_of(vm) == H2
    assert provider.get_vm(pool_config(provider, pool["name"]), "checked-out")["host"] == H2
    assert result.message.startswith(f"'checked-out' migrated from {H0} to {H2} in ")


def test_vm_on_a_least_used_host_stays(make_provider, pool, vcsim, admin, vm_on):
    vm = vm_on(H1)
    vcsim.set_host(H0, mem=3000)
    provider = make_provider(pools=[pool])
    result = provider.migrate_vm(pool_config(provider, pool["name"]), "checked-out")
    assert (result.host, result.migrated) == (H1, False)
    assert result.message == f"No migration required for 'checked-out' running on {H1}"
    assert admin.host_name_of(vm) == H1


def test_vm_moves_only_within_its_cpu_generation(make_provider, pool, vcsim, admin, vm_on):
    vm = vm_on(H0)
    vcsim.set_host(H0, mem=3000, cpuModel=V4)
    vcsim.set_host(H1, mem=500, cpuModel=V3)
    vcsim.set_host(H2, mem=2000, cpuModel=V4)
    provider = make_provider(pools=[pool])
    result = provider.migrate_vm(pool_config(provider, pool["name"]), "checked-out")
    assert (result.host, result.migrated) == (H2, True)
    assert admin.host_name_of(vm) == H2


def test_no_compatible_host_leaves_the_vm(make_provider, pool, vcsim, admin, vm_on):
    vm = vm_on(H0)
    vcsim.set_host(H0, status="red", cpuModel=V4)
    vcsim.set_host(H1, cpuModel=V3)
    vcsim.set_host(H2, cpuModel=V3)
    provider = make_provider(pools=[pool])
    result = provider.migrate_vm(pool_config(provider, pool["name"]), "checked-out")
    assert (result.host, result.migrated) == (H0, False)
    assert "No compatible host" in result.message
    assert admin.host_name_of(vm) == H0


def test_migrating_a_missing_vm_is_an_error(make_provider, pool, admin):
    admin.folder(f"DC0/vm/{pool['folder']}")
    provider = make_provider(pools=[pool])
    with pytest.raises(ProviderError, match="no longer exists"):
        provider.migrate_vm(pool_config(provider, pool["name"]), "vanished")
