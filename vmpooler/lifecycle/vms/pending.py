"""Pending VMs: ready when the provider says so, failed after ``timeout``."""

from __future__ import annotations

import logging

from vmpooler.domain.outcomes import PendingCheck
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import seconds_since, today
from vmpooler.lifecycle.context import CHECK_LEASE_SECONDS, Context
from vmpooler.lifecycle.ondemand.vms import promote_for_request, retry_clone
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


def check_pending_vm(ctx: Context, pool: PoolConfig, vm: str, lease_held: bool = False) -> PendingCheck:
    """One pending VM in the provider's inventory."""
    lease = None
    if not lease_held:
        lease = ctx.store.vm_lease(vm, CHECK_LEASE_SECONDS)
        if not lease.acquire():
            return PendingCheck.BUSY
    try:
        provider = ctx.provider_for(pool)
        try:
            ready = provider.vm_ready(pool, vm)
        except provider.errors as exc:  # a provider error counts as "not ready yet"
            log.info("[!] [%s] '%s' %s provider errored while checking a pending vm : %s",
                     pool.name, vm, pool.provider, exc)
            ready = False
        if ready:
            return PendingCheck.READY if promote(ctx, pool, vm) else PendingCheck.WAITING
        return PendingCheck.FAILED if fail_if_timed_out(ctx, pool, vm, in_inventory=True) else PendingCheck.WAITING
    finally:
        if lease is not None:
            lease.release()


def promote(ctx: Context, pool: PoolConfig, vm: str) -> bool:
    fields = ctx.store.vm_fields([vm], ["clone", "request_id", "pool_alias"])[vm]
    if fields["request_id"]:
        return promote_for_request(ctx, pool, vm, fields["request_id"], fields)
    boot = seconds_since(fields["clone"])
    if not ctx.store.mark_ready(pool.name, vm, boot, today()):
        return False
    if boot is not None:
        ctx.metrics.timing(f"time_to_ready_state.{pool.name}", boot)
    log.info("[>] [%s] '%s' moved from 'pending' to 'ready' queue", pool.name, vm)
    return True


def fail_if_timed_out(ctx: Context, pool: PoolConfig, vm: str, in_inventory: bool) -> bool:
    """Give up on a VM pending for longer than the pool's timeout. A VM still in the
    inventory is checked under its lease, which passes to its destroy."""
    timeout = ctx.settings.pool_timeout(pool)
    fields = ctx.store.vm_fields([vm], ["clone", "request_id", "pool_alias"])[vm]
    age = seconds_since(fields["clone"])
    # A VM without a readable clone time would otherwise stay pending forever.
    if age is not None and age <= timeout * 60:
        return False
    if in_inventory:
        failed = ctx.store.move(pool.name, vm, State.PENDING, State.COMPLETED)
        if failed:
            ctx.metrics.increment(f"errors.markedasfailed.{pool.name}")
            log.debug("[!] [%s] '%s' marked as 'failed' after %s minutes", pool.name, vm, timeout)
            destroy_soon(ctx, pool.name, vm, lease_held=True)
    else:
        failed = ctx.store.forget_pending(pool.name, vm, expire=True)
        if failed:
            log.debug("[!] [%s] '%s' no longer exists. Removing from pending.", pool.name, vm)
    if failed and fields["request_id"]:
        retry_clone(ctx, pool.name, fields["request_id"], fields["pool_alias"],
                    f"'{vm}' was not ready after {timeout} minutes")
    return True
