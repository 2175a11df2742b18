"""The provider contract.

A provider talks to one hypervisor and returns data; it never reads or writes
vmpooler's state (the lifecycle layer records what happened). The caller hands
every method the pool's resolved configuration (runtime overrides of size,
template and clone target applied), so a provider never looks a pool up. Every
contract method raises ``NotImplementedError("<Class> does not implement
<method>")`` unless the provider overrides it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from marshmallow import Schema, ValidationError

from vmpooler.domain.capacity import worker_threads
from vmpooler.metrics import Metrics, NullMetrics
from vmpooler.providers.connection_pool import ConnectionPool, PoolTimeout
from vmpooler.settings import ConfigError, PoolConfig, ProviderConfig, Settings
from vmpooler.settings_schema import flatten_errors


class ProviderError(Exception):
    """A provider operation failed in a way the caller should report.

    The lifecycle treats the errors a provider lists in ``Provider.errors`` as
    "this hypervisor call failed" (logged, the VM retried or failed); anything
    else is a bug or an outage of our own and propagates to Celery.
    """


@dataclass(frozen=True)
class MigrationResult:
    """What ``migrate_vm`` did: the host before and after, and whether it moved."""

    host: str
    migrated: bool = False
    source_host: str | None = None
    seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class PurgeResult:
    """VMs (``(folder, vm)``) and folders a purge destroyed."""

    vms: tuple[tuple[str, str], ...] = ()
    folders: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass
class ProviderDeps:
    """What the composition root hands every provider."""

    settings: Settings
    metrics: Metrics = field(default_factory=NullMetrics)
    state: Any = None
    """A ``ProviderState`` store for providers whose 'hypervisor' is shared state (dummy)."""
    extras: Mapping[str, Any] = field(default_factory=dict)


class Provider:
    """Base class of every provider."""

    options_schema: ClassVar[type[Schema] | None] = None
    errors: ClassVar[tuple[type[BaseException], ...]] = (ProviderError, PoolTimeout)
    """What a failed hypervisor call raises; a subclass adds its client library's errors."""
    default_pool_size: ClassVar[int] = 1
    default_pool_timeout: ClassVar[int] = 10

    def __init__(self, config: ProviderConfig, deps: ProviderDeps):
        self.config = config
        self.settings = deps.settings
        self.metrics = deps.metrics
        self.logger = logging.getLogger(f"vmpooler.providers.{config.name}")
        self.options = self.validate_options(config)
        self.logger.info("[!] Creating provider '%s'", config.name)
        size = config.connection_pool_size or self.default_connection_pool_size()
        timeout = config.connection_pool_timeout or self.default_pool_timeout
        self.logger.debug("[%s] ConnPool - Creating a connection pool of size %s with timeout %s",
                          config.name, size, timeout)
        self.connections = ConnectionPool(self.connect, size, timeout, self.metrics,
                                          label=f"provider_connection_pool.{config.name}")

    @classmethod
    def validate_options(cls, config: ProviderConfig) -> dict[str, Any]:
        """Check the class-specific keys of a provider section; errors name the key."""
        if cls.options_schema is None:
            if config.options:
                raise ConfigError([f"providers.{config.name}.{key}: unknown key" for key in config.options])
            return {}
        try:
            return cls.options_schema().load(dict(config.options))
        except ValidationError as exc:
            raise ConfigError([f"providers.{config.name}.{line}"
                               for line in flatten_errors(exc.messages)]) from None

    def default_connection_pool_size(self) -> int:
        """A worker runs up to worker_threads() tasks at once, and a clone or destroy holds
        its connection while it waits; connections are only made when needed."""
        config = self.settings.config
        return max(self.default_pool_size, worker_threads(config.task_limit, config.ondemand_clone_limit))

    # ---- helpers

    @property
    def name(self) -> str:
        """The instance's configured name (not the class name, unlike 1.3.0)."""
        return self.config.name

    @property
    def provided_pools(self) -> list[str]:
        return [pool.name for pool in self.settings.pools_of_provider(self.name)]

    def serves(self, pool: PoolConfig) -> bool:
        return pool.provider == self.name

    def require_pool(self, pool: PoolConfig) -> PoolConfig:
        if not self.serves(pool):
            raise ProviderError(f"Pool {pool.name} does not exist for the provider {self.name}")
        return pool

    def connect(self) -> Any:
        """Open one connection for the pool; the default has nothing to connect to."""
        return object()

    def close(self) -> None:
        """Release connections (called at process exit)."""

    def _missing(self, method: str):
        return NotImplementedError(f"{type(self).__name__} does not implement {method}")

    # ---- the contract

    def vms_in_pool(self, pool: PoolConfig) -> list[str]:
        """Names of every VM in the pool's backing location ([] if it is missing)."""
        raise self._missing("vms_in_pool")

    def get_vm(self, pool: PoolConfig, vm_name: str) -> dict[str, Any] | None:
        """None if the VM does not exist, else name, hostname, template, poolname, boottime, powerstate."""
        raise self._missing("get_vm")

    def create_vm(self, pool: PoolConfig, vm_name: str) -> dict[str, Any]:
        """Clone the VM and block until the clone finished; returns ``get_vm``'s dict."""
        raise self._missing("create_vm")

    def destroy_vm(self, pool: PoolConfig, vm_name: str) -> bool:
        """Power off and delete; True also when the VM is already gone."""
        raise self._missing("destroy_vm")

    def vm_ready(self, pool: PoolConfig, vm_name: str) -> bool:
        """Is the VM usable by a client?"""
        raise self._missing("vm_ready")

    def vm_exists(self, pool: PoolConfig, vm_name: str) -> bool:
        return self.get_vm(pool, vm_name) is not None

    def create_disk(self, pool: PoolConfig, vm_name: str, disk_size_gb: int) -> bool:
        raise self._missing("create_disk")

    def create_snapshot(self, pool: PoolConfig, vm_name: str, snapshot_name: str) -> bool:
        raise self._missing("create_snapshot")

    def revert_snapshot(self, pool: PoolConfig, vm_name: str, snapshot_name: str) -> bool:
        raise self._missing("revert_snapshot")

    def migrate_vm(self, pool: PoolConfig, vm_name: str) -> MigrationResult:
        """Move a just-checked-out VM to a better host if the provider thinks it should."""
        raise self._missing("migrate_vm")

    def get_vm_host(self, pool: PoolConfig, vm_name: str) -> str | None:
        raise self._missing("get_vm_host")

    def create_template_delta_disks(self, pool: PoolConfig) -> None:
        """Prepare a template for linked clones; nothing to do by default."""

    def purge_unconfigured_resources(self, allowlist: tuple[str, ...]) -> PurgeResult:
        """Destroy VMs and folders under this provider's base folders that no pool configures."""
        raise self._missing("purge_unconfigured_resources")
