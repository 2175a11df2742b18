"""Ready VMs: expire after ``ready_ttl``, leave when unreachable or renamed."""

from __future__ import annotations

import logging

from vmpooler.domain.outcomes import ReadyCheck
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import format_time, seconds_since
from vmpooler.lifecycle.context import CHECK_LEASE_SECONDS, Context
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")

HOSTNAME_GRACE_SECONDS = 60


def _retire(ctx: Context, pool: PoolConfig, vm: str, reason: str) -> bool:
    """Called under the VM's lease, which passes to the destroy."""
    moved = ctx.store.move(pool.name, vm, State.READY, State.COMPLETED)
    if moved:
        log.debug("[!] [%s] '%s' %s", pool.name, vm, reason)
        destroy_soon(ctx, pool.name, vm, lease_held=True)
    return moved


def check_ready_vm(ctx: Context, pool: PoolConfig, vm: str, fields: dict) -> ReadyCheck:
    """One ready VM in the inventory."""
    checktime = ctx.settings.config.vm_checktime * 60
    last = seconds_since(fields.get("check"))
    if last is not None and last < checktime:
        return ReadyCheck.SKIPPED
    lease = ctx.store.vm_lease(vm, CHECK_LEASE_SECONDS)
    if not lease.acquire():
        return ReadyCheck.BUSY
    with lease:
        ctx.store.set_vm_fields(vm, {"check": format_time()})
        age = seconds_since(fields.get("ready"))
        if age is None:  # no readable time: as old as can be
            age = float("inf")
        if age > pool.ready_ttl * 60:
            _retire(ctx, pool, vm, f"reached end of TTL after {pool.ready_ttl} minutes, removed from 'ready' queue")
            return ReadyCheck.REMOVED
        provider = ctx.provider_for(pool)
        if _hostname_check_enabled(ctx, pool) and age > HOSTNAME_GRACE_SECONDS:
            try:
                details = provider.get_vm(pool, vm)
            except provider.errors as exc:  # reported, and the reachability check still decides
                log.info("[!] [%s] '%s' failed while checking a ready vm : %s", pool.name, vm, exc)
                details = None
            hostname = (details or {}).get("hostname")
            if hostname and hostname != vm:
                _retire(ctx, pool, vm, f"has mismatched hostname {hostname}, removed from 'ready' queue")
                return ReadyCheck.REMOVED
        try:
            reachable = provider.vm_ready(pool, vm)
        except provider.errors as exc:  # unreachable either way
            log.info("[!] [%s] '%s' failed while checking a ready vm : %s", pool.name, vm, exc)
            reachable = False
        if not reachable:
            _retire(ctx, pool, vm, "is unreachable, removed from 'ready' queue")
            return ReadyCheck.REMOVED
        return ReadyCheck.KEPT


def _hostname_check_enabled(ctx: Context, pool: PoolConfig) -> bool:
    if pool.check_hostname_for_mismatch is not None:
        return pool.check_hostname_for_mismatch
    return ctx.settings.config.check_ready_vm_hostname_for_mismatch is not False
