"""Cloning pool VMs: where they go and what the clone request asks vCenter for.

vcsim ignores parts of the clone spec (disk move type, host, annotation), so
those are asserted on the request sent, through ``clone_spy``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.harness.pools import foreign_pool, pool_config
from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere

LINKED, FULL = "moveChildMostDiskBacking", "moveAllDiskBackingsAndConsolidate"


def extra_config(spec) -> dict[str, str]:
    return {option.key: option.value for option in spec.config.extraConfig}


def test_clone_lands_in_a_new_nested_folder(make_provider, pool, admin, clone_spy):
    provider = make_provider(pools=[pool], config={"create_folders": True, "clone_target": "DC0_C0"})
    created = provider.create_vm(pool_config(provider, pool["name"]), "fresh-vm")
    assert created["name"] == "fresh-vm"
    assert created["poolname"] == pool["name"]
    assert created["template"] == "Templates/centos-7"
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["fresh-vm"]
    assert admin.find(f"DC0/vm/{pool['folder']}/fresh-vm") is not None
    [call] = clone_spy
    assert call["name"] == "fresh-vm"
    cluster_pool = admin.read(admin.find("DC0/host/DC0_C0"), "resourcePool")["resourcePool"]
    assert call["spec"].location.pool._moId == cluster_pool._moId
    assert call["spec"].location.datastore._moId == admin.find("DC0/datastore/LocalDS_0")._moId
    assert call["spec"].location.host is None
    assert call["spec"].powerOn is True and call["spec"].template is False


def test_missing_folder_is_an_error_without_create_folders(make_provider, pool, admin):
    provider = make_provider(pools=[pool], config={"clone_target": "DC0_C0"})
    with pytest.raises(ProviderError, match=f"Cannot find the configured folder for {pool['name']}"):
        provider.create_vm(pool_config(provider, pool["name"]), "homeless")
    assert admin.find(f"DC0/vm/{pool['folder']}") is None


def test_clone_records_hostname_annotation_and_memory_settings(make_provider, pool, admin, clone_spy):
    pool = dict(pool, snapshot_mainMem_ioBlockPages="2048", snapshot_mainMem_iowait=0)
    provider = make_provider(pools=[pool], config={"create_folders": True})
    before = datetime.now(timezone.utc).replace(microsecond=0)
    provider.create_vm(pool_config(provider, pool["name"]), "annotated")
    spec = clone_spy[0]["spec"]
    assert extra_config(spec) == {"guestinfo.hostname": "annotated", "mainMem.ioBlockPages": "2048",
                                  "mainMem.iowait": "0"}
    note = json.loads(spec.config.annotation)
    assert {k: note[k] for k in ("name", "created_by", "base_template")} == {
        "name": "annotated", "created_by": "vmpooler", "base_template": "Templates/centos-7"}
    stamp = datetime.strptime(note["creation_timestamp"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
    assert stamp >= before
    vm = admin.find(f"DC0/vm/{pool['folder']}/annotated")
    stored = {o.key: o.value for o in admin.read(vm, "config.extraConfig")["config.extraConfig"]}
    assert stored["guestinfo.hostname"] == "annotated"


@pytest.mark.parametrize("pool_choice, provider_choice, global_choice, expected", [
    (None, None, None, LINKED),
    (None, None, False, FULL),
    (None, False, True, FULL),
    (True, False, False, LINKED),
    (False, True, True, FULL),
])
def test_linked_clone_choice(make_provider, pool, clone_spy, pool_choice, provider_choice, global_choice, expected):
    config = {"create_folders": True}
    if global_choice is not None:
        config["create_linked_clones"] = global_choice
    options = {} if provider_choice is None else {"create_linked_clones": provider_choice}
    provider = make_provider(pools=[dict(pool, create_linked_clone=pool_choice)], config=config, **options)
    provider.create_vm(pool_config(provider, pool["name"]), "linked-or-not")
    assert clone_spy[0]["spec"].location.diskMoveType == expected


def test_network_replaces_the_first_nic_backing(make_provider, pool, admin, vim):
    provider = make_provider(pools=[dict(pool, network="VM Network")], config={"create_folders": True})
    provider.create_vm(pool_config(provider, pool["name"]), "on-vm-network")
    vm = admin.find(f"DC0/vm/{pool['folder']}/on-vm-network")
    devices = admin.read(vm, "config.hardware.device")["config.hardware.device"]
    [nic] = [d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    assert isinstance(nic.backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo)
    assert nic.backing.deviceName == "VM Network"


def test_distributed_port_group_gets_a_port_backing(make_provider, pool, admin, vim, clone_spy):
    provider = make_provider(pools=[dict(pool, network="DC0_DVPG0")], config={"create_folders": True})
    provider.create_vm(pool_config(provider, pool["name"]), "on-dvpg")
    [change] = clone_spy[0]["spec"].config.deviceChange
    assert change.operation == "edit"
    group = admin.read(admin.find("DC0/network/DC0_DVPG0"), "key")["key"]
    assert change.device.backing.port.portgroupKey == group
    assert change.device.backing.port.switchUuid


def test_missing_network_is_an_error(make_provider, pool):
    provider = make_provider(pools=[dict(pool, network="No Such Net")], config={"create_folders": True})
    with pytest.raises(ProviderError, match="Cannot find network No Such Net in datacenter DC0"):
        provider.create_vm(pool_config(provider, pool["name"]), "unplugged")


def test_clone_in_a_datacenter_inside_a_folder(make_provider, pool, admin, clone_spy):
    dc1_pool = dict(pool, datacenter="F0/DC1", template="Templates/ubuntu-20", clone_target="DC1_C1")
    provider = make_provider(pools=[dc1_pool], config={"create_folders": True})
    provider.create_vm(pool_config(provider, pool["name"]), "dc1-vm")
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == ["dc1-vm"]
    cluster = admin.find("F0/DC1/host/F0/DC1_C1")
    expected = admin.read(cluster, "resourcePool")["resourcePool"]
    assert clone_spy[0]["spec"].location.pool._moId == expected._moId


@pytest.mark.parametrize("template, message", [
    ("centos-7", "did not specify a full path for the template"),
    ("/Templates/centos-7", "did not specify a full path for the template"),
    ("Templates/missing", "specifies a template VM of Templates/missing which does not exist"),
])
def test_bad_template_is_an_error(make_provider, pool, template, message):
    provider = make_provider(pools=[dict(pool, template=template)], config={"create_folders": True})
    with pytest.raises(ProviderError, match=message):
        provider.create_vm(pool_config(provider, pool["name"]), "never")


def test_unknown_cluster_is_an_error(make_provider, pool):
    provider = make_provider(pools=[dict(pool, clone_target="NoCluster")], config={"create_folders": True})
    with pytest.raises(ProviderError, match=f"Cluster NoCluster cannot be found for pool {pool['name']}"):
        provider.create_vm(pool_config(provider, pool["name"]), "never")


def test_unknown_datastore_is_an_error(make_provider, pool):
    provider = make_provider(pools=[dict(pool, datastore="NoDS")], config={"create_folders": True})
    with pytest.raises(ProviderError, match="Datastore 'NoDS' does not exist in datacenter 'DC0'"):
        provider.create_vm(pool_config(provider, pool["name"]), "never")


def test_unconfigured_pool_is_an_error(make_provider, pool):
    provider = make_provider(pools=[pool])
    with pytest.raises(ProviderError, match="Pool other does not exist for the provider vsphere"):
        provider.create_vm(foreign_pool(pool_config(provider, pool), "other"), "never")


def test_without_clone_target_the_clone_stays_in_the_templates_cluster(make_provider, pool, admin, clone_spy):
    provider = make_provider(pools=[pool], config={"create_folders": True})
    provider.create_vm(pool_config(provider, pool["name"]), "near-template")
    template_cluster = admin.read(admin.find("DC0/host/DC0_C0"), "resourcePool")["resourcePool"]
    assert clone_spy[0]["spec"].location.pool._moId == template_cluster._moId
