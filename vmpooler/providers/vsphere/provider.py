"""VSphereProvider: vmpooler pools as folders of VMs cloned from templates in vCenter."""

from __future__ import annotations

import http.client
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from pyVmomi import vim, vmodl

from vmpooler.providers.base import MigrationResult, Provider, ProviderDeps, ProviderError, PurgeResult
from vmpooler.providers.vsphere import clone, disks, props, vmops
from vmpooler.providers.vsphere.connection import Connector, Endpoint, Session
from vmpooler.providers.vsphere.hosts import HostSelector, cpu_generation
from vmpooler.providers.vsphere.lookups import Inventory, join
from vmpooler.providers.vsphere.options import VSphereOptions
from vmpooler.providers.vsphere.purge import PurgePlan, Purger
from vmpooler.providers.vsphere.ready import Resolver, port_open
from vmpooler.settings import PoolConfig, ProviderConfig


class VSphereProvider(Provider):
    options_schema = VSphereOptions
    # vSphere faults, and the socket/HTTP errors of a vCenter that went away mid-call.
    errors = Provider.errors + (vmodl.MethodFault, OSError, http.client.HTTPException)
    default_pool_timeout = 60

    def __init__(self, config: ProviderConfig, deps: ProviderDeps, *, resolver: Resolver | None = None,
                 sleep: Callable[[float], None] | None = None):
        """``resolver`` maps a VM's DNS name to the address ``vm_ready`` connects to (default:
        the system resolver); ``sleep`` waits between connection attempts. Both may also come
        from ``deps.extras`` (``"resolver"``, ``"sleep"``)."""
        super().__init__(config, deps)
        settings = self.settings.config
        endpoint = Endpoint(server=self.options["server"], port=self.options["port"],
                            username=self.options["username"], password=self.options["password"],
                            insecure=self.options["insecure"], timeout=self.options["vsphere_timeout"])
        self._connector = Connector(endpoint, self.metrics, settings.max_tries, settings.retry_factor,
                                    sleep or deps.extras.get("sleep") or time.sleep)
        self._resolver = resolver or deps.extras.get("resolver")
        self._sessions: list[Session] = []
        self._sessions_lock = threading.Lock()
        self.hosts = HostSelector(settings.host_selection_max_age, settings.utilization_limit)
        self._known_datacenters: set[str] = set()
        self._first_datacenter: str | None = None

    # ---- connections

    def default_connection_pool_size(self) -> int:
        """One session per pool served, per task a worker runs at once, and at least two."""
        return max(len(self.provided_pools), super().default_connection_pool_size(), 2)

    def connect(self) -> Session:
        session = Session(self._connector)
        with self._sessions_lock:
            self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.connections.connection() as session:
            yield session.ensure()

    def _wait(self, session: Session) -> vmops.Wait:
        timeout = self.options["task_timeout"]
        return lambda task, what: props.wait_for_task(session.content, task, timeout, what)

    def _inventory(self, session: Session) -> Inventory:
        return Inventory(session.content, self.name)

    # ---- configuration of a pool

    def _datacenter(self, inventory: Inventory, pool: PoolConfig) -> str:
        """The pool's datacenter, else the provider's, else the first one in the inventory."""
        name = pool.datacenter or self.options["datacenter"]
        if name is None:
            if self._first_datacenter is None:
                self._first_datacenter = inventory.first_datacenter_path()
            return self._first_datacenter
        if name not in self._known_datacenters:
            inventory.datacenter(name)
            self._known_datacenters.add(name)
        return name

    def _folder(self, pool: PoolConfig) -> str:
        if not pool.folder or not pool.folder.strip("/"):
            raise ProviderError(f"Pool {pool.name} does not specify a folder for the provider {self.name}")
        return pool.folder.strip("/")

    def _template_path(self, pool: PoolConfig) -> str:
        template = pool.template or ""
        if "/" not in template or template.startswith("/") or template.endswith("/"):
            raise ProviderError(f"Pool {pool.name} did not specify a full path for the template "
                                f"for the provider {self.name}")
        return template

    def _linked_clone(self, pool: PoolConfig) -> bool:
        for choice in (pool.create_linked_clone, self.options["create_linked_clones"]):
            if choice is not None:
                return choice
        return self.settings.config.create_linked_clones is not False

    def _find_vm(self, inventory: Inventory, pool: PoolConfig, vm_name: str) -> Any | None:
        return inventory.vm(self._datacenter(inventory, pool), self._folder(pool), vm_name)

    def _require_vm(self, inventory: Inventory, pool: PoolConfig, vm_name: str) -> Any:
        vm = self._find_vm(inventory, pool, vm_name)
        if vm is None:
            raise ProviderError(f"VM {vm_name} in pool {pool.name} does not exist for the provider {self.name}")
        return vm

    # ---- inventory

    def vms_in_pool(self, pool: PoolConfig) -> list[str]:
        if not self.serves(pool):
            return []
        with self._session() as session:
            inventory = self._inventory(session)
            folder = inventory.vm_folder(self._datacenter(inventory, pool), self._folder(pool))
            if folder is None:
                return []
            found = props.children(session.content, folder, "childEntity", vim.VirtualMachine, ["name"])
            return [values["name"] for _, values in found]

    def get_vm(self, pool: PoolConfig, vm_name: str) -> dict[str, Any] | None:
        if not self.serves(pool):
            return None
        with self._session() as session:
            vm = self._find_vm(self._inventory(session), pool, vm_name)
            if vm is None:
                return None
            try:
                return vmops.describe(session.content, vm, pool.name, pool.template)
            except vmodl.fault.ManagedObjectNotFound:
                return None  # destroyed between the lookup and the read

    def get_vm_host(self, pool: PoolConfig, vm_name: str) -> str | None:
        found = self.get_vm(pool, vm_name)
        return found["host"] if found else None

    # ---- clone

    def create_vm(self, pool: PoolConfig, vm_name: str) -> dict[str, Any]:
        self.require_pool(pool)
        template_path = self._template_path(pool)
        with self._session() as session:
            inventory = self._inventory(session)
            dc = self._datacenter(inventory, pool)
            template = inventory.find_typed(join(dc, "vm", template_path), vim.VirtualMachine)
            if template is None:
                raise ProviderError(f"Pool {pool.name} specifies a template VM of {template_path} "
                                    f"which does not exist for the provider {self.name}")
            folder = self._target_folder(inventory, dc, pool)
            config = vim.vm.ConfigSpec(
                annotation=clone.annotation(vm_name, self.options["username"], template_path),
                extraConfig=clone.extra_config(vm_name, pool))
            if pool.network:
                change = self._network_change(session, inventory, dc, pool.network, template)
                if change is not None:
                    config.deviceChange = [change]
            resource_pool, host = self._placement(session, inventory, dc, pool, template)
            spec = clone.clone_spec(config=config, linked=self._linked_clone(pool),
                                    datastore=self._datastore(inventory, dc, pool.datastore) if pool.datastore else None,
                                    pool=resource_pool, host=host)
            task = template.CloneVM_Task(folder=folder, name=vm_name, spec=spec)
            new_vm = self._wait(session)(task, f"cloning {vm_name} from {template_path}")
            return vmops.describe(session.content, new_vm, pool.name, pool.template)

    def _target_folder(self, inventory: Inventory, dc: str, pool: PoolConfig) -> Any:
        folder = inventory.vm_folder(dc, self._folder(pool))
        if folder is None and self.settings.config.create_folders:
            folder = inventory.ensure_vm_folder(dc, self._folder(pool))
        if folder is None:
            raise ProviderError(f"Cannot find the configured folder for {pool.name} {pool.folder}")
        return folder

    def _datastore(self, inventory: Inventory, dc: str, name: str) -> Any:
        datastore = inventory.datastore(dc, name)
        if datastore is None:
            raise ProviderError(f"Datastore '{name}' does not exist in datacenter '{dc}'")
        return datastore

    def _network_change(self, session: Session, inventory: Inventory, dc: str, name: str,
                        template: Any) -> Any | None:
        network = inventory.network(dc, name)
        if network is None:
            raise ProviderError(f"Cannot find network {name} in datacenter {dc}")
        devices = props.read(session.content, template, ["config.hardware.device"]).get("config.hardware.device")
        backing = clone.network_backing(session.content, network, name)
        return clone.nic_change(list(devices or ()), backing, name)

    def _placement(self, session: Session, inventory: Inventory, dc: str, pool: PoolConfig,
                   template: Any) -> tuple[Any, Any]:
        """The resource pool (and host, under ``manage_host_selection``) the clone goes to.

        Without a ``clone_target`` the clone stays in the template's cluster: vCenter
        needs a resource pool to clone a template at all.
        """
        target = pool.clone_target or self.settings.config.clone_target
        if target:
            compute = inventory.compute_resource(dc, target)
            if compute is None:
                raise ProviderError(f"Cluster {target} cannot be found for pool {pool.name} in datacenter {dc}")
        else:
            compute = self._compute_resource_of(session, template)
            if compute is None:
                raise ProviderError(f"cluster for pool {pool.name} cannot be identified: set clone_target")
            target = props.read(session.content, compute, ["name"]).get("name", "")
        resource_pool = props.read(session.content, compute, ["resourcePool"]).get("resourcePool")
        if not self.settings.config.manage_host_selection:
            return resource_pool, None
        chosen = self.hosts.pick(session.content, compute, target)
        self.logger.debug("[%s] cloning onto host %s (cpu %.1f%%, memory %.1f%%)",
                          pool.name, chosen.name, chosen.cpu, chosen.memory)
        return resource_pool, vim.HostSystem(chosen.moid, session.si._stub)

    @staticmethod
    def _compute_resource_of(session: Session, vm: Any) -> Any | None:
        host = props.read(session.content, vm, ["runtime.host"]).get("runtime.host")
        return props.read(session.content, host, ["parent"]).get("parent") if host is not None else None

    def create_template_delta_disks(self, pool: PoolConfig) -> None:
        template_path = self._template_path(pool)
        with self._session() as session:
            inventory = self._inventory(session)
            template = inventory.find_typed(join(self._datacenter(inventory, pool), "vm", template_path),
                                            vim.VirtualMachine)
            if template is None:
                raise ProviderError(f"Pool {pool.name} specifies a template VM of {template_path} "
                                    f"which does not exist for the provider {self.name}")
            values = props.read(session.content, template, ["config.hardware.device", "config.template"])
            changes = disks.delta_layer_changes(list(values.get("config.hardware.device") or ()))
            if not changes:
                return
            spec = vim.vm.ConfigSpec(deviceChange=changes)
            what = f"adding delta disks to {template_path}"
            if not values.get("config.template"):
                self._wait(session)(template.ReconfigVM_Task(spec=spec), what)
                return
            # vSphere changes no hardware of a template: turn it into a VM for the change.
            compute = self._compute_resource_of(session, template)
            if compute is None:
                raise ProviderError(f"template {template_path} has no host to be reconfigured on")
            template.MarkAsVirtualMachine(pool=props.read(session.content, compute, ["resourcePool"])["resourcePool"])
            try:
                self._wait(session)(template.ReconfigVM_Task(spec=spec), what)
            finally:
                template.MarkAsTemplate()

    # ---- VM operations

    def destroy_vm(self, pool: PoolConfig, vm_name: str) -> bool:
        self.require_pool(pool)
        with self._session() as session:
            vm = self._find_vm(self._inventory(session), pool, vm_name)
            if vm is not None:
                vmops.destroy(session.content, vm, vm_name, self._wait(session))
        return True

    def create_disk(self, pool: PoolConfig, vm_name: str, disk_size_gb: int) -> bool:
        self.require_pool(pool)
        if disk_size_gb <= 0:
            return False
        if not pool.datastore:
            raise ProviderError(f"Pool {pool.name} does not specify a datastore for the provider {self.name}")
        with self._session() as session:
            inventory = self._inventory(session)
            dc = self._datacenter(inventory, pool)
            vm = self._require_vm(inventory, pool, vm_name)
            devices = props.read(session.content, vm, ["config.hardware.device"]).get("config.hardware.device")
            disks.add_disk(session.content, vm=vm, vm_name=vm_name, devices=list(devices or ()),
                           datacenter=inventory.datacenter(dc), datastore=self._datastore(inventory, dc, pool.datastore),
                           datastore_name=pool.datastore.rpartition("/")[2], size_gb=disk_size_gb,
                           wait=self._wait(session))
        return True

    def create_snapshot(self, pool: PoolConfig, vm_name: str, snapshot_name: str) -> bool:
        self.require_pool(pool)
        with self._session() as session:
            vm = self._require_vm(self._inventory(session), pool, vm_name)
            if vmops.find_snapshot(session.content, vm, snapshot_name) is not None:
                raise ProviderError(f"Snapshot {snapshot_name} for VM {vm_name} in pool {pool.name} "
                                    f"already exists for the provider {self.name}")
            task = vm.CreateSnapshot_Task(name=snapshot_name, description="vmpooler", memory=True, quiesce=True)
            self._wait(session)(task, f"snapshotting {vm_name} as {snapshot_name}")
        return True

    def revert_snapshot(self, pool: PoolConfig, vm_name: str, snapshot_name: str) -> bool:
        self.require_pool(pool)
        with self._session() as session:
            vm = self._require_vm(self._inventory(session), pool, vm_name)
            snapshot = vmops.find_snapshot(session.content, vm, snapshot_name)
            if snapshot is None:
                raise ProviderError(f"Snapshot {snapshot_name} for VM {vm_name} in pool {pool.name} "
                                    f"does not exist for the provider {self.name}")
            self._wait(session)(snapshot.RevertToSnapshot_Task(), f"reverting {vm_name} to {snapshot_name}")
        return True

    def vm_ready(self, pool: PoolConfig, vm_name: str) -> bool:
        """Port ``ready_check_port`` open on the IP Tools reports, else on ``<vm>.<domain>``."""
        if not self.serves(pool):
            return False
        with self._session() as session:
            vm = self._find_vm(self._inventory(session), pool, vm_name)
            if vm is None:
                return False
            ip = vmops.guest_ip(props.read(session.content, vm, ["guest.ipAddress", "guest.toolsStatus"]))
        domain = self.settings.domain_for(pool)
        target = ip or (f"{vm_name}.{domain}" if domain else vm_name)
        return port_open(target, self.options["ready_check_port"], self.options["ready_check_timeout"],
                         None if ip else self._resolver)

    # ---- migration

    def migrate_vm(self, pool: PoolConfig, vm_name: str) -> MigrationResult:
        self.require_pool(pool)
        with self._session() as session:
            content = session.content
            vm = self._find_vm(self._inventory(session), pool, vm_name)
            if vm is None:
                raise ProviderError(f"failed to get vm details. vm {vm_name} is unreachable or no longer exists")
            host_ref = props.read(content, vm, ["summary.runtime.host"]).get("summary.runtime.host")
            if host_ref is None:
                raise ProviderError(f"Unable to determine which host the VM {vm_name} is running on")
            host = props.read(content, host_ref, ["name", "parent", "hardware.cpuPkg"])
            current = host["name"]
            packages = host.get("hardware.cpuPkg") or ()
            generation = cpu_generation(packages[0].description if packages else None)
            selection = self.hosts.selection(content, host["parent"])
            if any(h.moid == host_ref._moId for h in selection.candidates(generation)):
                return MigrationResult(host=current,
                                       message=f"No migration required for '{vm_name}' running on {current}")
            target = selection.next_host(generation)
            if target is None:
                return MigrationResult(host=current, message=f"No compatible host to migrate '{vm_name}' to; "
                                                             f"it stays on {current}")
            started = time.monotonic()
            spec = vim.vm.RelocateSpec(host=vim.HostSystem(target.moid, session.si._stub))
            self._wait(session)(vm.RelocateVM_Task(spec=spec), f"migrating {vm_name} to {target.name}")
        seconds = round(time.monotonic() - started, 2)
        return MigrationResult(host=target.name, migrated=True, source_host=current, seconds=seconds,
                               message=f"'{vm_name}' migrated from {current} to {target.name} in {seconds} seconds")

    # ---- purge

    def purge_unconfigured_resources(self, allowlist: tuple[str, ...]) -> PurgeResult:
        with self._session() as session:
            inventory = self._inventory(session)
            plan = PurgePlan()
            for pool in self.settings.pools_of_provider(self.name):
                if pool.folder and pool.folder.strip("/"):
                    plan.add(self._datacenter(inventory, pool), self._folder(pool), pool.template)
            for folder in sorted(plan.skipped):
                self.logger.warning("[!] not purging next to %s: a pool folder directly under a datacenter's "
                                    "VM folder would make the whole datacenter its base folder", folder)
            purger = Purger(session.content, inventory, plan, tuple(allowlist) + self.config.resources_allowlist,
                            self._wait(session))
            return purger.run()
