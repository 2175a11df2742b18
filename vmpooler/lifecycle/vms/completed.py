"""Completed VMs are destroyed; discovered VMs (unknown to every set) join them."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from vmpooler.domain.outcomes import Return
from vmpooler.domain.states import State
from vmpooler.lifecycle.context import DESTROY_QUEUE_SECONDS, LEASE_SECONDS, Context
from vmpooler.settings import PoolConfig
from vmpooler.store.handout import GiveBack
from vmpooler.store.redis_store import PoolSnapshot

log = logging.getLogger("vmpooler.lifecycle")


def schedule_destroys(ctx: Context, pool: PoolConfig, snapshot: PoolSnapshot, inventory: set[str],
                      locked: set[str]) -> int:
    """Enqueue a destroy for each completed VM the provider still has; forget the rest."""
    queued = 0
    for vm in sorted(snapshot[State.COMPLETED] - locked):
        if vm not in inventory:
            if ctx.store.drop_completed(pool.name, vm):
                log.info("[!] [%s] '%s' not found in inventory, removed from 'completed' queue", pool.name, vm)
        elif destroy_soon(ctx, pool.name, vm):
            queued += 1
    return queued


def destroy_soon(ctx: Context, pool_name: str, vm: str, lease_held: bool = False) -> bool:
    """Queue the destroy of a VM that has just moved to completed, once: the VM's
    lock marks it queued, so a second call (or the pool check) does not queue it
    again. ``lease_held``: the caller holds the VM's lease and hands it over to
    the destroy. True if queued now; otherwise the pool check catches it later."""
    if not ctx.store.queue_vm_work(vm, DESTROY_QUEUE_SECONDS, lease_held=lease_held):
        return False
    ctx.dispatch.destroy(pool_name, vm)
    return True


def give_back(ctx: Context, vm: str, token: str | None, admins: Collection[str]) -> GiveBack:
    """A user returns a checked-out VM: it goes to completed and its destroy is asked for,
    in one script call that also checks the token and its owner. Any outcome but
    ``RETURNED`` changed nothing. The call claims the VM for its destroy (as
    ``destroy_soon`` does) and leaves a destroy request that a worker turns into the
    destroy task (``forward_destroy_requests``): a return is one round trip, and the API
    builds no task message."""
    result = ctx.store.give_back(vm, token, admins, queue_ttl=DESTROY_QUEUE_SECONDS)
    if result.outcome is Return.RETURNED:
        ctx.metrics.increment("delete.success")
    elif result.outcome is Return.NOT_RUNNING:
        ctx.metrics.increment("delete.failed")
    return result


def forward_destroy_requests(ctx: Context, wait: float, most: int = 100) -> int:
    """Queue the destroy of returned VMs: waits up to ``wait`` seconds for the first
    request, then takes those already waiting, up to ``most``. Returns how many."""
    forwarded = 0
    request = ctx.store.handout.take_destroy_request(wait)
    while request is not None:
        ctx.dispatch.destroy(*request)
        forwarded += 1
        if forwarded == most:
            break
        request = ctx.store.handout.take_destroy_request(0.0)
    return forwarded


def destroy_vm(ctx: Context, pool_name: str, vm: str) -> bool:
    """Destroy one completed VM. Safe to run twice; True if it destroyed the VM."""
    lease = ctx.store.vm_lease(vm, LEASE_SECONDS, heartbeat=True)
    if not lease.take_over():
        return False
    with lease:
        pool = ctx.pool(pool_name)
        if pool is None or not ctx.store.contains(pool_name, State.COMPLETED, vm):
            return False
        ctx.store.start_destroy(pool_name, vm)
        started = time.monotonic()
        provider = ctx.provider_for(pool)
        try:
            destroyed = provider.destroy_vm(pool, vm)
        except provider.errors as exc:  # stays completed; the next check retries
            log.debug("[!] [%s] '%s' failed while destroying the VM with an error: %s", pool_name, vm, exc)
            return False
        if not destroyed:
            log.debug("[!] [%s] '%s' failed while destroying the VM with an error: provider refused", pool_name, vm)
            return False
        ctx.store.finish_destroy(pool_name, vm)
        seconds = time.monotonic() - started
        ctx.metrics.timing(f"destroy.{pool_name}", seconds)
        log.info("[-] [%s] '%s' destroyed in %.2f seconds", pool_name, vm, seconds)
        return True


def discover(ctx: Context, pool: PoolConfig, snapshot: PoolSnapshot, inventory: set[str]) -> int:
    """VMs in the provider's pool location that no state set knows are destroyed."""
    known = set().union(*(snapshot[state] for state in State))
    unknown = sorted(inventory - known)
    ctx.store.add_discovered(pool.name, unknown)
    for vm in unknown:
        log.info("[?] [%s] '%s' added to 'discovered' queue", pool.name, vm)
    for vm in sorted(snapshot[State.DISCOVERED] | set(unknown)):
        elsewhere = snapshot.state_of(vm)
        if elsewhere not in (None, State.DISCOVERED):
            ctx.store.move(pool.name, vm, State.DISCOVERED, None)
            log.debug("[!] [%s] '%s' found in '%s', removed from 'discovered' queue", pool.name, vm, elsewhere.value)
        elif ctx.store.move(pool.name, vm, State.DISCOVERED, State.COMPLETED):
            snapshot[State.COMPLETED].add(vm)
    return len(unknown)
