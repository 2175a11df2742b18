"""Finding inventory objects by inventory path (``<dc>/vm/<folder>/<vm>``).

Paths are resolved by vCenter's SearchIndex in one call each; nothing here walks
the inventory tree from the client. Compute resources, datastores and networks
are looked up by path first and, when they sit in nested folders and the config
gives only their name, by a server-side container view.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from vmpooler.providers.base import ProviderError
from vmpooler.providers.vsphere import props


def join(*parts: str | None) -> str:
    """An inventory path from parts, ignoring empty parts and stray slashes."""
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


class Inventory:
    """Lookups through one session's ServiceContent."""

    def __init__(self, content: Any, provider_name: str):
        self.content = content
        self.provider_name = provider_name

    def find(self, path: str) -> Any | None:
        return self.content.searchIndex.FindByInventoryPath(path)

    def find_typed(self, path: str, kind: type) -> Any | None:
        found = self.find(path)
        return found if isinstance(found, kind) else None

    # ---- datacenters

    def datacenter(self, path: str) -> Any:
        found = self.find_typed(path, vim.Datacenter)
        if found is None:
            raise ProviderError(f"Datacenter '{path}' does not exist for the provider {self.provider_name}")
        return found

    def first_datacenter_path(self) -> str:
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [vim.Datacenter], True)
        try:
            datacenters = list(view.view)
        finally:
            view.DestroyView()
        if not datacenters:
            raise ProviderError(f"there is no datacenter for the provider {self.provider_name}")
        return self.path_of(datacenters[0])

    def path_of(self, entity: Any) -> str:
        """The inventory path of an entity, from its ancestors' names."""
        names: list[str] = []
        root = self.content.rootFolder._moId
        while entity is not None and entity._moId != root:
            values = props.read(self.content, entity, ["name", "parent"])
            names.append(values["name"])
            entity = values.get("parent")
        return "/".join(reversed(names))

    # ---- folders and VMs

    def vm_folder(self, dc: str, folder: str) -> Any | None:
        return self.find_typed(join(dc, "vm", folder), vim.Folder)

    def vm(self, dc: str, folder: str, name: str) -> Any | None:
        return self.find_typed(join(dc, "vm", folder, name), vim.VirtualMachine)

    def ensure_vm_folder(self, dc: str, folder: str) -> Any:
        """The folder ``<dc>/vm/<folder>``, creating every missing level."""
        current = self.find_typed(join(dc, "vm"), vim.Folder)
        if current is None:
            raise ProviderError(f"Datacenter '{dc}' does not exist for the provider {self.provider_name}")
        for name in [part for part in folder.split("/") if part]:
            child = self.content.searchIndex.FindChild(current, name)
            if child is None:
                try:
                    child = current.CreateFolder(name)
                except vim.fault.DuplicateName:
                    child = self.content.searchIndex.FindChild(current, name)
            if not isinstance(child, vim.Folder):
                raise ProviderError(f"Cannot create folder {join(dc, 'vm', folder)}: "
                                    f"'{name}' exists and is not a folder")
            current = child
        return current

    # ---- placement

    def _in_datacenter(self, dc: str, subfolder: str, name: str, kind: type) -> Any | None:
        found = self.find_typed(join(dc, subfolder, name), kind)
        if found is not None or "/" in name:
            return found
        root = self.find_typed(join(dc, subfolder), vim.Folder)
        return props.find_by_name(self.content, root, kind, name) if root is not None else None

    def compute_resource(self, dc: str, name: str) -> Any | None:
        """A cluster or standalone host's compute resource, by name or path under ``<dc>/host``."""
        return self._in_datacenter(dc, "host", name, vim.ComputeResource)

    def datastore(self, dc: str, name: str) -> Any | None:
        return self._in_datacenter(dc, "datastore", name, vim.Datastore)

    def network(self, dc: str, name: str) -> Any | None:
        return self._in_datacenter(dc, "network", name, vim.Network)
