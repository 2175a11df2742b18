"""Adding disks to VMs and delta-disk layers to templates."""

from __future__ import annotations

import re
from typing import Any, Callable

from pyVmomi import vim

from vmpooler.providers.base import ProviderError

DeviceSpec = vim.vm.device.VirtualDeviceSpec
FlatBacking = vim.vm.device.VirtualDisk.FlatVer2BackingInfo

_MAX_DISKS_PER_CONTROLLER = 15
_UNITS = range(16)
_DATASTORE_OF_FILE = re.compile(r"^\[([^\]]*)\]")


def _disks(devices: list[Any]) -> list[Any]:
    return [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]


def free_slot(devices: list[Any]) -> tuple[Any, int]:
    """The first SCSI controller (by key) with room for a disk, and its lowest free unit."""
    controllers = sorted((d for d in devices if isinstance(d, vim.vm.device.VirtualSCSIController)),
                         key=lambda d: d.key)
    if not controllers:
        raise ProviderError("the VM has no SCSI controller to attach a disk to")
    for controller in controllers:
        used = {d.unitNumber for d in _disks(devices) if d.controllerKey == controller.key}
        if len(used) >= _MAX_DISKS_PER_CONTROLLER:
            continue
        reserved = used | {controller.scsiCtlrUnitNumber}
        return controller, next(unit for unit in _UNITS if unit not in reserved)
    raise ProviderError("every SCSI controller of the VM is full")


def disk_file_name(datastore: str, vm_name: str, devices: list[Any]) -> str:
    """Named by the VM's disk count, so no datastore search is needed."""
    return f"[{datastore}] {vm_name}/{vm_name}_{len(_disks(devices))}.vmdk"


def add_disk(content: Any, *, vm: Any, vm_name: str, devices: list[Any], datacenter: Any, datastore: Any,
             datastore_name: str, size_gb: int, wait: Callable[[Any, str], Any]) -> None:
    """Create a thin disk file of ``size_gb`` and attach it to ``vm``."""
    controller, unit = free_slot(devices)
    file_name = disk_file_name(datastore_name, vm_name, devices)
    capacity_kb = size_gb * 1024 * 1024
    file_spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(capacityKb=capacity_kb, adapterType="lsiLogic",
                                                                 diskType="thin")
    task = content.virtualDiskManager.CreateVirtualDisk_Task(name=file_name, datacenter=datacenter, spec=file_spec)
    wait(task, f"creating disk {file_name}")
    disk = vim.vm.device.VirtualDisk(
        key=-1, controllerKey=controller.key, unitNumber=unit, capacityInKB=capacity_kb,
        backing=FlatBacking(datastore=datastore, diskMode="persistent", fileName=file_name),
    )
    change = DeviceSpec(operation=DeviceSpec.Operation.add, device=disk)
    wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])), f"attaching disk {file_name} to {vm_name}")


def delta_layer_changes(devices: list[Any]) -> list[Any]:
    """Swap every disk for a child disk on the same datastore whose parent is the old disk.

    Clones with ``moveChildMostDiskBacking`` then share the template's base disks.
    """
    changes = []
    for disk in _disks(devices):
        old = disk.backing
        match = _DATASTORE_OF_FILE.match(old.fileName or "")
        if match is None:
            raise ProviderError(f"cannot tell the datastore of disk '{old.fileName}'")
        child = vim.vm.device.VirtualDisk(
            key=disk.key, controllerKey=disk.controllerKey, unitNumber=disk.unitNumber,
            capacityInKB=disk.capacityInKB, deviceInfo=disk.deviceInfo,
            backing=FlatBacking(datastore=old.datastore, diskMode=old.diskMode, thinProvisioned=old.thinProvisioned,
                                fileName=f"[{match.group(1)}]", parent=old),
        )
        changes.append(DeviceSpec(operation=DeviceSpec.Operation.remove, device=disk))
        changes.append(DeviceSpec(operation=DeviceSpec.Operation.add, device=child,
                                  fileOperation=DeviceSpec.FileOperation.create))
    return changes
