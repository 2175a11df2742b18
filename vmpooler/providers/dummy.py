"""The dummy provider: an in-Redis 'hypervisor' with the original's delay and failure knobs.

Delays follow the original: an integer ``N`` sleeps ``1..N`` whole seconds. A
fractional ``N`` sleeps a uniform ``[0, N)`` seconds, which keeps tests fast.
Failures roll ``randint(1, 100) <= percent``. The random source and the sleep
are injectable (``ProviderDeps.extras['rng']``, ``['sleep']``) and the ``seed``
option seeds the default source, so runs are reproducible.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timezone
from typing import Any

from marshmallow import Schema, fields, validate

from vmpooler.providers.base import MigrationResult, Provider, ProviderDeps, ProviderError, PurgeResult
from vmpooler.settings import PoolConfig, ProviderConfig

_Seconds = validate.Range(min=0)
_Percent = validate.Range(min=0, max=100)


class DummyOptions(Schema):
    filename = fields.String(load_default=None, allow_none=True)
    seed = fields.Integer(load_default=None, allow_none=True)
    is_ready_timeout = fields.Float(load_default=5, validate=_Seconds)
    createvm_max_time = fields.Float(load_default=0, validate=_Seconds)
    # Exactly this long, instead of a random delay (benchmarks want a known clone time).
    createvm_fixed_time = fields.Float(load_default=0, validate=_Seconds)
    createvm_fail_percent = fields.Float(load_default=0, validate=_Percent)
    createdisk_max_time = fields.Float(load_default=0, validate=_Seconds)
    createdisk_fail_percent = fields.Float(load_default=0, validate=_Percent)
    createsnapshot_max_time = fields.Float(load_default=0, validate=_Seconds)
    createsnapshot_fail_percent = fields.Float(load_default=0, validate=_Percent)
    revertsnapshot_max_time = fields.Float(load_default=0, validate=_Seconds)
    revertsnapshot_fail_percent = fields.Float(load_default=0, validate=_Percent)
    destroyvm_max_shutdown_time = fields.Float(load_default=0, validate=_Seconds)
    destroyvm_max_time = fields.Float(load_default=0, validate=_Seconds)
    destroyvm_fixed_time = fields.Float(load_default=0, validate=_Seconds)
    destroyvm_fail_percent = fields.Float(load_default=0, validate=_Percent)
    migratevm_couldmove_percent = fields.Float(load_default=0, validate=_Percent)
    migratevm_max_time = fields.Float(load_default=0, validate=_Seconds)
    migratevm_fail_percent = fields.Float(load_default=0, validate=_Percent)
    getvm_poweroff_percent = fields.Float(load_default=0, validate=_Percent)
    getvm_rename_percent = fields.Float(load_default=0, validate=_Percent)
    vmready_fail_percent = fields.Float(load_default=0, validate=_Percent)


class DummyFailure(ProviderError):
    pass


class DummyTimeout(ProviderError, TimeoutError):
    """A VM did not reach RUNNING within ``is_ready_timeout``."""


class DummyProvider(Provider):
    options_schema = DummyOptions
    default_pool_size = 1
    default_pool_timeout = 10

    def __init__(self, config: ProviderConfig, deps: ProviderDeps):
        super().__init__(config, deps)
        if deps.state is None:
            raise ProviderError("the dummy provider needs a shared state store")
        self.state = deps.state
        self.rng = deps.extras.get("rng") or random.Random(self.options["seed"])
        self._rng_lock = threading.Lock()
        self.sleep = deps.extras.get("sleep") or time.sleep
        if self.options["filename"]:
            self.logger.warning("[%s] the dummy inventory is kept in Redis; 'filename' is ignored", self.name)

    # ---- random model

    def _roll(self, knob: str) -> bool:
        percent = self.options[knob]
        if not percent:
            return False
        with self._rng_lock:
            return self.rng.randint(1, 100) <= percent

    def _delay(self, knob: str) -> None:
        fixed = self.options.get(knob.replace("_max_time", "_fixed_time")) if knob.endswith("_max_time") else None
        if fixed:
            self.sleep(fixed)
            return
        limit = self.options[knob]
        if not limit:
            return
        with self._rng_lock:
            seconds = 1 + self.rng.randrange(int(limit)) if float(limit).is_integer() else self.rng.uniform(0, limit)
        self.sleep(seconds)

    def _maybe_fail(self, knob: str) -> None:
        if self._roll(knob):
            raise DummyFailure(f"Dummy Failure for {knob}")

    def _record(self, pool_name: str, vm_name: str) -> dict | None:
        record = self.state.get(pool_name, vm_name)
        return record if record and record.get("poolname") == pool_name else None

    def _require(self, pool_name: str, vm_name: str) -> dict:
        record = self._record(pool_name, vm_name)
        if record is None:
            raise ProviderError(f"VM {vm_name} does not exist in Pool {pool_name} for the provider {self.name}")
        return record

    # ---- contract

    def vms_in_pool(self, pool: PoolConfig) -> list[str]:
        with self.connections.connection():
            return self.state.names(pool.name)

    def get_vm(self, pool: PoolConfig, vm_name: str) -> dict | None:
        with self.connections.connection():
            record = self._record(pool.name, vm_name)
            if record is None:
                return None
            changes = {}
            if record["powerstate"] == "PoweredOn" and self._roll("getvm_poweroff_percent"):
                changes["powerstate"] = "PoweredOff"
            if record["hostname"] == record["name"] and self._roll("getvm_rename_percent"):
                changes["hostname"] = f"DUMMY{record['name']}"
            if changes:
                record = self.state.update(pool.name, vm_name, lambda r: r.update(changes)) or record
            return self._describe(record)

    @staticmethod
    def _describe(record: dict) -> dict:
        return {
            "name": record["name"],
            "hostname": record["hostname"],
            "template": record["template"],
            "poolname": record["poolname"],
            "boottime": record["boottime"],
            "powerstate": record["powerstate"],
            "host": record["vm_host"],
            "snapshots": list(record["snapshots"]),
            "disks": list(record["disks"]),
        }

    def create_vm(self, pool: PoolConfig, vm_name: str) -> dict:
        self.require_pool(pool)
        with self.connections.connection():
            record: dict[str, Any] = {
                "name": vm_name, "hostname": vm_name, "domain": "dummy.local",
                "vm_template": pool.template, "template": pool.name, "poolname": pool.name,
                "ready": False, "boottime": datetime.now(timezone.utc).isoformat(),
                "powerstate": "PoweredOn", "vm_host": "HOST1", "dummy_state": "CLONING",
                "snapshots": [], "disks": [],
            }
            # Visible while cloning, as a real hypervisor shows a VM being cloned.
            self.state.put(pool.name, vm_name, record)
            self._delay("createvm_max_time")
            if self._roll("createvm_fail_percent"):
                self.state.delete(pool.name, vm_name)
                raise DummyFailure("Dummy Failure for createvm_fail_percent")
            self.state.update(pool.name, vm_name, lambda r: r.update(dummy_state="RUNNING"))
        created = self.get_vm(pool, vm_name)
        if created is None:  # destroyed by another worker meanwhile
            raise DummyFailure(f"{vm_name} was destroyed while it was being cloned")
        return created

    def destroy_vm(self, pool: PoolConfig, vm_name: str) -> bool:
        with self.connections.connection():
            record = self.state.get(pool.name, vm_name)
            if record is None:
                return True
            if record.get("poolname") != pool.name:
                return False
            if record["powerstate"] == "PoweredOn":
                self.logger.info("[ ] [%s] '%s' is being shut down", pool.name, vm_name)
                self._delay("destroyvm_max_shutdown_time")
                self.state.update(pool.name, vm_name, lambda r: r.update(powerstate="PoweredOff"))
            self._delay("destroyvm_max_time")
            self._maybe_fail("destroyvm_fail_percent")
            self.state.delete(pool.name, vm_name)
            return True

    def vm_ready(self, pool: PoolConfig, vm_name: str) -> bool:
        with self.connections.connection():
            record = self._record(pool.name, vm_name)
            if record is None:
                return False
            if record["ready"]:
                return True
            deadline = time.monotonic() + self.options["is_ready_timeout"]
            while record["dummy_state"] != "RUNNING":
                if time.monotonic() >= deadline:
                    raise DummyTimeout(f"{vm_name} did not reach RUNNING within "
                                       f"{self.options['is_ready_timeout']} s")
                self.sleep(0.1)
                record = self._record(pool.name, vm_name)
                if record is None:
                    return False
            self._maybe_fail("vmready_fail_percent")
            self.state.update(pool.name, vm_name, lambda r: r.update(ready=True))
            return True

    def _mutate(self, pool_name: str, vm_name: str, knob: str, change) -> dict:
        with self.connections.connection():
            self._require(pool_name, vm_name)
            self._delay(f"{knob}_max_time")
            self._maybe_fail(f"{knob}_fail_percent")
            return self.state.update(pool_name, vm_name, change) or self._require(pool_name, vm_name)

    def create_disk(self, pool: PoolConfig, vm_name: str, disk_size_gb: int) -> bool:
        self._mutate(pool.name, vm_name, "createdisk", lambda r: r["disks"].append(int(disk_size_gb)))
        return True

    def create_snapshot(self, pool: PoolConfig, vm_name: str, snapshot_name: str) -> bool:
        self._mutate(pool.name, vm_name, "createsnapshot", lambda r: r["snapshots"].append(snapshot_name))
        return True

    def revert_snapshot(self, pool: PoolConfig, vm_name: str, snapshot_name: str) -> bool:
        record = self._mutate(pool.name, vm_name, "revertsnapshot", lambda r: None)
        return snapshot_name in record["snapshots"]

    def get_vm_host(self, pool: PoolConfig, vm_name: str) -> str:
        return self._require(pool.name, vm_name)["vm_host"]

    def migrate_vm(self, pool: PoolConfig, vm_name: str) -> MigrationResult:
        with self.connections.connection():
            current = self._require(pool.name, vm_name)["vm_host"]
            if not self._roll("migratevm_couldmove_percent"):
                return MigrationResult(host=current, message=f"No migration required for '{vm_name}' "
                                                                   f"running on {current}")
            with self._rng_lock:
                target = self.rng.choice([f"HOST{n}" for n in range(1, 11) if f"HOST{n}" != current])
            started = time.monotonic()
            self._delay("migratevm_max_time")
            self._maybe_fail("migratevm_fail_percent")
            self.state.update(pool.name, vm_name, lambda r: r.update(vm_host=target))
            return MigrationResult(host=target, migrated=True, source_host=current,
                                   seconds=time.monotonic() - started)

    def purge_unconfigured_resources(self, allowlist: tuple[str, ...]) -> PurgeResult:
        """The dummy's 'folders' are its pools: purge pools no configured pool of it uses."""
        configured = set(self.provided_pools)
        vms, folders = [], []
        for folder in self.state.pools():
            if folder in configured or folder in allowlist:
                continue
            for vm in self.state.names(folder):
                self.state.delete(folder, vm)
                vms.append((folder, vm))
            self.state.drop_pool(folder)
            folders.append(folder)
        return PurgeResult(vms=tuple(vms), folders=tuple(folders))
