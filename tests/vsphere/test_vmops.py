"""Disks, snapshots, destroy and template delta disks."""

from __future__ import annotations

import pytest

from tests.harness.pools import pool_config
from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere


@pytest.fixture
def pool_vm(admin, pool):
    return admin.clone(f"DC0/vm/{pool['folder']}", "worker", power_on=True)


def disks_of(admin, vm) -> list:
    devices = admin.read(vm, "config.hardware.device")["config.hardware.device"]
    return [d for d in devices if isinstance(d, admin.vim.vm.device.VirtualDisk)]


def test_create_disk_attaches_a_new_disk_file(make_provider, pool, admin, pool_vm):
    before = disks_of(admin, pool_vm)
    provider = make_provider(pools=[pool])
    assert provider.create_disk(pool_config(provider, pool["name"]), "worker", 5) is True
    after = disks_of(admin, pool_vm)
    [added] = [d for d in after if d.key not in {b.key for b in before}]
    assert added.capacityInKB == 5 * 1024 * 1024
    assert added.backing.fileName == f"[LocalDS_0] worker/worker_{len(before)}.vmdk"
    assert added.unitNumber not in {d.unitNumber for d in before} | {7}
    assert provider.create_disk(pool_config(provider, pool["name"]), "worker", 1) is True
    assert len(disks_of(admin, pool_vm)) == len(before) + 2


def test_create_disk_of_no_size_does_nothing(make_provider, pool, admin, pool_vm):
    before = len(disks_of(admin, pool_vm))
    provider = make_provider(pools=[pool])
    assert provider.create_disk(pool_config(provider, pool["name"]), "worker", 0) is False
    assert len(disks_of(admin, pool_vm)) == before


def test_create_disk_on_a_missing_vm_is_an_error(make_provider, pool, pool_vm):
    provider = make_provider(pools=[pool])
    with pytest.raises(ProviderError, match=f"VM ghost in pool {pool['name']} does not exist"):
        provider.create_disk(pool_config(provider, pool["name"]), "ghost", 5)


def test_create_disk_needs_the_datastore(make_provider, pool, pool_vm):
    provider = make_provider(pools=[dict(pool, datastore="NoDS")])
    with pytest.raises(ProviderError, match="Datastore 'NoDS' does not exist in datacenter 'DC0'"):
        provider.create_disk(pool_config(provider, pool["name"]), "worker", 5)


def snapshot_names(admin, vm) -> list[str]:
    info = admin.read(vm, "snapshot").get("snapshot")
    names, stack = [], list(info.rootSnapshotList) if info else []
    while stack:
        node = stack.pop()
        names.append(node.name)
        stack.extend(node.childSnapshotList or [])
    return sorted(names)


def test_snapshots_are_created_once_and_reverted(make_provider, pool, admin, pool_vm):
    provider = make_provider(pools=[pool])
    assert provider.create_snapshot(pool_config(provider, pool["name"]), "worker", "clean") is True
    assert provider.create_snapshot(pool_config(provider, pool["name"]), "worker", "dirty") is True
    assert snapshot_names(admin, pool_vm) == ["clean", "dirty"]
    with pytest.raises(ProviderError, match="Snapshot clean for VM worker .* already exists"):
        provider.create_snapshot(pool_config(provider, pool["name"]), "worker", "clean")
    assert snapshot_names(admin, pool_vm) == ["clean", "dirty"]
    assert provider.revert_snapshot(pool_config(provider, pool["name"]), "worker", "clean") is True
    current = admin.read(pool_vm, "snapshot")["snapshot"].currentSnapshot
    root = admin.read(pool_vm, "snapshot")["snapshot"].rootSnapshotList[0]
    assert (root.name, current._moId) == ("clean", root.snapshot._moId)


def test_revert_to_a_missing_snapshot_is_an_error(make_provider, pool, pool_vm):
    provider = make_provider(pools=[pool])
    with pytest.raises(ProviderError, match="Snapshot nope for VM worker .* does not exist"):
        provider.revert_snapshot(pool_config(provider, pool["name"]), "worker", "nope")


def test_snapshot_of_a_missing_vm_is_an_error(make_provider, pool, pool_vm):
    provider = make_provider(pools=[pool])
    with pytest.raises(ProviderError, match="VM ghost in pool"):
        provider.create_snapshot(pool_config(provider, pool["name"]), "ghost", "s")


def test_destroy_powers_off_and_deletes(make_provider, pool, admin, pool_vm):
    assert admin.read(pool_vm, "runtime.powerState")["runtime.powerState"] == "poweredOn"
    provider = make_provider(pools=[pool])
    assert provider.destroy_vm(pool_config(provider, pool["name"]), "worker") is True
    assert admin.find(f"DC0/vm/{pool['folder']}/worker") is None
    assert provider.vms_in_pool(pool_config(provider, pool["name"])) == []


def test_destroy_of_a_missing_vm_succeeds(make_provider, pool, admin):
    admin.folder(f"DC0/vm/{pool['folder']}")
    provider = make_provider(pools=[pool])
    assert provider.destroy_vm(pool_config(provider, pool["name"]), "already-gone") is True


def test_template_delta_disks_get_the_old_disk_as_parent(make_provider, pool, admin, unique):
    admin.make_template("DC0/vm/DC0_H0_VM1", f"DC0/vm/Delta-{unique}", "golden")
    template = admin.find(f"DC0/vm/Delta-{unique}/golden")
    old_files = {d.backing.fileName for d in disks_of(admin, template)}
    provider = make_provider(pools=[dict(pool, template=f"Delta-{unique}/golden")])
    provider.create_template_delta_disks(provider.settings.pool(pool["name"]))
    layered = disks_of(admin, template)
    assert layered and all(d.backing.parent is not None for d in layered)
    assert {d.backing.parent.fileName for d in layered} == old_files
    assert admin.read(template, "config.template")["config.template"] is True


def test_delta_disks_for_a_missing_template_is_an_error(make_provider, pool):
    provider = make_provider(pools=[dict(pool, template="Templates/none")])
    with pytest.raises(ProviderError, match="specifies a template VM of Templates/none which does not exist"):
        provider.create_template_delta_disks(provider.settings.pool(pool["name"]))
