"""Disks and snapshots asked for through the API, run by a worker.

Each function resolves the VM's pool from its hash (``template`` holds the pool
name), calls the provider, records the result in the VM hash as 1.3.0 does
(``disk`` = ``+8gb:+16gb``, ``snapshot:<name>`` = time) and logs the original's
lines. A provider failure, or an operation that cannot be attempted, is logged and
reported as False; like the original, a failed operation is not retried (the user
asks again). Anything else (Redis away, a bug) propagates to the task.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from vmpooler.domain.numbers import ascii_int
from vmpooler.domain.timefmt import format_time
from vmpooler.lifecycle.context import Context
from vmpooler.providers.base import Provider
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


class VmOpError(Exception):
    """The operation cannot even be attempted (unknown pool, bad argument)."""


def _target(ctx: Context, vm: str) -> tuple[PoolConfig, Provider]:
    pool_name = ctx.store.vm(vm).get("template")
    if not pool_name:
        raise VmOpError(f"Unable to determine which pool {vm} is a member of")
    pool = ctx.pool(pool_name)
    if pool is None or pool.provider not in ctx.providers:
        raise VmOpError(f"Missing Provider for vm {vm} in pool {pool_name}")
    return pool, ctx.provider_for(pool)


def _attempt(ctx: Context, vm: str, failed: str, operation: Callable[[PoolConfig, Provider], bool]) -> bool:
    """Run ``operation`` on the VM's pool and provider; False (logged as ``failed``) when it
    cannot be attempted or the provider fails."""
    try:
        pool, provider = _target(ctx, vm)
    except VmOpError as exc:
        log.error("[!] %s: %s", failed, exc)
        return False
    try:
        return operation(pool, provider)
    except provider.errors as exc:  # the original logs and drops the task
        log.error("[!] %s: %s", failed, exc)
        return False


def create_disk(ctx: Context, vm: str, size_gb: str | int) -> bool:
    size = ascii_int(str(size_gb)) or 0
    failed = "[disk_manager] disk creation appears to have failed"
    if size <= 0:
        log.error("[!] %s: Invalid disk size of '%s' passed", failed, size_gb)
        return False

    def attach(pool: PoolConfig, provider: Provider) -> bool:
        log.info("[ ] [disk_manager] '%s' is attaching a %sgb disk", vm, size)
        started = time.monotonic()
        if not provider.create_disk(pool, vm, size):
            log.info("[+] [disk_manager] '%s' failed to attach disk", vm)
            return False
        ctx.store.append_disk(vm, f"+{size}gb")
        log.info("[+] [disk_manager] '%s' attached %sgb disk in %.2f seconds", vm, size,
                 time.monotonic() - started)
        return True

    return _attempt(ctx, vm, failed, attach)


def create_snapshot(ctx: Context, vm: str, snapshot: str) -> bool:
    def take(pool: PoolConfig, provider: Provider) -> bool:
        log.info("[ ] [snapshot_manager] 'Attempting to snapshot %s in pool %s", vm, pool.name)
        started = time.monotonic()
        if not provider.create_snapshot(pool, vm, snapshot):
            log.info("[+] [snapshot_manager] Failed to snapshot '%s'", vm)
            return False
        ctx.store.record_snapshot(vm, snapshot, format_time())
        log.info("[+] [snapshot_manager] '%s' snapshot created in %.2f seconds", vm, time.monotonic() - started)
        return True

    return _attempt(ctx, vm, "[snapshot_manager] snapshot create appears to have failed", take)


def revert_snapshot(ctx: Context, vm: str, snapshot: str) -> bool:
    def revert(pool: PoolConfig, provider: Provider) -> bool:
        log.info("[ ] [snapshot_manager] 'Attempting to revert %s' in pool %s to snapshot '%s'",
                 vm, pool.name, snapshot)
        started = time.monotonic()
        if not provider.revert_snapshot(pool, vm, snapshot):
            log.info("[+] [snapshot_manager] Failed to revert %s' in pool %s to snapshot '%s'",
                     vm, pool.name, snapshot)
            return False
        log.info("[<] [snapshot_manager] '%s' reverted to snapshot '%s' in %.2f seconds", vm, snapshot,
                 time.monotonic() - started)
        return True

    return _attempt(ctx, vm, "[snapshot_manager] snapshot revert appears to have failed", revert)
