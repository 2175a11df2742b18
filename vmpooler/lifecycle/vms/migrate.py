"""Migration at checkout: each checked-out VM is evaluated once by its provider."""

from __future__ import annotations

import logging

from vmpooler.domain.states import State
from vmpooler.domain.timefmt import format_duration, seconds_since
from vmpooler.lifecycle.context import Context
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


def migrate_pool(ctx: Context, pool_name: str) -> int:
    """Evaluate every VM waiting in ``migrating``; returns how many moved host."""
    pool = ctx.pool(pool_name)
    if pool is None:
        return 0
    moved = 0
    for vm in sorted(ctx.store.snapshot(pool_name)[State.MIGRATING]):
        if ctx.store.take_migrating(pool_name, vm):
            moved += migrate_vm(ctx, pool, vm)
    return moved


def migrate_vm(ctx: Context, pool: PoolConfig, vm: str) -> bool:
    provider = ctx.provider_for(pool)
    limit = ctx.settings.config.migration_limit
    try:
        if not limit or not ctx.store.begin_migration(vm, limit):
            host = provider.get_vm_host(pool, vm)
            ctx.store.set_vm_fields(vm, {"host": host} if host else {})
            if limit:
                log.info("[ ] [%s] '%s' is running on %s. No migration will be evaluated since the "
                         "migration_limit has been reached", pool.name, vm, host)
            else:
                log.info("[ ] [%s] '%s' is running on %s", pool.name, vm, host)
            return False
        try:
            result = provider.migrate_vm(pool, vm)
        finally:
            ctx.store.end_migration(vm)
    except provider.errors as exc:  # the VM stays where it is and keeps running
        log.warning("[x] [%s] '%s' migration failed with an error: %s", pool.name, vm, exc)
        return False
    if not result.migrated:
        ctx.store.set_vm_fields(vm, {"host": result.host})
        log.info("[ ] [%s] %s", pool.name, result.message or f"No migration required for '{vm}' "
                                                                f"running on {result.host}")
        return False
    checkout_age = seconds_since(ctx.store.vm_fields([vm], ["checkout"])[vm]["checkout"])
    fields = {"host": result.host, "migrated": "true", "migration_time": format_duration(result.seconds)}
    if checkout_age is not None:
        fields["checkout_to_migration"] = format_duration(checkout_age)
    ctx.store.set_vm_fields(vm, fields)
    ctx.metrics.timing(f"migrate.{pool.name}", result.seconds)
    ctx.metrics.increment(f"migrate_from.{result.source_host}")
    ctx.metrics.increment(f"migrate_to.{result.host}")
    log.info("[>] [%s] '%s' migrated from %s to %s in %.2f seconds", pool.name, vm, result.source_host,
             result.host, result.seconds)
    return True
