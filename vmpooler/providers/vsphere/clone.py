"""The CloneVM_Task specification for a pool VM."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from pyVmomi import vim

from vmpooler.providers.vsphere import props
from vmpooler.settings import PoolConfig

LINKED = "moveChildMostDiskBacking"
FULL = "moveAllDiskBackingsAndConsolidate"


def annotation(vm_name: str, username: str, template: str, now: datetime | None = None) -> str:
    """The JSON note on every clone: who made it, from what and when."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return json.dumps({
        "name": vm_name,
        "created_by": username,
        "base_template": template,
        "creation_timestamp": moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
    }, indent=2)


def extra_config(vm_name: str, pool: PoolConfig) -> list[Any]:
    """``guestinfo.hostname`` lets the guest name itself through VMware Tools."""
    values = {"guestinfo.hostname": vm_name}
    if pool.snapshot_mainMem_ioBlockPages is not None:
        values["mainMem.ioBlockPages"] = str(pool.snapshot_mainMem_ioBlockPages)
    if pool.snapshot_mainMem_iowait is not None:
        values["mainMem.iowait"] = str(pool.snapshot_mainMem_iowait)
    return [vim.option.OptionValue(key=key, value=value) for key, value in values.items()]


def network_backing(content: Any, network: Any, name: str) -> Any:
    """A NIC backing for a standard network or a distributed port group."""
    if isinstance(network, vim.dvs.DistributedVirtualPortgroup):
        group = props.read(content, network, ["key", "config.distributedVirtualSwitch"])
        switch = props.read(content, group["config.distributedVirtualSwitch"], ["uuid"])
        port = vim.dvs.PortConnection(portgroupKey=group["key"], switchUuid=switch["uuid"])
        return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=port)
    return vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=name, network=network, useAutoDetect=False)


def nic_change(template_devices: list[Any], backing: Any, name: str) -> Any | None:
    """Re-point the template's first NIC (same device class and key) at another network."""
    nic = next((d for d in template_devices if isinstance(d, vim.vm.device.VirtualEthernetCard)), None)
    if nic is None:
        return None
    device = type(nic)(
        key=nic.key,
        controllerKey=nic.controllerKey,
        unitNumber=nic.unitNumber,
        deviceInfo=vim.Description(label=nic.deviceInfo.label if nic.deviceInfo else "", summary=name),
        backing=backing,
        addressType="assigned",
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(allowGuestControl=True, startConnected=True,
                                                            connected=True),
    )
    return vim.vm.device.VirtualDeviceSpec(operation=vim.vm.device.VirtualDeviceSpec.Operation.edit,
                                           device=device)


def clone_spec(*, config: Any, linked: bool, datastore: Any | None, pool: Any | None,
               host: Any | None) -> Any:
    location = vim.vm.RelocateSpec(diskMoveType=LINKED if linked else FULL)
    if datastore is not None:
        location.datastore = datastore
    if pool is not None:
        location.pool = pool
    if host is not None:
        location.host = host
    return vim.vm.CloneSpec(location=location, config=config, powerOn=True, template=False)
