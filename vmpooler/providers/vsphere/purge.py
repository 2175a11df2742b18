"""Purging folders that no pool configures, below the pools' base folders.

A base folder is the parent of a pool's folder (``vmpooler`` for the pool folder
``vmpooler/centos-7``). Only folders *inside* a base folder are candidates; VMs
directly in a base folder, pool folders, templates, folders that lead to either,
and anything on the allowlist are left alone. A pool folder directly under
``<dc>/vm`` gives no base folder (its base would be the whole datacenter). A
purged folder's VMs are powered off and deleted one by one before the folder
itself, so each one can be reported (the caller expires its Redis data) and one
failure does not hide the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from pyVmomi import vim, vmodl

from vmpooler.providers.base import ProviderError, PurgeResult
from vmpooler.providers.vsphere import props, vmops
from vmpooler.providers.vsphere.lookups import Inventory, join

# What one destroy that vCenter refused raises; the purge reports it and carries on.
_DESTROY_FAILED = (ProviderError, vmodl.MethodFault)


@dataclass
class PurgePlan:
    """Base folders, and the paths that must survive (pool folders, templates), as inventory paths."""

    bases: dict[str, str] = field(default_factory=dict)
    """base path -> the datacenter's ``<dc>/vm`` path, to express allowlist entries relative to it."""
    kept: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    """Pool folders directly under ``<dc>/vm``: their base would be the whole datacenter."""

    def add(self, dc: str, folder: str, template: str | None) -> None:
        vm_root = join(dc, "vm")
        self.kept.add(join(vm_root, folder))
        if template:
            self.kept.add(join(vm_root, template))
        parent = folder.strip("/").rpartition("/")[0]
        if parent:
            self.bases[join(vm_root, parent)] = vm_root
        else:
            self.skipped.add(join(vm_root, folder))

    def needed(self, path: str) -> bool:
        """Is ``path`` a kept path or on the way to one?"""
        return any(kept == path or kept.startswith(path + "/") for kept in self.kept)


class Purger:
    def __init__(self, content: Any, inventory: Inventory, plan: PurgePlan, allowlist: Iterable[str],
                 wait: vmops.Wait):
        self.content = content
        self.inventory = inventory
        self.plan = plan
        self.allowlist = {entry.strip("/") for entry in allowlist}
        self.wait = wait
        self.vms: list[tuple[str, str]] = []
        self.folders: list[str] = []
        self.errors: list[str] = []

    def run(self) -> PurgeResult:
        for base, vm_root in self.plan.bases.items():
            folder = self.inventory.find_typed(base, vim.Folder)
            if folder is None:
                continue
            for child, values in props.children(self.content, folder, "childEntity", vim.Folder, ["name"]):
                path = join(base, values["name"])
                if self.plan.needed(path) or self._allowed(values["name"], path, vm_root):
                    continue
                self._purge_folder(child, values["name"], path, vm_root)
        return PurgeResult(vms=tuple(self.vms), folders=tuple(self.folders), errors=tuple(self.errors))

    def _allowed(self, name: str, path: str, vm_root: str) -> bool:
        relative = path[len(vm_root) + 1:] if path.startswith(vm_root + "/") else path
        return bool({name, path, relative} & self.allowlist)

    def _purge_folder(self, folder: Any, name: str, path: str, vm_root: str) -> bool:
        """Delete the folder's contents, then the folder; False if something in it had to stay."""
        emptied = True
        for vm, values in props.children(self.content, folder, "childEntity", vim.VirtualMachine, ["name"]):
            vm_name = values["name"]
            if self._allowed(vm_name, join(path, vm_name), vm_root):
                emptied = False
                continue
            try:
                vmops.destroy(self.content, vm, vm_name, self.wait)
            except _DESTROY_FAILED as exc:
                self.errors.append(f"{join(path, vm_name)}: {exc}")
                emptied = False
                continue
            self.vms.append((name, vm_name))
        for child, values in props.children(self.content, folder, "childEntity", vim.Folder, ["name"]):
            child_path = join(path, values["name"])
            if self._allowed(values["name"], child_path, vm_root):
                emptied = False
            elif not self._purge_folder(child, values["name"], child_path, vm_root):
                emptied = False
        if not emptied:
            return False
        try:
            self.wait(folder.Destroy_Task(), f"destroying folder {path}")
        except _DESTROY_FAILED as exc:
            self.errors.append(f"{path}: {exc}")
            return False
        self.folders.append(path)
        return True
