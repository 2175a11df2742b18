"""What the provider reports about pools and VMs, across datacenters and folders."""

from __future__ import annotations

import pytest

from tests.harness.pools import foreign_pool, pool_config
from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere


def test_vms_in_pool_lists_only_vms(make_provider, pool, admin):
    folder = f"DC0/vm/{pool['folder']}"
    admin.clone(folder, "first")
    admin.clone(folder, "second")
    admin.folder(f"{folder}/a-subfolder")
    provider = make_provider(pools=[pool])
    assert sorted(provider.vms_in_pool(pool_config(provider, pool["name"]))) == ["first", "second"]


def test_vms_in_pool_is_empty_for_a_missing_folder_or_pool(make_provider, pool):
    provider = make_provider(pools=[pool])
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == []
    assert provider.vms_in_pool(foreign_pool(pool_config(provider, pool))) == []


def test_get_vm_describes_a_running_vm(make_provider, pool, admin, vcsim):
    vm = admin.clone(f"DC0/vm/{pool['folder']}", "described", power_on=True)
    vcsim.set_vm("described", ip="10.20.30.40", hostname="described.example.com", tools="toolsOk")
    provider = make_provider(pools=[pool])
    found = provider.get_vm(pool_config(provider, pool["name"]), "described")
    assert found["name"] == "described"
    assert found["hostname"] == "described.example.com"
    assert found["ip"] == "10.20.30.40"
    assert found["template"] == "Templates/centos-7"
    assert found["poolname"] == pool["name"]
    assert found["powerstate"] == "poweredOn"
    assert found["host"] == admin.host_name_of(vm)
    assert found["boottime"] is not None
    assert provider.get_vm_host(pool_config(provider, pool["name"]), "described") == found["host"]


def test_get_vm_hides_the_ip_while_tools_are_not_running(make_provider, pool, admin, vcsim):
    admin.clone(f"DC0/vm/{pool['folder']}", "no-tools")
    vcsim.set_vm("no-tools", ip="10.20.30.41", tools="toolsNotRunning")
    provider = make_provider(pools=[pool])
    found = provider.get_vm(pool_config(provider, pool["name"]), "no-tools")
    assert found["ip"] is None
    assert found["powerstate"] == "poweredOff"
    assert found["hostname"] is None


def test_get_vm_ignores_link_local_addresses(make_provider, pool, admin, vcsim):
    admin.clone(f"DC0/vm/{pool['folder']}", "link-local")
    vcsim.set_vm("link-local", ip="169.254.10.1", tools="toolsOk")
    provider = make_provider(pools=[pool])
    assert provider.get_vm(pool_config(provider, pool["name"]), "link-local")["ip"] is None


def test_get_vm_of_missing_vm_or_pool_is_none(make_provider, pool, admin):
    admin.folder(f"DC0/vm/{pool['folder']}")
    provider = make_provider(pools=[pool])
    assert provider.get_vm(pool_config(provider, pool["name"]), "not-there") is None
    assert provider.get_vm(foreign_pool(pool_config(provider, pool)), "not-there") is None
    assert provider.vm_exists(pool_config(provider, pool["name"]), "not-there") is False


def test_vm_of_the_same_name_in_another_folder_is_not_the_pools(make_provider, pool, admin, unique):
    admin.clone(f"DC0/vm/elsewhere-{unique}", "twin")
    provider = make_provider(pools=[pool])
    assert provider.get_vm(pool_config(provider, pool["name"]), "twin") is None


def test_pool_datacenter_in_a_folder(make_provider, pool, admin):
    dc1_pool = dict(pool, datacenter="F0/DC1", template="Templates/ubuntu-20")
    admin.clone(f"F0/DC1/vm/{pool['folder']}", "in-dc1", source="F0/DC1/vm/F0/DC1_H0_VM0")
    provider = make_provider(pools=[dc1_pool], datacenter="DC0")
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["in-dc1"]
    assert provider.get_vm(pool_config(provider, pool["name"]), "in-dc1")["host"] == "DC1_H0"


def test_provider_datacenter_is_used_when_the_pool_has_none(make_provider, pool, admin):
    admin.clone(f"F0/DC1/vm/{pool['folder']}", "via-provider", source="F0/DC1/vm/F0/DC1_H0_VM0")
    provider = make_provider(pools=[dict(pool, datacenter=None)], datacenter="F0/DC1")
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["via-provider"]


def test_first_datacenter_is_the_default(make_provider, pool, admin):
    admin.clone(f"DC0/vm/{pool['folder']}", "in-dc0")
    provider = make_provider(pools=[dict(pool, datacenter=None)])
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["in-dc0"]


def test_unknown_datacenter_is_a_clear_error(make_provider, pool):
    provider = make_provider(pools=[dict(pool, datacenter="DC9")])
    with pytest.raises(ProviderError, match="Datacenter 'DC9' does not exist for the provider vsphere"):
        provider.vms_in_pool(pool_config(provider, pool["name"]))
    with pytest.raises(ProviderError, match="Datacenter 'DC9'"):
        provider.get_vm(pool_config(provider, pool["name"]), "x")


def test_datacenter_path_must_include_its_folder(make_provider, pool):
    provider = make_provider(pools=[dict(pool, datacenter="DC1")])
    with pytest.raises(ProviderError, match="Datacenter 'DC1' does not exist"):
        provider.vms_in_pool(pool_config(provider, pool["name"]))


def test_pool_without_folder_is_an_error(make_provider, pool):
    provider = make_provider(pools=[dict(pool, folder=None)])
    with pytest.raises(ProviderError, match=f"Pool {pool['name']} does not specify a folder"):
        provider.vms_in_pool(pool_config(provider, pool["name"]))


def test_instance_name_is_used_for_its_pools(make_provider, pool, admin):
    admin.clone(f"DC0/vm/{pool['folder']}", "named")
    provider = make_provider(pools=[pool], name="vsphere-pdx")
    assert provider.name == "vsphere-pdx"
    assert provider.provided_pools == [pool["name"]]
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["named"]


def test_vm_destroyed_between_lookup_and_read_is_missing(make_provider, pool, admin, monkeypatch):
    vm = admin.clone(f"DC0/vm/{pool['folder']}", "short-lived")
    admin.wait(vm.Destroy_Task())
    provider = make_provider(pools=[pool])
    # The lookup found the VM an instant before someone else destroyed it.
    monkeypatch.setattr(provider, "_find_vm", lambda inventory, pool_config, name: vm)
    assert provider.get_vm(pool_config(provider, pool["name"]), "short-lived") is None
