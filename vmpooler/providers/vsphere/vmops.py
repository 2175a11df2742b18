"""Operations on one VM: describe, power off and destroy, snapshots."""

from __future__ import annotations

import ipaddress
from typing import Any, Callable

from pyVmomi import vim

from vmpooler.providers.vsphere import props

Wait = Callable[[Any, str], Any]

VM_PATHS = ("name", "runtime.powerState", "runtime.bootTime", "summary.runtime.bootTime", "summary.runtime.host",
            "summary.guest.hostName", "guest.ipAddress", "guest.toolsStatus")
_TOOLS_REPORTING = {"toolsOk", "toolsOld"}


def usable_ip(address: str | None) -> str | None:
    """The guest's address if a client could reach it (not unset, link-local or unspecified)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.is_unspecified or ip.is_link_local:
        return None
    return address


def guest_ip(values: dict[str, Any]) -> str | None:
    """The IP VMware Tools reports; None while Tools is not running."""
    if values.get("guest.toolsStatus") not in _TOOLS_REPORTING:
        return None
    return usable_ip(values.get("guest.ipAddress"))


def describe(content: Any, vm: Any, pool_name: str, template: str | None) -> dict[str, Any]:
    """The provider's view of a VM (``get_vm``'s dict)."""
    values = props.read(content, vm, VM_PATHS)
    host_ref = values.get("summary.runtime.host")
    host = props.read(content, host_ref, ["name"]).get("name") if host_ref is not None else None
    boottime = values.get("runtime.bootTime") or values.get("summary.runtime.bootTime")
    return {
        "name": values.get("name"),
        "hostname": values.get("summary.guest.hostName"),
        "template": template,
        "poolname": pool_name,
        "ip": guest_ip(values),
        "host": host,
        "powerstate": values.get("runtime.powerState"),
        "boottime": boottime.isoformat() if boottime is not None else None,
    }


def destroy(content: Any, vm: Any, name: str, wait: Wait) -> None:
    """Power the VM off if it is on (vSphere refuses to delete a running VM), then delete it."""
    state = props.read(content, vm, ["runtime.powerState"]).get("runtime.powerState")
    if state == vim.VirtualMachine.PowerState.poweredOn:
        try:
            wait(vm.PowerOffVM_Task(), f"powering off {name}")
        except props.TaskFailed as exc:
            if not isinstance(exc.fault, vim.fault.InvalidPowerState):  # else it stopped meanwhile
                raise
    wait(vm.Destroy_Task(), f"destroying {name}")


def find_snapshot(content: Any, vm: Any, name: str) -> Any | None:
    """The first snapshot named ``name`` in the VM's snapshot tree (depth first)."""
    info = props.read(content, vm, ["snapshot"]).get("snapshot")
    stack = list(reversed(info.rootSnapshotList)) if info is not None else []
    while stack:
        node = stack.pop()
        if node.name == name:
            return node.snapshot
        stack.extend(reversed(node.childSnapshotList or []))
    return None
